"""Read a lock of any kind depaudit scans (uv.lock, pylock.toml, poetry.lock, pdm.lock) into the model,
with the selection the scan applies to it (Poetry's `--all-extras` becomes the list of its extras)."""

from __future__ import annotations

from pathlib import Path

from depaudit.fileio import read_text
from depaudit.model import Lock, Selection
from depaudit.sources.pdmlock import lock_from_pdm
from depaudit.sources.poetrylock import lock_from_poetry
from depaudit.sources.tomlparse import parse_toml
from depaudit.sources.uvlock import lock_from_text


def load_any_lock(
    path: Path,
    kind: str,
    selection: Selection = Selection(),
    text: str | None = None,
    pyproject: str | None = None,
    *,
    on_disk: bool = False,
) -> tuple[Lock, Selection]:
    """The lock at `path` (or its `text`, e.g. read from git or a build context) of `kind` (from
    `detect.detect_kind`), and the selection to scan it with. A pdm.lock's indexes come from the
    pyproject.toml beside it (`pyproject` text when given with `text`, else read beside `path` when the
    lock is read from disk, or `on_disk` says `text` is the file's content).
    Raises InputError (bad lock) or UsageError (bad selection)."""
    given = text
    text = text if text is not None else read_text(path, "lock file", allow_empty=False)
    if kind == "poetry.lock":
        lock, extras = lock_from_poetry(parse_toml(text, path), path, text, selection)
        return lock, selection._replace(extras=extras, all_extras=False, groups=())
    if kind == "pdm.lock":
        beside = path.parent / "pyproject.toml"
        if pyproject is None and (given is None or on_disk) and beside.is_file():
            pyproject = read_text(beside, "pyproject.toml")
        project = parse_toml(pyproject, beside) if pyproject is not None else None
        lock = lock_from_pdm(parse_toml(text, path), path, text, selection, project)
        return lock, Selection()
    return lock_from_text(text, path), selection
