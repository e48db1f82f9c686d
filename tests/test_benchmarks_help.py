"""Every benchmark script answers --help with its usage and does nothing else.

Two of them once ignored their arguments: ``--help`` ran the whole benchmark and rewrote a committed
report. The check: exit 0, a usage line, and no file under reports/ or docs/ touched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (REPO / "benchmarks").glob("*.py") if 'if __name__ == "__main__"' in p.read_text())


def _stamps() -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for d in ("reports", "docs") for p in (REPO / d).rglob("*") if p.is_file()}


def test_every_runnable_benchmark_is_checked() -> None:
    assert len(SCRIPTS) >= 10, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_help_prints_usage_and_runs_nothing(script: Path, tmp_path: Path) -> None:
    before = _stamps()
    done = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:"), done.stdout[:200]
    assert _stamps() == before
    assert not list(tmp_path.iterdir())
