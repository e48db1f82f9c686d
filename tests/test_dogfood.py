"""depaudit's own production install must pass its own gate: no accelerator wheel for any target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.model import Selection
from depaudit.scan import scan_lock

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("selection", [Selection(), Selection(all_extras=True)], ids=["production", "with-service-extra"])
def test_own_lock_has_no_accelerator_on_any_target(selection):
    report = scan_lock(ROOT / "uv.lock", offline=True, cache_dir=None, selection=selection)
    assert [t.target.name for t in report.targets if t.supported] == ["linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"]
    for target in report.targets:
        assert [p.name for p in target.packages if p.accelerator] == [], target.target.name
        assert "torch" not in {p.name for p in target.packages}


def test_dev_group_is_where_torch_lives():
    report = scan_lock(ROOT / "uv.lock", offline=True, cache_dir=None, selection=Selection(groups=("dev",)), targets=["linux-x86_64"])
    assert "torch" in {p.name for p in report.targets[0].packages}


def test_cli_gate_uses_tool_depaudit_from_pyproject():
    proc = subprocess.run([sys.executable, "-m", "depaudit", "scan", str(ROOT / "uv.lock"), "--offline", "--format", "json",
                           "-o", "/dev/null"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    dev = subprocess.run([sys.executable, "-m", "depaudit", "scan", str(ROOT / "uv.lock"), "--offline", "--dev",
                          "-t", "linux-x86_64", "--format", "json", "-o", "/dev/null"], capture_output=True, text=True, timeout=120)
    assert dev.returncode == 1 and "accelerator" in dev.stderr  # max-accelerator = "0" comes from [tool.depaudit]


@pytest.mark.network
def test_lock_is_in_sync_with_pyproject():
    uv = Path(sys.executable).parent / "uv"
    proc = subprocess.run([str(uv) if uv.exists() else "uv", "lock", "--check", "--project", str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
