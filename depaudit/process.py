"""The one way depaudit runs an external tool (docker, uv, pip): an argument list (never a shell
string), a timeout the caller chooses, no terminal input, and a `ToolError` carrying the command and
the tail of its stderr when the tool is missing, times out or fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from depaudit.errors import ToolError

Failure = Callable[[list[str], str], ToolError]
"""Builds the error for a failed command from (argv, stderr): lets a caller add a hint."""


def _missing(argv: list[str], hint: str | None) -> ToolError:
    return ToolError(argv, "", what=f"{argv[0]}: not found on PATH" + (f"; {hint}" if hint else ""))


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def run_tool(
    argv: Sequence[str],
    *,
    timeout: float | None,
    input_text: str | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    missing_hint: str | None = None,
    failure: Failure | None = None,
    encoding: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` to completion and return it (text stdout/stderr captured). Raises ToolError when the
    executable is missing, the run exceeds `timeout` seconds, or (with `check`) it exits non-zero;
    `failure` may build that last error itself (to add a hint). `encoding` decodes the output (default:
    the locale's); output it cannot decode raises UnicodeDecodeError, whose `object` is the raw bytes."""
    command = [str(a) for a in argv]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding=encoding,
            timeout=timeout,
            input=input_text,
            cwd=cwd,
            env=None if env is None else dict(env),
            check=False,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise _missing(command, missing_hint) from None
    except subprocess.TimeoutExpired as exc:
        raise ToolError(
            command, _text(exc.stderr), what=f"command timed out after {timeout:g} s: {' '.join(command)}"
        ) from None
    if check and done.returncode != 0:
        raise (failure or ToolError)(command, done.stderr)
    return done


@contextmanager
def stream_tool(
    argv: Sequence[str],
    *,
    missing_hint: str | None = None,
    failure: Failure | None = None,
    env: Mapping[str, str] | None = None,
    merge_stderr: bool = False,
) -> Iterator[IO[bytes]]:
    """Run `argv` and yield its stdout as a binary stream (GBs from `docker save`: read incrementally;
    with `merge_stderr`, stderr interleaved as a build log is). `env` replaces the environment.
    The process is always reaped; it is killed when the reader stops early with an error. Raises
    ToolError when the executable is missing or the command exits non-zero. No timeout: the reader
    decides how long to read."""
    command = [str(a) for a in argv]
    try:
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
        )
    except FileNotFoundError:
        raise _missing(command, missing_hint) from None
    assert proc.stdout is not None  # asked for as a pipe (stderr too unless merged into stdout)
    failed = False
    try:
        yield proc.stdout
    except BaseException:
        failed = True
        raise
    finally:
        if failed:
            proc.kill()
        proc.stdout.close()
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr is not None else ""
        if proc.stderr is not None:
            proc.stderr.close()
        code = proc.wait()
    if code != 0:
        raise (failure or ToolError)(command, stderr)


UV_HINT = "install uv (`pip install uv`, or `pip install 'depaudit[uv]'`) or put it on PATH"


def find_uv(why: str = "uv") -> list[str]:
    """The command that runs uv: `uv` on PATH, else the binary of the installed `uv` module (the `uv`
    extra), else `python -m uv`. Raises ToolError saying how to get it when none exists."""
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # optional (the `uv` extra, the dev group): a user may have only a uv on PATH, or none

        return [uv.find_uv_bin()]
    except (ImportError, FileNotFoundError, AttributeError):
        pass
    probe = run_tool([sys.executable, "-m", "uv", "--version"], timeout=60, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    raise ToolError(["uv"], what=f"uv not found: {UV_HINT} {why}")
