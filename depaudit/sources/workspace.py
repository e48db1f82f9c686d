"""Finding the lock the way uv finds it, from a directory (the working directory by default).

uv takes the nearest `pyproject.toml` at or above the directory as the project. If that file declares
`[tool.uv.workspace]`, it is the workspace root. Otherwise the first `pyproject.toml` above it decides:
a workspace whose `members` globs match the project (and whose `exclude` globs do not) is its root;
anything else leaves the project as its own root. The lock is `uv.lock` at the root. When the
directory is inside a member, `uv sync` there installs that member: `member` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from depaudit.errors import InputError
from depaudit.fileio import read_text
from depaudit.names import canonical_name
from depaudit.sources.tomlparse import parse_toml

LOCK_NAMES = ("uv.lock", "pylock.toml")


@dataclass(frozen=True)
class LockLocation:
    """The lock file found, and the workspace member uv would install from the starting directory
    (None: the lock's own default, the root project or every member of a virtual root)."""

    path: Path
    member: str | None = None


def _pyproject(directory: Path) -> dict[str, Any] | None:
    path = directory / "pyproject.toml"
    if not path.is_file():
        return None
    return parse_toml(read_text(path, "pyproject.toml", allow_empty=False), path)


def _uv_table(data: dict[str, Any], key: str) -> object:
    tool = data.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv.get(key) if isinstance(uv, dict) else None


def _matches(project: Path, root: Path, globs: object) -> bool:
    if not isinstance(globs, list):
        return False
    return any(
        isinstance(g, str) and fnmatchcase(project.as_posix(), (root / g.removeprefix("./")).as_posix()) for g in globs
    )


def _workspace_root(project: Path) -> Path | None:
    """The first pyproject.toml above `project` if it is a workspace that includes it (uv's rule)."""
    for folder in project.parents:
        data = _pyproject(folder)
        if data is None:
            continue
        workspace = _uv_table(data, "workspace")
        if not isinstance(workspace, dict):
            return None
        if _matches(project, folder, workspace.get("members")) and not _matches(
            project, folder, workspace.get("exclude")
        ):
            return folder
        return None
    return None


def _project_name(data: dict[str, Any]) -> str | None:
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return canonical_name(name) if isinstance(name, str) else None


def find_lock(start: Path) -> LockLocation:
    """The lock uv uses for `start` (a directory). Raises InputError when there is none."""
    start = start.resolve()
    project = next((d for d in (start, *start.parents) if (d / "pyproject.toml").is_file()), None)
    if project is None:
        return LockLocation(_lock_in(start, start))
    data = _pyproject(project) or {}
    root = project if isinstance(_uv_table(data, "workspace"), dict) else _workspace_root(project) or project
    member = _project_name(data) if root != project else None
    return LockLocation(_lock_in(root, start), member)


def _lock_in(folder: Path, start: Path) -> Path:
    for name in LOCK_NAMES:
        if (folder / name).is_file():
            return folder / name
    where = f"{folder}" if folder == start else f"{folder} (the workspace root of {start})"
    raise InputError(folder / "uv.lock", f"no uv.lock or pylock.toml in {where}; run `uv lock` first")
