"""Finding the lock from a folder as uv does: the nearest project, its workspace root, the member."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from depaudit.errors import InputError
from depaudit.sources.workspace import find_lock

from fixture_paths import LOCKS


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(LOCKS / "workspace-root-package", root)
    return root


def test_root_folder_finds_its_lock_and_no_member(workspace):
    found = find_lock(workspace)
    assert found.path == workspace / "uv.lock" and found.member is None


@pytest.mark.parametrize("sub", ["packages/hdr-full", "packages/hdr-full/src/hdr_full"])
def test_inside_a_member_the_lock_is_the_workspace_root_and_the_member_is_selected(workspace, sub):
    found = find_lock(workspace / sub)
    assert found.path == workspace / "uv.lock" and found.member == "hdr-full"


def test_virtual_root_member(tmp_path):
    root = tmp_path / "vws"
    shutil.copytree(LOCKS / "workspace-virtual-groups", root)
    assert find_lock(root).member is None
    assert find_lock(root / "services" / "score").member == "score"


def test_a_project_that_is_not_a_member_is_its_own_root(workspace):
    other = workspace / "tools" / "bench"
    other.mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
    with pytest.raises(InputError, match=r"no uv\.lock or pylock\.toml"):
        find_lock(other)  # uv would lock it on its own, not use the workspace's lock
    (other / "uv.lock").write_text("version = 1\n")
    assert find_lock(other).path == other / "uv.lock"


def test_an_excluded_member_is_its_own_root(workspace):
    text = (workspace / "pyproject.toml").read_text()
    (workspace / "pyproject.toml").write_text(
        text.replace('members = ["packages/*"]', 'members = ["packages/*"]\nexclude = ["packages/hdr-cli"]')
    )
    with pytest.raises(InputError):
        find_lock(workspace / "packages" / "hdr-cli")
    assert find_lock(workspace / "packages" / "hdr-full").member == "hdr-full"


def test_no_project_anywhere_uses_the_folder_itself(tmp_path):
    (tmp_path / "pylock.toml").write_text('lock-version = "1.0"\n')
    assert find_lock(tmp_path).path == tmp_path / "pylock.toml"
    with pytest.raises(InputError) as info:
        find_lock(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else tmp_path)
    assert info.value.exit_code == 3
