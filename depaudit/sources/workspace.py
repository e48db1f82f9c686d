"""Finding the lock the way uv finds it, from a directory (the working directory by default).

uv takes the nearest `pyproject.toml` at or above the directory as the project. If that file declares
`[tool.uv.workspace]`, it is the workspace root. Otherwise the first `pyproject.toml` above it decides:
a workspace whose `members` globs match the project (and whose `exclude` globs do not) is its root;
anything else leaves the project as its own root. The lock is `uv.lock` at the root. When the
directory is inside a member, `uv sync` there installs that member: `member` says which.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, NamedTuple

from depaudit.errors import InputError
from depaudit.fileio import read_text
from depaudit.names import canonical_name
from depaudit.sources.tomlparse import parse_toml

LOCK_NAMES = ("uv.lock", "pylock.toml")


class LockLocation(NamedTuple):
    """The lock file found, and the workspace member uv would install from the starting directory
    (None: the lock's own default, the root project or every member of a virtual root)."""

    path: Path
    member: str | None = None
    text: str | None = None  # its content, when it was read to tell its kind (read once: passed on)


class ProjectLayout(NamedTuple):
    """Where a directory sits as uv sees it: `project`, the folder of the nearest pyproject.toml (None:
    none above); `root`, the workspace root that holds the lock (the project itself outside a
    workspace); `member`, the member uv installs from there (None at the root)."""

    project: Path | None
    root: Path
    member: str | None = None

    def lock(self) -> Path | None:
        """uv.lock (else pylock.toml) at the root, or None when there is neither. Whatever stands under
        that name counts (a FIFO, a device, a dangling link): the reader then refuses it by name."""
        for name in LOCK_NAMES:
            if _present(self.root / name):
                return self.root / name
        return None


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


Read = Callable[[Path], "dict[str, Any] | None"]


def read_pyproject(directory: Path) -> dict[str, Any] | None:
    """The parsed pyproject.toml in `directory`, or None when there is none."""
    path = directory / "pyproject.toml"
    if not _present(path):
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


def _workspace_root(project: Path, read: Read) -> Path | None:
    """The first pyproject.toml above `project` if it is a workspace that includes it (uv's rule)."""
    for folder in project.parents:
        data = read(folder)
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


def project_name(data: dict[str, Any]) -> str | None:
    """The canonical `[project] name` of a parsed pyproject.toml, or None."""
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return canonical_name(name) if isinstance(name, str) else None


def layout(start: Path, read: Read = read_pyproject) -> ProjectLayout:
    """How uv sees `start` (a directory): its project, workspace root and member. `read` parses a
    folder's pyproject.toml (the project context passes one that reads each file once)."""
    start = start.resolve()
    project = next((d for d in (start, *start.parents) if _present(d / "pyproject.toml")), None)
    if project is None:
        return ProjectLayout(None, start)
    data = read(project) or {}
    root = project if isinstance(_uv_table(data, "workspace"), dict) else _workspace_root(project, read) or project
    return ProjectLayout(project, root, project_name(data) if root != project else None)


def find_lock(start: Path, read: Read = read_pyproject) -> LockLocation:
    """The lock uv uses for `start` (a directory). Raises InputError when there is none."""
    found = layout(start, read)
    lock = found.lock()
    if lock is None:
        start = start.resolve()
        where = f"{found.root}" if found.root == start else f"{found.root} (the workspace root of {start})"
        raise InputError(found.root / "uv.lock", f"no uv.lock or pylock.toml in {where}; run `uv lock` first")
    return LockLocation(lock, found.member)


def repository_root(start: Path) -> Path:
    """The repository root above `start` (the nearest folder holding `.git`), else `start` itself."""
    here = start.resolve()
    for folder in [here, *here.parents]:
        if (folder / ".git").exists():
            return folder
    return here
