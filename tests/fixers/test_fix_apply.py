"""Diffs, atomic application and byte-exact restore."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.errors import ChangedOnDisk, OutputError
from depaudit.fixers.apply import Snapshot, apply_edits, unified_diff
from depaudit.model import Edit


def test_unified_diff_labels_and_missing_final_newline(tmp_path: Path) -> None:
    edit = Edit(str(tmp_path / "pyproject.toml"), "a = 1", "a = 1\nb = 2")
    diff = unified_diff(edit, tmp_path)
    assert diff.startswith("--- a/pyproject.toml\n+++ b/pyproject.toml\n")
    assert "-a = 1\n\\ No newline at end of file\n+a = 1\n+b = 2\n\\ No newline at end of file\n" in diff


def test_apply_writes_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("x = 1\n")
    path.chmod(0o640)
    written = apply_edits([Edit(str(path), "x = 1\n", "x = 2\n"), Edit(str(path), "x", "x")])
    assert [e.after for e in written] == ["x = 2\n"]
    assert path.read_text() == "x = 2\n" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["pyproject.toml"]  # no temp file left


def test_apply_refuses_when_file_changed_since_planning(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("x = 3\n")
    with pytest.raises(ChangedOnDisk, match="changed on disk"):
        apply_edits([Edit(str(path), "x = 1\n", "x = 2\n")])
    assert path.read_text() == "x = 3\n"


def test_failed_second_write_restores_the_first(tmp_path: Path) -> None:
    # A real failure, even as root: the second file's name is 245 characters, so it reads fine but the
    # temp file the atomic write makes beside it (".NAME.<random>.depaudit-tmp") is over the 255-byte
    # name limit; that write fails after the first file was written. (/proc/version, used here before,
    # is now refused by the reader itself.)
    first = tmp_path / "a.toml"
    first.write_bytes(b"a = 1\r\n")
    target = tmp_path / ("b" * 240 + ".toml")
    target.write_text("b = 1\n")
    import os

    os.utime(first, (1_000_000_000, 1_000_000_000))  # 2001: any rewrite shows in mtime
    with pytest.raises(OutputError, match=r"b\.toml: cannot write"):
        apply_edits([Edit(str(first), "a = 1\r\n", "a = 2\r\n"), Edit(str(target), "b = 1\n", "b = 2\n")])
    assert first.read_bytes() == b"a = 1\r\n" and target.read_text() == "b = 1\n"
    assert first.stat().st_mtime > 1_000_000_000  # it was rewritten (written, then restored), not left alone


def test_snapshot_restores_bytes_and_removes_new_files(tmp_path: Path) -> None:
    kept = tmp_path / "uv.lock"
    kept.write_bytes(b"version = 1\n\xe2\x9c\x93\n")
    new = tmp_path / "new.txt"
    snapshot = Snapshot.take([kept, new])
    kept.write_bytes(b"changed")
    new.write_text("created later")
    snapshot.restore()
    assert kept.read_bytes() == b"version = 1\n\xe2\x9c\x93\n"
    assert not new.exists()
