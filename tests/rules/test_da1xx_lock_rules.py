"""DA101-DA104 on real fixture locks (scanned offline), with pyprojects written beside copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from depaudit.rules.run_lock import lock_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock

LOCKS = Path(__file__).resolve().parents[1] / "fixtures" / "locks"


def _findings(project: Path, targets=("linux-x86_64", "macos-arm64")):
    lock = project / "uv.lock"
    report = scan_lock(lock, targets=list(targets), offline=True)
    pyproject = project / "pyproject.toml"
    return lock_findings(LockSubject(load_lock(lock), report, pyproject if pyproject.exists() else None))


def _copy(tmp_path: Path, name: str, pyproject: str | None = None) -> Path:
    dest = tmp_path / name
    shutil.copytree(LOCKS / name, dest)
    if pyproject is not None:
        (dest / "pyproject.toml").write_text(pyproject)
    return dest


def test_da101_accelerators_on_linux_not_on_macos(tmp_path: Path) -> None:
    found = [f for f in _findings(_copy(tmp_path, "torch-2.8")) if f.rule == "DA101"]
    assert [f.target for f in found] == ["linux-x86_64"]
    assert found[0].fixable and "nvidia-" in found[0].message and found[0].path.endswith("uv.lock")
    assert found[0].line is not None


def test_da101_silent_without_accelerators(tmp_path: Path) -> None:
    # extras-dev: a production install is numpy + pillow only.
    assert [f for f in _findings(_copy(tmp_path, "extras-dev")) if f.rule == "DA101"] == []


def test_da102_transitive_torch_points_at_the_dependency_that_brings_it(tmp_path: Path) -> None:
    found = [f for f in _findings(_copy(tmp_path, "transitive-torch")) if f.rule == "DA102"]
    assert len(found) == 1
    assert found[0].path.endswith("pyproject.toml") and found[0].line == 6
    assert "sentence-transformers" in found[0].message and "torch 2.15.0" in found[0].message
    assert not [f for f in _findings(_copy(tmp_path, "torch-2.8")) if f.rule == "DA102"]


TRANSITIVE_WITH_SOURCE = """[project]
name = "search-service"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["sentence-transformers", "httpx"]

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true

[tool.uv.sources]
torch = { index = "pytorch-cpu" }
"""


def test_da103_source_for_a_transitive_torch_cannot_bind(tmp_path: Path) -> None:
    found = [f for f in _findings(_copy(tmp_path, "transitive-torch", TRANSITIVE_WITH_SOURCE)) if f.rule == "DA103"]
    messages = " | ".join(f.message for f in found)
    assert "is ignored: torch is not a direct dependency" in messages
    assert "locks torch 2.15.0 from https://pypi.org/simple" in messages
    assert all(f.line == 13 for f in found)


def test_da103_second_entry_brings_cuda_back_on_linux_only(tmp_path: Path) -> None:
    text = """[project]
name = "hdr-service"
version = "0.1.0"
dependencies = ["torch==2.8.0", "numpy", "pillow"]

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true

[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", marker = "sys_platform != 'linux'" },
  { index = "pytorch-cu128", marker = "sys_platform == 'linux'" },
]
"""
    found = [f for f in _findings(_copy(tmp_path, "torch-2.8", text)) if f.rule == "DA103"]
    cuda = [f for f in found if "CUDA build comes back" in f.message]
    assert len(cuda) == 1 and "linux-x86_64" in cuda[0].message and "macos-arm64" not in cuda[0].message


def test_da104_index_not_explicit_and_ignore_comment(tmp_path: Path) -> None:
    text = TRANSITIVE_WITH_SOURCE.replace("explicit = true\n", "").replace(
        'dependencies = ["sentence-transformers", "httpx"]',
        'dependencies = ["sentence-transformers", "httpx", "torch"]',
    )
    project = _copy(tmp_path, "transitive-torch", text)
    found = [f for f in _findings(project) if f.rule == "DA104"]
    assert [(f.line, f.severity) for f in found] == [(9, "warning")]
    (project / "pyproject.toml").write_text(
        text.replace(
            'url = "https://download.pytorch.org/whl/cpu"',
            'url = "https://download.pytorch.org/whl/cpu"  # depaudit: ignore=DA104',
        )
    )
    assert [f for f in _findings(project) if f.rule == "DA104"] == []


def test_no_pyproject_means_lock_rules_only(tmp_path: Path) -> None:
    project = _copy(tmp_path, "transitive-torch")
    (project / "pyproject.toml").unlink()
    rules = {f.rule for f in _findings(project)}
    assert rules == {"DA101", "DA102"}


@pytest.mark.parametrize("rule", ["DA101", "DA102", "DA103", "DA104", "DA201", "DA202"])
def test_every_rule_has_a_docs_page(rule: str) -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "rules" / f"{rule}.md"
    text = page.read_text()
    for heading in ("## Why", "## Bad", "## Good", "## Auto-fixable"):
        assert heading in text, f"{page} lacks {heading}"
