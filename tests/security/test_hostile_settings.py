"""A pull request's `[tool.depaudit]` cannot switch off, narrow or loosen what the workflow's command line
asks for, and cannot open the runner's private network to size look-ups.

Before: the workflow ran `gate --max-accelerator 0 --no-accelerator-target linux-x86_64`; the pull request
added `ignore = ["DA502", "DA503"]` (or `targets = ["macos-arm64"]`) to its own pyproject.toml, and the
gate passed with 3.0 GB of CUDA. `allow-hosts` in the pull request's pyproject.toml let look-ups reach
loopback ports (an internal port scan). Each case here is a real `git clone` of a repository whose last
commit is the hostile change, checked with the real CLI (the lock: tests/fixtures/locks/torch-default,
made by `uv lock`, PyPI's CUDA torch 2.15).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from childrun import cli_env, run_depaudit
from fixture_paths import FIXTURES, LOCKS

CUDA = LOCKS / "torch-default"
# The workflow's gate: no accelerator wheel anywhere, and a generous download budget.
WORKFLOW = ["gate", "--max-accelerator", "0", "--max-download", "100GB", "--offline"]


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "pr", "GIT_AUTHOR_EMAIL": "pr@x", "GIT_COMMITTER_NAME": "pr"}
    env["GIT_COMMITTER_EMAIL"] = "pr@x"
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env, timeout=60)


def _pull_request(
    tmp_path: Path, hostile: str, lock_text: str | None = None, files: dict[str, bytes] | None = None
) -> Path:
    """A repository with the CUDA project, a last commit adding `hostile` to [tool.depaudit] (and
    `files`), cloned."""
    origin = tmp_path / "origin"
    shutil.copytree(CUDA, origin)
    if lock_text is not None:
        (origin / "uv.lock").write_text(lock_text)
    _git("init", "-q", cwd=origin)
    _git("add", "-A", cwd=origin)
    _git("commit", "-q", "-m", "base", cwd=origin)
    with (origin / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n" + hostile)
    for name, data in (files or {}).items():
        (origin / name).parent.mkdir(parents=True, exist_ok=True)
        (origin / name).write_bytes(data)
    _git("add", "-A", cwd=origin)
    _git("commit", "-q", "-m", "harmless-looking change", cwd=origin)
    clone = tmp_path / "clone"
    _git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    return clone


@pytest.mark.parametrize(
    "hostile",
    [
        '[tool.depaudit]\nignore = ["DA502"]\n',
        '[tool.depaudit]\ntargets = ["macos-arm64"]\n',
        '[tool.depaudit]\nselect = ["DA501"]\n',
        '[tool.depaudit]\nmax-accelerator = "10GB"\n\n[tool.depaudit.gate]\nignore = ["DA50"]\n',
        '[tool.depaudit.per-target.linux-x86_64]\nmax-accelerator = "10GB"\n\n[tool.depaudit.per-target.linux-aarch64]\nmax-accelerator = "10GB"\n',
    ],
    ids=["ignore", "targets", "select", "raise-and-ignore", "per-target"],
)
def test_the_gate_fails_whatever_the_pull_requests_settings_say(tmp_path, size_cache, hostile):
    """Each of these passed the gate before (exit 0 with 3.0 GB of CUDA on linux-x86_64)."""
    clone = _pull_request(tmp_path, hostile)
    result = run_depaudit(*WORKFLOW, cwd=clone, timeout=120, env=cli_env(DEPAUDIT_CACHE_DIR=str(size_cache)))
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any("linux-x86_64: accelerator 3.0 GB exceeds the budget of 0 B" in line for line in failed), result.stdout
    assert "[tool.depaudit]" in result.stderr  # the one line that says what the file was not allowed to do


def test_a_pull_request_cannot_point_the_gate_at_another_lock_or_bench_report(tmp_path, size_cache):
    """A committed CPU-only lock (or a bench report the pull request wrote itself) named in [tool.depaudit]:
    the gate still measures the lock uv installs, and says the file's choice was set aside."""
    files = {
        "decoy/uv.lock": (FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock").read_bytes(),
        "decoy/images.json": b"{}",
    }
    hostile = '[tool.depaudit]\nlock = "decoy/uv.lock"\nbench-report = "decoy/images.json"\n'
    clone = _pull_request(tmp_path, hostile, files=files)
    result = run_depaudit(*WORKFLOW, cwd=clone, timeout=120, env=cli_env(DEPAUDIT_CACHE_DIR=str(size_cache)))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "linux-x86_64: accelerator 3.0 GB exceeds the budget of 0 B" in result.stdout
    assert "lock: ignored (it would loosen a check" in result.stderr
    assert "bench-report: ignored (it would loosen a check" in result.stderr


@pytest.mark.parametrize("key", ["offline = true", 'cache-dir = ".git/hooks"', 'state-dir = "/tmp"'])
def test_machine_settings_from_a_pull_request_are_ignored(tmp_path, size_cache, key):
    clone = _pull_request(tmp_path, f"[tool.depaudit]\n{key}\n")
    hooks = sorted(p.name for p in (clone / ".git" / "hooks").iterdir())
    result = run_depaudit(*WORKFLOW, cwd=clone, timeout=120, env=cli_env(DEPAUDIT_CACHE_DIR=str(size_cache)))
    assert result.returncode == 1 and "ignored (how depaudit works on this machine is set by" in result.stderr
    assert sorted(p.name for p in (clone / ".git" / "hooks").iterdir()) == hooks


@contextlib.contextmanager
def _listener() -> Iterator[tuple[int, list[int]]]:
    """A TCP port on 127.0.0.1 that counts the connections made to it (and closes them)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                connection, _ = server.accept()
                accepted.append(1)
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_allow_hosts_in_a_pull_request_cannot_reach_loopback(tmp_path):
    with _listener() as (port, accepted):
        local = f"https://127.0.0.1:{port}"
        text = (CUDA / "uv.lock").read_text().replace("https://files.pythonhosted.org", local)
        text = text.replace("https://pypi.org/simple", f"{local}/simple")
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("size ="))
        clone = _pull_request(tmp_path, '[tool.depaudit]\nallow-hosts = ["127.0.0.1"]\n', text)
        empty = tmp_path / "empty-cache"
        args = ["gate", "--max-download", "100GB", "--target", "linux-x86_64", "--cache-dir", str(empty)]
        refused = run_depaudit(*args, cwd=clone, timeout=120)
        assert refused.returncode == 1 and accepted == [], refused.stderr  # UNKNOWN sizes, no connection
        # the control: the workflow's own --allow-host does reach the port (so the count above can fail)
        allowed = run_depaudit(*args, "--allow-host", "127.0.0.1", cwd=clone, timeout=120)
        assert allowed.returncode == 4 and accepted, allowed.stderr  # reached, and the TLS handshake failed
