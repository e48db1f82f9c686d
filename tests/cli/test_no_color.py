"""NO_COLOR (https://no-color.org) means no escape codes at all on a real terminal (a pty): not even the
bold and dim that rich keeps under its own no_color. Without NO_COLOR the same command does style its
output, so the test can fail."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_paths import FIXTURES, LOCKS

REPO = Path(__file__).resolve().parents[2]


def _on_a_terminal(args: list[str], no_color: bool) -> bytes:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"PYTHONPATH": str(REPO), "TERM": "xterm-256color", "COLUMNS": "200"})
    if no_color:
        env["NO_COLOR"] = "1"
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "depaudit", *args], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    child.wait(timeout=120)
    os.close(leader)
    return out


@pytest.mark.parametrize(
    "args",
    [
        ["scan", str(LOCKS / "torch-2.8" / "uv.lock"), "--offline", "-t", "linux-x86_64"],
        ["lint", str(FIXTURES / "dockerfiles" / "caches.Dockerfile")],
        ["diff", str(LOCKS / "torch-2.8" / "uv.lock"), str(LOCKS / "torch-2.8-sizes" / "uv.lock"), "--offline"],
    ],
    ids=["scan", "lint", "diff"],
)
def test_no_color_means_no_escape_codes(args):
    assert b"\x1b[" in _on_a_terminal(args, no_color=False)  # styled on a terminal by default
    plain = _on_a_terminal(args, no_color=True)
    assert b"\x1b" not in plain and len(plain) > 200
