"""depaudit's own production install must pass its own gate: no accelerator wheel for any target."""

from __future__ import annotations

import os
import stat
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


@pytest.fixture
def sink(tmp_path: Path) -> Path:
    """Where machine output goes: a null device node made here (root), else a plain file. Never /dev/null
    itself: `-o /dev/null` once replaced the real device with a regular file."""
    node = tmp_path / "null"
    if os.geteuid() == 0:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def test_cli_gate_uses_tool_depaudit_from_pyproject(sink: Path):
    proc = subprocess.run([sys.executable, "-m", "depaudit", "scan", str(ROOT / "uv.lock"), "--offline", "--format", "json",
                           "-o", str(sink)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    dev = subprocess.run([sys.executable, "-m", "depaudit", "scan", str(ROOT / "uv.lock"), "--offline", "--dev",
                          "-t", "linux-x86_64", "--format", "json", "-o", str(sink)], capture_output=True, text=True, timeout=120)
    assert dev.returncode == 1 and "accelerator" in dev.stderr  # max-accelerator = "0" comes from [tool.depaudit]


@pytest.mark.network
def test_lock_is_in_sync_with_pyproject():
    uv = Path(sys.executable).parent / "uv"
    proc = subprocess.run([str(uv) if uv.exists() else "uv", "lock", "--check", "--project", str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.run_last
def test_dev_null_is_still_a_character_device():
    """Runs after every other test (tests/conftest.py moves it last): the whole suite, run as root, must
    leave the machine's /dev/null the null device (character device 1:3), not a regular file."""
    st = os.stat("/dev/null")
    assert stat.S_ISCHR(st.st_mode), "/dev/null is no longer a character device"
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
