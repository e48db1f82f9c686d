"""poetry.lock and pdm.lock: what depaudit says installs, per target and selection, equals what the tool's
own `export` says for that selection with its markers evaluated per target (by `packaging`); offline,
wheel sizes come from the committed index-files cache (real PyPI answers, see fixtures/inputs/HOW.md)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from oracles import BIN, ENVIRONMENTS, copy_project, exported_names, run_tool

from depaudit.model import Selection
from depaudit.scan import scan_lock
from depaudit.sources.detect import detect_kind
from depaudit.sources.inputs import load_any_lock

from childrun import run_depaudit
from fixture_paths import FIXTURES, TESTS

INPUTS = FIXTURES / "inputs"
TARGETS = tuple(ENVIRONMENTS)


@pytest.fixture
def files_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    shutil.copytree(INPUTS / "index-files-cache", cache)
    return cache


def _scan(path: Path, selection: Selection, cache: Path):
    lock, selection = load_any_lock(path, detect_kind(path, path.read_text()), selection)
    return scan_lock(lock, selection=selection, offline=True, cache_dir=cache)


POETRY = [
    (Selection(), (), ["--only", "main"]),
    (Selection(groups=("dev",)), (), ["--with", "dev"]),
    (Selection(extras=("vision",)), ("vision",), ["--only", "main", "--extras", "vision"]),
]


@pytest.mark.parametrize(("selection", "extras", "args"), POETRY, ids=["main", "dev", "extra"])
def test_poetry_install_set_is_poetry_export(tmp_path: Path, files_cache: Path, selection, extras, args) -> None:
    project = copy_project(INPUTS / "poetry-cuda", tmp_path / "project")
    exported = run_tool(
        [str(BIN / "poetry"), "export", "--without-hashes", "-f", "requirements.txt", *args], project, tmp_path
    )
    report = _scan(project / "poetry.lock", selection, files_cache)
    for target in report.targets:
        names = {p.name for p in target.packages}
        assert names == exported_names(exported, target.target.name, extras), target.target.name
        assert not target.unknown_size, target.unknown_size  # every wheel located and sized
    linux = report.targets[0]
    assert linux.target.name == "linux-x86_64" and linux.accelerator_bytes > 3_000_000_000
    assert all(t.accelerator_bytes == 0 for t in report.targets[1:])


PDM = [
    (Selection(), (), ["--prod"]),
    (Selection(groups=("dev",)), (), ["-G", "dev"]),
    (Selection(extras=("vision",)), (), ["--prod", "-G", "vision"]),
]


@pytest.mark.parametrize(("selection", "extras", "args"), PDM, ids=["default", "dev", "extra"])
def test_pdm_install_set_is_pdm_export(tmp_path: Path, files_cache: Path, selection, extras, args) -> None:
    project = copy_project(INPUTS / "pdm-cuda", tmp_path / "project")
    exported = run_tool([str(BIN / "pdm"), "export", "--no-hashes", *args], project, tmp_path)
    report = _scan(project / "pdm.lock", selection, files_cache)
    for target in report.targets:
        names = {p.name for p in target.packages}
        assert names == exported_names(exported, target.target.name, extras), target.target.name
        assert not target.unknown_size, target.unknown_size
    assert report.targets[0].accelerator_bytes > 3_000_000_000


def test_poetry_and_pdm_agree_on_the_same_project(files_cache: Path) -> None:
    """Both tools locked the same requirements on the same day: the same totals, byte for byte."""
    poetry = _scan(INPUTS / "poetry-cuda" / "poetry.lock", Selection(), files_cache)
    pdm = _scan(INPUTS / "pdm-cuda" / "pdm.lock", Selection(), files_cache)
    assert [t.total_bytes for t in poetry.targets] == [t.total_bytes for t in pdm.targets]


def test_unknown_group_and_old_locks_are_refused(tmp_path: Path) -> None:
    from depaudit.errors import InputError, UsageError

    with pytest.raises(UsageError, match="no dependency group named docs"):
        _scan(INPUTS / "poetry-cuda" / "poetry.lock", Selection(groups=("docs",)), tmp_path)
    with pytest.raises(UsageError, match="no group or extra named docs"):
        _scan(INPUTS / "pdm-cuda" / "pdm.lock", Selection(groups=("docs",)), tmp_path)
    old = tmp_path / "poetry.lock"
    text = (INPUTS / "poetry-cuda" / "poetry.lock").read_text()
    text = re.sub(r"^groups = .*\n", "", text.replace('lock-version = "2.1"', 'lock-version = "2.0"'), flags=re.M)
    old.write_text(text)  # what Poetry 1.x wrote: no groups per package
    with pytest.raises(InputError, match="re-lock with Poetry 2"):
        _scan(old, Selection(), tmp_path)


def test_offline_without_cache_leaves_sizes_unknown_not_zero(tmp_path: Path) -> None:
    report = _scan(INPUTS / "poetry-cuda" / "poetry.lock", Selection(), tmp_path / "empty")
    linux = report.targets[0]
    assert linux.total_bytes == 0 and len(linux.unknown_size) == len(linux.packages) == 26
    assert json.loads(json.dumps([p.size for p in linux.packages])) == [None] * 26


CPU_PROJECTS = {
    "poetry": (
        '[tool.poetry]\npackage-mode = false\n\n[tool.poetry.dependencies]\ntorch = {{ source = "pytorch-cpu" }}\n\n'
        '[[tool.poetry.source]]\nname = "pytorch-cpu"\nurl = "{cpu}"\npriority = "explicit"\n'
    ),
    "pdm": '[tool.pdm]\ndistribution = false\n\n[[tool.pdm.source]]\nname = "pytorch-cpu"\nurl = "{cpu}"\ninclude_packages = ["torch"]\n',
}


@pytest.mark.parametrize("tool", ["poetry", "pdm"])
def test_cpu_index_variant_locked_with_the_real_tool(tmp_path: Path, tool: str) -> None:
    """The CPU variant of each project, locked here by the tool itself against a local CPU index (a lock
    records the index URL, which changes per run): no accelerator bytes on any target, the package set
    equals the tool's export, and the accelerator gate that fails on the CUDA lock passes."""
    sys.path.insert(0, str(TESTS / "fixers"))
    from localindex import torch_indexes

    (tmp_path / "indexes").mkdir()
    with torch_indexes(tmp_path / "indexes") as (_, cpu):
        project = tmp_path / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "{tool}-cpu"\nversion = "0.1.0"\nrequires-python = ">=3.11,<3.14"\n'
            'dependencies = ["torch==2.15.0"]\n\n' + CPU_PROJECTS[tool].format(cpu=cpu)
        )
        run_tool([str(BIN / tool), "lock"], project, tmp_path)
    export = (
        ["export", "--without-hashes", "-f", "requirements.txt"]
        if tool == "poetry"
        else ["export", "--no-hashes", "--prod"]
    )
    exported = run_tool([str(BIN / tool), *export], project, tmp_path)
    lock = project / f"{tool}.lock"
    report = _scan(lock, Selection(), tmp_path / "cache")
    for target in report.targets:
        assert {p.name for p in target.packages} == exported_names(exported, target.target.name) == {"torch"}
        (torch,) = target.packages
        assert torch.package.version == "2.15.0+cpu" and torch.accelerator is None and target.accelerator_bytes == 0
    gate = run_depaudit("gate", "--lock", str(lock), "--max-accelerator", "0", "--offline", timeout=120)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    cuda = run_depaudit(
        "gate",
        "--lock",
        str(INPUTS / f"{tool}-cuda" / f"{tool}.lock"),
        "--max-accelerator",
        "0",
        "--offline",
        timeout=120,
    )
    failed = [
        line for line in cuda.stdout.splitlines() if line.startswith("FAIL") and "linux-x86_64: accelerator" in line
    ]
    assert cuda.returncode == 1 and failed, cuda.stdout  # offline: 16 accelerator packages of unknown size
