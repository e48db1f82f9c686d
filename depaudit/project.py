"""The project a command works on, found and read once at the edge.

`open_project` finds the project as uv does (the nearest pyproject.toml, its workspace root, the member
installed from there, the lock at the root) and reads each pyproject.toml it looks at once: the same
parsed text serves the workspace search, the settings (`[tool.depaudit]`) and the rules (the Pyproject
model). Everything below takes this value; nothing below reads these files again.
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from depaudit.errors import InputError
from depaudit.fileio import read_text
from depaudit.model import Selection
from depaudit.settings import SettingsFile
from depaudit.sources.pyproject import Pyproject, parse_pyproject
from depaudit.sources.tomlparse import parse_toml
from depaudit.sources.workspace import ProjectLayout, layout, project_name


class _PyprojectFields(NamedTuple):
    path: Path
    text: str
    data: dict[str, Any]


class PyprojectFile(_PyprojectFields):
    """One pyproject.toml, read and parsed once (a subclass of the NamedTuple has a `__dict__`, which
    keeps the two views below)."""

    @cached_property
    def model(self) -> Pyproject:
        """The file as depaudit's Pyproject model (dependencies, indexes, sources), from the parsed data.
        Raises InputError for ill-typed tables."""
        return parse_pyproject(self.text, self.path, self.data)

    @cached_property
    def settings(self) -> SettingsFile:
        """Its `[tool.depaudit]` table ({} when absent). Raises InputError when that is not a table."""
        tool = self.data.get("tool", {})
        table = tool.get("depaudit", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise InputError(self.path, "[tool.depaudit] must be a table")
        return SettingsFile(self.path, table, self.text)


class ProjectFiles:
    """Reads each pyproject.toml once per command."""

    def __init__(self) -> None:
        self._by_folder: dict[Path, PyprojectFile | None] = {}

    def file(self, folder: Path) -> PyprojectFile | None:
        """The pyproject.toml in `folder`, parsed (None when there is none). Raises InputError."""
        folder = Path(os.path.abspath(folder))
        if folder not in self._by_folder:
            path = folder / "pyproject.toml"
            found = None
            if path.exists() or path.is_symlink():  # anything there is read: the reader refuses a FIFO by name
                text = read_text(path, "pyproject.toml", allow_empty=False)
                found = PyprojectFile(path, text, parse_toml(text, path))
            self._by_folder[folder] = found
        return self._by_folder[folder]

    def data(self, folder: Path) -> dict[str, Any] | None:
        found = self.file(folder)
        return None if found is None else found.data


class ProjectContext(NamedTuple):
    """Where a command works: the layout uv sees (None with an explicit --pyproject), the workspace
    root's pyproject.toml and the member's own (when run from a member folder), and the lock uv uses
    (None when there is none)."""

    start: Path
    layout: ProjectLayout | None
    root_file: PyprojectFile | None
    member_file: PyprojectFile | None
    lock_path: Path | None
    files: ProjectFiles

    @property
    def member(self) -> str | None:
        """The workspace member uv installs from the starting folder (None at the root)."""
        return self.layout.member if self.layout is not None and self.lock_path is not None else None

    @property
    def settings_files(self) -> list[SettingsFile]:
        """The `[tool.depaudit]` tables that apply, lowest precedence first: the root's, the member's."""
        return [f.settings for f in (self.root_file, self.member_file) if f is not None]

    @property
    def pyproject(self) -> Path | None:
        """The root pyproject.toml's path (SARIF and budget findings point at it)."""
        return self.root_file.path if self.root_file is not None else None

    def member_settings(self, selection: Selection) -> list[SettingsFile]:
        """The `[tool.depaudit]` tables of the workspace members `selection` installs (every member with
        --all-packages), each read once."""
        if self.layout is None or not (selection.packages or selection.all_packages) or self.root_file is None:
            return []
        wanted = set(selection.packages)
        found = []
        for folder in self._member_folders():
            file = self.files.file(folder)
            if file is not None and (selection.all_packages or project_name(file.data) in wanted):
                found.append(file.settings)
        return found

    def _member_folders(self) -> list[Path]:
        assert self.layout is not None and self.root_file is not None
        tool = self.root_file.data.get("tool", {})
        uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
        workspace = uv.get("workspace", {}) if isinstance(uv, dict) else {}
        members = workspace.get("members", []) if isinstance(workspace, dict) else []
        root = self.layout.root
        folders = []
        for glob in (g for g in members if isinstance(g, str)):
            pattern = (root / glob.removeprefix("./")).as_posix()
            base = root / glob.split("*", 1)[0].removeprefix("./")
            candidates = [base] if "*" not in glob else sorted(p for p in base.parent.rglob("*") if p.is_dir())
            folders += [
                c for c in candidates if fnmatchcase(c.as_posix(), pattern) and (c / "pyproject.toml").is_file()
            ]
        return list(dict.fromkeys(folders))


def open_project(start: Path, *, lock: Path | None = None, pyproject: Path | None = None) -> ProjectContext:
    """The project around `start` (a folder, or a file whose folder is meant). `lock`: a lock file the
    command line names (its folder's project then applies; when it is the lock uv would use from
    `start`, so does `start`'s member). `pyproject`: an explicit settings file (--pyproject), which must
    exist. Raises InputError for an unreadable or invalid pyproject.toml."""
    files = ProjectFiles()
    if pyproject is not None:
        if not (pyproject.exists() or pyproject.is_symlink()):
            raise InputError(pyproject, "no such file")
        explicit = files.file(pyproject.parent) if pyproject.name == "pyproject.toml" else _other(pyproject)
        return ProjectContext(
            pyproject, None, explicit, None, lock or layout(pyproject.parent, files.data).lock(), files
        )
    folder = start if start.is_dir() else start.parent
    here = layout(folder, files.data)
    uv_lock = here.lock()
    if lock is not None and uv_lock is not None and os.path.realpath(lock) == os.path.realpath(uv_lock):
        where = here
    else:
        where = layout(lock.parent, files.data) if lock is not None else here
    root_file = files.file(where.root) if where.project is not None else None
    member_file = files.file(where.project) if where.member is not None and where.project is not None else None
    return ProjectContext(folder, where, root_file, member_file, lock or where.lock(), files)


def _other(path: Path) -> PyprojectFile:
    """A settings file not named pyproject.toml (--pyproject other.toml)."""
    text = read_text(path, "pyproject.toml", allow_empty=False)
    return PyprojectFile(path, text, parse_toml(text, path))
