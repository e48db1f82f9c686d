"""Exit codes when the index cannot be reached (a real fault: a port on 127.0.0.1 that nothing listens on,
connection refused). The help of scan, gate and diff promises 4 for it: the report is still written with
those sizes unknown. With a budget, every size must come from the index (a lock's own numbers are not
trusted online), so an unreachable index is 4 there too; --offline judges by the lock's numbers, said so."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from childrun import run_depaudit
from fixture_paths import LOCKS


@pytest.fixture()
def dead_lock(tmp_path: Path) -> Path:
    """torch-2.8's real lock (249 of 381 wheels lack `size`) with its wheel URLs on a closed local port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: connections are refused
    text = (LOCKS / "torch-2.8" / "uv.lock").read_text()
    lock = tmp_path / "uv.lock"
    lock.write_text(re.sub(r"https://files\.pythonhosted\.org/", f"https://127.0.0.1:{port}/", text))
    return lock


def _run(*args: str, cache: Path | None, cwd: Path) -> tuple[int, str, str]:
    """depaudit in `cwd`, a folder without a pyproject (no [tool.depaudit] of this repository adds budgets)."""
    where = ("--cache-dir", str(cache)) if cache is not None else ()
    result = run_depaudit(*args, "--allow-host", "127.0.0.1", *where, timeout=120, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def test_scan_writes_its_report_and_exits_4(dead_lock, tmp_path):
    code, out, err = _run(
        "scan", str(dead_lock), "-t", "linux-x86_64", "--format", "json", cache=tmp_path / "c", cwd=tmp_path
    )
    assert code == 4, err
    (target,) = json.loads(out)["targets"]
    assert target["unknown_size"] and all(
        p["size_error"] == "connection failed" for p in target["packages"] if p["size"] is None and p["wheel"]
    )
    assert "the index could not be reached" in err and "exit 4" in err


def test_a_budget_online_needs_the_index_and_offline_judges_by_the_lock(dead_lock, tmp_path):
    over = _run(
        "scan",
        str(dead_lock),
        "-t",
        "linux-x86_64",
        "--max-download",
        "1MB",
        "-f",
        "json",
        cache=tmp_path,
        cwd=tmp_path,
    )
    assert over[0] == 4 and "budget not verifiable" in over[2] and "the index could not be reached" in over[2]
    offline = run_depaudit("scan", str(dead_lock), "-t", "linux-x86_64", "--offline", "-f", "json", cwd=tmp_path)
    assert offline.returncode == 0, offline.stderr
    judged = run_depaudit(
        "scan", str(dead_lock), "-t", "linux-x86_64", "--offline", "--max-download", "1MB", cwd=tmp_path
    )
    assert judged.returncode == 1 and "budget exceeded" in judged.stderr
    assert "taken from the lock as written, not checked against the index" in judged.stdout


def test_gate_and_diff_exit_4_too(dead_lock, tmp_path):
    # gate takes no --cache-dir: its look-ups use DEPAUDIT_CACHE_DIR, a private folder in tests (conftest)
    gate = _run(
        "gate", "--lock", str(dead_lock), "--max-download", "100GB", "-t", "linux-x86_64", cache=None, cwd=tmp_path
    )
    assert "the index could not be reached" in gate[2]
    assert gate[0] == 4 and "UNKNOWN" in gate[1], gate
    diff = _run(
        "diff",
        str(dead_lock),
        str(LOCKS / "torch-2.8-sizes" / "uv.lock"),
        "-t",
        "linux-x86_64",
        cache=tmp_path,
        cwd=tmp_path,
    )
    assert diff[0] == 4 and "the index could not be reached" in diff[2], diff
