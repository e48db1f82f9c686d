"""Reading `REV:path` from git (depaudit/sources/gitrev.py) on a real temporary repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from depaudit import fileio
from depaudit.errors import InputError, ToolError
from depaudit.sources.gitrev import load_lock_spec, read_git_file, split_rev_spec

from fixture_paths import FIXTURES

LOCK = FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock"
GIT = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "uv.lock").write_bytes(LOCK.read_bytes())
    (root / "latin1.lock").write_bytes(b"version = 1\n# caf\xe9\n")
    (root / "empty.lock").write_text("\n")
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True, timeout=30)
    subprocess.run([*GIT, "add", "."], cwd=root, check=True, timeout=30)
    subprocess.run([*GIT, "commit", "-q", "-m", "locks"], cwd=root, check=True, timeout=30)
    return root


def test_split_only_when_no_such_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert split_rev_spec("origin/main:uv.lock") == ("origin/main", "uv.lock")
    assert split_rev_spec("v1.2:sub/dir/uv.lock") == ("v1.2", "sub/dir/uv.lock")
    assert split_rev_spec("uv.lock") is None and split_rev_spec(":uv.lock") is None and split_rev_spec("HEAD:") is None
    (tmp_path / "odd:name.lock").write_text("x")
    assert split_rev_spec("odd:name.lock") is None  # an existing file wins over the git reading


def test_reads_the_blob_at_a_revision_from_root_or_relative(repo: Path) -> None:
    assert read_git_file("HEAD:sub/uv.lock", repo) == LOCK.read_text()
    assert read_git_file("HEAD:./uv.lock", repo / "sub") == LOCK.read_text()  # ./ is relative to cwd
    lock = load_lock_spec("HEAD:sub/uv.lock", repo)
    assert lock.path == "HEAD:sub/uv.lock" and "torch" in {p.name for p in lock.packages}


def test_a_file_path_is_read_from_disk_not_git(repo: Path) -> None:
    assert load_lock_spec(repo / "sub" / "uv.lock").path == str(repo / "sub" / "uv.lock")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("HEAD:latin1.lock", "HEAD:latin1.lock:2: not UTF-8 (byte 0xe9)"),
        ("HEAD:empty.lock", "HEAD:empty.lock: empty file, not a lock file"),
        ("HEAD:sub", "HEAD:sub: is a folder in git, not a lock file"),
        ("HEAD~3:sub/uv.lock", "HEAD~3:sub/uv.lock: unknown git revision 'HEAD~3'"),
        ("--output=x:sub/uv.lock", "--output=x:sub/uv.lock: unknown git revision '--output=x'"),
    ],
)
def test_bad_specs_raise_input_error_naming_the_spec(repo: Path, spec: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_git_file(spec, repo)
    assert str(caught.value).startswith(message)
    assert not (repo / "x").exists()  # a spec that looks like an option is never passed to git as one


def test_oversized_blob_is_refused_before_reading(repo: Path, monkeypatch) -> None:
    monkeypatch.setitem(fileio._limit, "bytes", 1000)  # the max-input-bytes setting, as the edge applies it
    with pytest.raises(InputError, match=r"HEAD:sub/uv.lock: 0\.1 MB is over the 0 MB input limit"):
        read_git_file("HEAD:sub/uv.lock", repo)


def test_missing_git_is_a_tool_error(repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(repo))  # no git on this PATH
    with pytest.raises(ToolError, match="git: not found on PATH"):
        read_git_file("HEAD:sub/uv.lock", repo)
