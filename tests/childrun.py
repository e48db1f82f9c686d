"""Run `python -m depaudit ...` as a child process and measure it: exit code, output, wall time and the
child's own peak RSS.

The peak is the child's `VmHWM` (high-water RSS of its address space, which starts fresh at exec), read
by the child itself at exit and written to a file. getrusage/wait4's `ru_maxrss` would not do: Linux
carries the maximum over exec, so a child forked from a large pytest process reports pytest's RSS.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Runs depaudit's CLI as `python -m depaudit` would, and records VmHWM at interpreter exit.
_WRAPPER = """
import atexit, os, runpy, sys
def _peak(path=os.environ["DEPAUDIT_TEST_PEAK_FILE"]):
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(peak)
atexit.register(_peak)
sys.argv = ["depaudit", *sys.argv[1:]]
runpy.run_module("depaudit", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_bytes: int | None  # None when the child died before it could report (e.g. killed)
    timed_out: bool


def env_without_settings(*drop: str) -> dict[str, str]:
    """This environment without the user's DEPAUDIT_* settings (and the names in `drop`), keeping the
    suite's private size cache and state folder (DEPAUDIT_CACHE_DIR, DEPAUDIT_STATE_DIR, set in conftest.py)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and (not k.startswith("DEPAUDIT_") or k in ("DEPAUDIT_CACHE_DIR", "DEPAUDIT_STATE_DIR"))
    }


def cli_env(**extra: str) -> dict[str, str]:
    """The environment a child depaudit runs with: this checkout first on the path, no colour."""
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **extra}


def run_depaudit(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    preexec_fn=None,
    pass_fds: tuple[int, ...] = (),
    stdout_file=None,
) -> ChildResult:
    """Run depaudit with `args`; kill it after `timeout` seconds. stdout goes to `stdout_file` (an open
    file) when given, else is captured."""
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        child_env = {**(env or cli_env()), "DEPAUDIT_TEST_PEAK_FILE": str(peak_file)}
        start = time.monotonic()
        timed_out = False
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _WRAPPER, *args],
                cwd=cwd,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=stdout_file or subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=preexec_fn,
                pass_fds=pass_fds,
                timeout=timeout,
            )
            code, out, err = proc.returncode, proc.stdout or b"", proc.stderr
        except subprocess.TimeoutExpired as exc:
            timed_out, code, out, err = True, -9, exc.stdout or b"", exc.stderr or b""
        seconds = time.monotonic() - start
        peak = int(peak_file.read_text()) * 1024 if peak_file.exists() else None
        return ChildResult(
            code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), seconds, peak, timed_out
        )


@functools.cache
def pypi_reachable() -> bool:
    """Whether pypi.org:443 accepts a connection (5 s): tests that need PyPI skip, with the reason, when not."""
    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            return True
    except OSError:
        return False
