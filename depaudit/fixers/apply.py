"""Showing and applying planned edits: unified diffs, atomic writes, byte-exact snapshots to restore
when a later step (re-locking) fails."""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from depaudit.errors import ChangedOnDisk
from depaudit.fileio import read_bytes, write_bytes, write_text
from depaudit.model import Edit


def unified_diff(edit: Edit, relative_to: Path | None = None) -> str:
    """The edit as a unified diff with `a/` and `b/` labels (paths relative to `relative_to`)."""
    label = str(edit.path)
    if relative_to is not None:
        with contextlib.suppress(ValueError):
            label = os.path.relpath(edit.path, relative_to)
    lines = difflib.unified_diff(
        edit.before.splitlines(keepends=True),
        edit.after.splitlines(keepends=True),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


@dataclass
class Snapshot:
    """The exact bytes of some files (None: the file did not exist), to put back on failure."""

    files: dict[Path, bytes | None]

    @classmethod
    def take(cls, paths: Iterable[Path | str]) -> Snapshot:
        files: dict[Path, bytes | None] = {}
        for path in paths:
            path = Path(path)
            files[path] = read_bytes(path, "file") if os.path.lexists(path) else None
        return cls(files)

    def restore(self) -> None:
        """Write every file back byte for byte (atomically); remove files that did not exist."""
        for path, data in self.files.items():
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            else:
                if os.path.lexists(path) and read_bytes(path, "file") == data:
                    continue
                write_bytes(path, data)


def apply_edits(edits: list[Edit]) -> list[Edit]:
    """Write each changed edit atomically; if any write fails, restore the ones already written and
    re-raise. Refuses (ChangedOnDisk, exit 4) when a file changed on disk since it was planned. Returns the edits
    written."""
    changed = [e for e in edits if e.changed]
    snapshot = Snapshot.take(Path(e.path) for e in changed)
    for edit in changed:
        data = snapshot.files[Path(edit.path)]
        if data is None or data.decode("utf-8", "replace") != edit.before:
            raise ChangedOnDisk(f"{edit.path}: changed on disk while planning the fix; nothing written")
    try:
        for edit in changed:
            write_text(Path(edit.path), edit.after)
    except BaseException:
        snapshot.restore()
        raise
    return changed
