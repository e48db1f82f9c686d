"""Reading single lines of input files (for SARIF fingerprints), each file read once per run through
the bounded reader."""

from __future__ import annotations

from pathlib import Path

from depaudit.errors import InputError
from depaudit.fileio import read_text


class SourceLines:
    """A cache of files' lines: `lines(path, number)` is the 1-based line's text, or None when the file
    cannot be read or has no such line."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def __call__(self, path: str, number: int) -> str | None:
        if path not in self._files:
            try:
                self._files[path] = read_text(Path(path), "file").splitlines()
            except InputError:
                self._files[path] = []
        lines = self._files[path]
        return lines[number - 1] if 0 < number <= len(lines) else None
