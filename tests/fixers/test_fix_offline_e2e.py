"""End to end without the network: real `uv lock` and `depaudit fix --lock` where every index is a
PEP 503/691 index on 127.0.0.1.

A "mirror" index (the project's default, standing in for PyPI) serves `torch 2.15.0` that needs an
`nvidia-cublas` wheel on Linux, and `sentence-stub`, which needs torch; a second index serves
`torch 2.15.0+cpu`. The project is a uv workspace whose member reaches torch only through
sentence-stub, so this also covers a member project fixed in its own pyproject with the lock at the root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from localindex import torch_indexes

from depaudit.fixers.pipeline import find_uv

REPO = Path(__file__).resolve().parents[2]
MEMBER = """[project]
name = "ws-member"
version = "0.1.0"
requires-python = ">=3.11"
# the embedding helper brings torch
dependencies = ["sentence-stub"]

[dependency-groups]
dev = ["pytest-stub"]  # tests
"""


@pytest.fixture
def indexes(tmp_path: Path):
    with torch_indexes(tmp_path, ("sentence-stub", "1.0", ("torch>=2",)), ("pytest-stub", "1.0", ())) as urls:
        yield urls


@pytest.fixture
def workspace(tmp_path: Path, indexes) -> Path:
    mirror_url, _ = indexes
    root = tmp_path / "ws"
    (root / "packages" / "member").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'''[project]
name = "ws"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["ws-member"]

[tool.uv.workspace]
members = ["packages/*"]

[tool.uv.sources]
ws-member = {{ workspace = true }}

[[tool.uv.index]]
name = "mirror"
url = "{mirror_url}"
default = true
''')
    (root / "packages" / "member" / "pyproject.toml").write_text(MEMBER)
    subprocess.run([*find_uv(), "lock", "--quiet"], cwd=root, check=True, timeout=120)
    return root


def _fix(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "UV_HTTP_RETRIES": "0"}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "fix", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def _scan(lock: Path):
    from depaudit.scan import scan_lock

    return scan_lock(lock, targets=["linux-x86_64", "macos-arm64"], offline=True)


def test_member_fix_relocks_to_cpu_torch(workspace: Path, indexes) -> None:
    _, cpu_url = indexes
    before = _scan(workspace / "uv.lock")
    linux_before = before.targets[0]
    assert sorted(p.name for p in linux_before.packages if p.accelerator) == ["nvidia-cublas", "torch"]
    assert not [p for p in before.targets[1].packages if p.accelerator]  # macOS: no CUDA either way

    result = _fix("packages/member", "--cpu-index-url", cpu_url, "--lock", "--offline", cwd=workspace)
    assert result.returncode == 0, result.stderr
    member = (workspace / "packages" / "member" / "pyproject.toml").read_text()
    assert 'dependencies = ["sentence-stub", "torch==2.15.0"]' in member
    assert member.startswith(MEMBER.split("dependencies")[0])  # untouched above the edit
    assert 'dev = ["pytest-stub"]  # tests' in member

    from depaudit.sources.uvlock import load_lock

    lock = load_lock(workspace / "uv.lock")
    assert {(p.name, p.version, p.source.value) for p in lock.packages if p.name in ("torch", "nvidia-cublas")} == {
        ("torch", "2.15.0+cpu", cpu_url)
    }
    after = _scan(workspace / "uv.lock").targets[0]
    assert after.accelerator_bytes == 0 and not [p for p in after.packages if p.accelerator]
    assert "linux-x86_64: removed nvidia-cublas" in result.stdout

    again = _fix("packages/member", "--cpu-index-url", cpu_url, "--lock", cwd=workspace)
    assert again.returncode == 0 and "already fixed, nothing to change" in again.stdout


def test_relock_failure_restores_member_and_root_lock(workspace: Path, indexes, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on once the socket closes
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/simple"
    member = workspace / "packages" / "member" / "pyproject.toml"
    files = {p: p.read_bytes() for p in (member, workspace / "uv.lock", workspace / "pyproject.toml")}
    result = _fix("packages/member", "--cpu-index-url", dead, "--lock", "--offline", cwd=workspace)
    assert result.returncode == 4 and "uv lock failed" in result.stderr
    assert {p: p.read_bytes() for p in files} == files


def test_dry_run_lock_of_a_member_leaves_everything(workspace: Path, indexes) -> None:
    _, cpu_url = indexes
    files = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}
    result = _fix(
        "packages/member",
        "--cpu-index-url",
        cpu_url,
        "--dry-run",
        "--lock",
        "--offline",
        "--format",
        "json",
        cwd=workspace,
    )
    assert result.returncode == 0, result.stderr
    import json

    payload = json.loads(result.stdout)
    linux = next(t for t in payload["targets"] if t["target"] == "linux-x86_64")
    assert linux["after_accelerator"] == 0 and linux["before_accelerator"] > 0
    assert linux["removed"] == ["nvidia-cublas"]
    assert {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()} == files


def test_stale_lock_after_a_hand_edit_is_reported(workspace: Path, indexes) -> None:
    """DA103: the pyproject says CPU index, the lock still says the mirror (no `uv lock` ran)."""
    _, cpu_url = indexes
    from depaudit.rules.run_lock import lock_findings
    from depaudit.rules.subjects import LockSubject
    from depaudit.sources.uvlock import load_lock

    result = _fix("packages/member", "--cpu-index-url", cpu_url, cwd=workspace)  # edit only, no --lock
    assert result.returncode == 0
    member = workspace / "packages" / "member" / "pyproject.toml"
    lock = load_lock(workspace / "uv.lock")
    found = lock_findings(LockSubject(lock, _scan(workspace / "uv.lock"), member))
    stale = [f for f in found if f.rule == "DA103"]
    assert stale and "did not bind" in stale[0].message and str(member) == stale[0].path
