"""DA103 on real locks (tests/fixtures/locks/torch-indexes, made by `uv lock` by its make_fixture.py): a CPU
source is judged under its own conditions — its extra or group, its marker — against what the scan installs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from depaudit.model import Selection
from depaudit.rules.run_lock import lock_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock

from fixture_paths import LOCKS

INDEXES = LOCKS / "torch-indexes"
TARGETS = ["linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"]


def _da103(project: Path, selection: Selection = Selection()) -> list[str]:
    lock = project / "uv.lock"
    report = scan_lock(lock, targets=TARGETS, selection=selection, offline=True, cache_dir=None)
    found = lock_findings(LockSubject(load_lock(lock), report, project / "pyproject.toml"), select=("DA103",))
    return [f.message for f in found]


@pytest.mark.parametrize("extras", [(), ("cpu",), ("gpu",)])
def test_a_source_under_an_extra_is_not_stale_where_the_extra_is_not_selected(extras):
    # cpu and gpu conflict; torch takes the CPU index under `cpu` only and PyPI's CUDA build under `gpu`
    assert _da103(INDEXES / "cpu-extra", Selection(extras=extras)) == []


def test_a_source_under_a_marker_is_not_stale_where_the_marker_is_false():
    # CPU index on Linux, PyPI's (CPU) build on macOS and Windows: what the lock holds, and right
    assert _da103(INDEXES / "cpu-on-linux") == []


def test_a_source_added_after_the_lock_is_stale_where_it_applies(tmp_path):
    """The same lock, with the marker taken off the source (a pyproject edited after `uv lock`)."""
    project = tmp_path / "p"
    shutil.copytree(INDEXES / "cpu-on-linux", project)
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace(", marker = \"sys_platform == 'linux'\"", ""))
    (message,) = _da103(project)
    assert "locks torch 2.8.0 from https://pypi.org/simple for macos-arm64: the source did not bind" in message


def test_a_source_under_an_extra_is_stale_when_that_extra_is_selected_and_the_lock_disagrees(tmp_path):
    """cpu-extra's lock with the source moved to the `gpu` extra (edited after `uv lock`): scanned with
    `--extra gpu`, the source applies and the lock still takes PyPI's build there."""
    project = tmp_path / "p"
    shutil.copytree(INDEXES / "cpu-extra", project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('extra = "cpu" }]', 'extra = "gpu" }]'))
    assert _da103(project, Selection(extras=("cpu",))) == []  # the source does not apply to this install
    (message,) = _da103(project, Selection(extras=("gpu",)))
    assert "(extra gpu) but" in message and "locks torch 2.8.0 from https://pypi.org/simple for linux-x86_64" in message


def test_a_conditional_source_whose_index_the_lock_never_used_is_stale(tmp_path):
    """The CPU index URL changed in pyproject.toml after `uv lock`: whatever the scan selects, no torch in
    the lock comes from the index the source names."""
    project = tmp_path / "p"
    shutil.copytree(INDEXES / "cpu-extra", project)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    old = text.split('name = "pytorch-cpu"\nurl = "', 1)[1].split('"', 1)[0]
    pyproject.write_text(text.replace(old, "https://download.pytorch.org/whl/cpu"))
    (message,) = _da103(project, Selection(extras=("gpu",)))
    assert "takes torch from https://download.pytorch.org/whl/cpu (extra cpu)" in message
    assert "holds no torch from that index" in message
