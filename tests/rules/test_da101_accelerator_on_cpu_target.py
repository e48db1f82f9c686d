"""DA101 on real locks: its advice follows the project (a fix where `fix --to cpu-index` works, a budget or a
CPU target where the project asks for CUDA on purpose and the fix would refuse), and a target that cannot
install the accelerator packages its lock lists is told so, not given "0 B + N of unknown size"."""

from __future__ import annotations

import shutil
from pathlib import Path

from depaudit.rules.run_lock import lock_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock

from childrun import run_depaudit
from fixture_paths import LOCKS


def _da101(project: Path, targets=("linux-x86_64", "macos-arm64")):
    lock = project / "uv.lock"
    report = scan_lock(lock, targets=list(targets), offline=True, cache_dir=None)
    pyproject = project / "pyproject.toml"
    subject = LockSubject(load_lock(lock), report, pyproject if pyproject.exists() else None)
    return {f.target: f for f in lock_findings(subject, select=("DA101",))}


def test_a_project_without_cuda_intent_is_pointed_at_the_fix():
    found = _da101(LOCKS / "torch-2.8")
    assert set(found) == {"linux-x86_64"} and found["linux-x86_64"].fixable
    assert found["linux-x86_64"].message.endswith("`depaudit fix --to cpu-index` takes torch from the CPU index")


def test_a_project_that_asks_for_cuda_is_told_to_budget_or_split_not_to_run_a_fix_that_refuses(tmp_path):
    project = tmp_path / "cu128"
    shutil.copytree(LOCKS / "torch-indexes" / "cu128", project)
    linux = _da101(project)["linux-x86_64"]
    assert not linux.fixable and "fix --to cpu-index" not in linux.message
    assert "the project asks for CUDA on purpose (index 'pytorch-cu128'" in linux.message
    assert "budget it (`--max-accelerator linux-x86_64=SIZE`) or split a CPU target" in linux.message
    # the advice is right to avoid the fix: it refuses this project (exit 5) and changes nothing
    before = (project / "pyproject.toml").read_text()
    refused = run_depaudit("fix", str(project), "--to", "cpu-index", "--offline", cwd=tmp_path)
    assert refused.returncode == 5 and "asks for CUDA on purpose" in refused.stderr
    assert (project / "pyproject.toml").read_text() == before


def test_accelerator_packages_a_target_cannot_install_are_named_as_such():
    found = _da101(LOCKS / "jax-cuda-plugin", targets=("linux-x86_64", "macos-arm64", "windows-amd64"))
    mac = found["macos-arm64"].message
    assert mac.startswith("macos-arm64 cannot install 2 accelerator packages its lock lists (jax-cuda12-p")
    assert "unknown size" not in mac and "sys_platform == 'linux'" in mac and not found["macos-arm64"].fixable
    assert "installs 15 accelerator packages (3.2 GB" in found["linux-x86_64"].message
