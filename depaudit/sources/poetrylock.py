"""Parse a Poetry `poetry.lock` (lock-version 2.1, written by Poetry 2) into the model.

Each `[[package]]` carries `groups` (the dependency groups that need it; `main` is the production
install) and `markers` (one string for every group, or a table per group), so the install set of a
selection is the packages of the selected groups whose marker holds (see `sources.flatlock`). Extras
appear in those markers as `extra == "name"`. Files are listed by name only; their URLs and sizes are
looked up on the package's source (`[package.source]`, else PyPI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from depaudit.errors import InputError, UsageError
from depaudit.model import Lock, Package, Selection, Source
from depaudit.names import canonical_name
from depaudit.sources.flatlock import PYPI_SIMPLE, either, files_of, flat_lock
from depaudit.sources.lockread import LockReader

MAIN = "main"
_SOURCE_KINDS = {"legacy": "registry", "git": "git", "directory": "directory", "file": "path", "url": "url"}


def lock_from_poetry(
    data: dict[str, Any], path: Path, text: str, selection: Selection = Selection()
) -> tuple[Lock, tuple[str, ...]]:
    """The packages `poetry install` installs for `selection` (groups as Poetry names them, `main`
    always; extras from `[extras]`), and the extras the selection turns on (their markers read them).
    Raises InputError for a lock Poetry 2 did not write (no
    per-package groups: re-lock with Poetry >= 2), UsageError for an unknown group or extra."""
    reader = LockReader(path, text)
    metadata = data.get("metadata")
    version = metadata.get("lock-version") if isinstance(metadata, dict) else None
    if not isinstance(version, str) or not version.startswith("2."):
        raise InputError(path, f"unsupported poetry.lock lock-version {version!r} (depaudit reads 2.x)")
    raw = reader.array(data, "package", "poetry.lock", None)
    lines = reader.package_lines(len(raw))
    entries = [_package(reader, item, i, lines[i]) for i, item in enumerate(raw)]
    if entries and not any(groups for _, groups, _ in entries):
        raise InputError(
            path, f"lock-version {version} records no groups per package: re-lock with Poetry 2 (`poetry lock`)"
        )
    groups, extras = _selected(data, path, selection, {g for _, gs, _ in entries for g in gs})
    chosen = []
    for package, package_groups, markers in entries:
        wanted = [g for g in package_groups if g in groups]
        if wanted:
            chosen.append((package, either([markers.get(g, markers.get("*")) for g in wanted])))
    python = metadata.get("python-versions") if isinstance(metadata, dict) else None
    requires = python if isinstance(python, str) and python != "*" else None
    return flat_lock(path, "poetry.lock", requires, chosen), extras


def poetry_extras(data: dict[str, Any], selection: Selection) -> tuple[str, ...]:
    """The extras a selection turns on (every `[extras]` name for `--all-extras`)."""
    declared = data.get("extras")
    names = tuple(canonical_name(str(n)) for n in declared) if isinstance(declared, dict) else ()
    return names if selection.all_extras else tuple(canonical_name(e) for e in selection.extras)


def _selected(
    data: dict[str, Any], path: Path, selection: Selection, known: set[str]
) -> tuple[set[str], tuple[str, ...]]:
    groups = {MAIN} | (known if selection.all_groups else {canonical_name(g) for g in selection.groups})
    missing = sorted(groups - known - {MAIN})
    if missing:
        raise UsageError(
            f"no dependency group named {', '.join(missing)} in {path} (groups: {', '.join(sorted(known))})"
        )
    declared = data.get("extras")
    extras = poetry_extras(data, selection)
    names = {canonical_name(str(n)) for n in declared} if isinstance(declared, dict) else set()
    unknown = sorted(set(extras) - names)
    if unknown:
        raise UsageError(
            f"no extra named {', '.join(unknown)} in {path} (extras: {', '.join(sorted(names)) or 'none'})"
        )
    if selection.packages or selection.all_packages:
        raise UsageError(f"{path} is a poetry.lock, which records no workspace members: --package applies to uv.lock")
    return groups, extras


def _package(
    reader: LockReader, raw: Any, index: int, line: int | None
) -> tuple[Package, tuple[str, ...], dict[str, str | None]]:
    entry = reader.table(raw, f"[[package]] #{index + 1}", index)
    name = reader.string(entry, "name", f"[[package]] #{index + 1}", index)
    where = f"package {name}"
    files = [
        reader.string(reader.table(f, f"{where}: files", index), "file", where, index)
        for f in reader.array(entry, "files", where, index)
    ]
    wheels, sdist = files_of(files)
    package = Package(
        name=canonical_name(name),
        version=reader.string(entry, "version", where, index),
        source=_source(reader, entry, where, index),
        wheels=wheels,
        sdist_url=sdist,
        line=line,
    )
    return (
        package,
        tuple(canonical_name(g) for g in reader.strings(entry, "groups", where, index)),
        _markers(reader, entry, where, index),
    )


def _source(reader: LockReader, entry: dict[str, Any], where: str, index: int) -> Source:
    raw = entry.get("source")
    if raw is None:
        return Source("registry", PYPI_SIMPLE)
    table = reader.table(raw, f"{where}: source", index)
    kind = _SOURCE_KINDS.get(str(table.get("type")))
    if kind is None:
        raise reader.fail(f"{where}: unknown source type {table.get('type')!r}", index)
    return Source(kind, reader.string(table, "url", f"{where}: source", index))


def _markers(reader: LockReader, entry: dict[str, Any], where: str, index: int) -> dict[str, str | None]:
    """{group: marker} ("*" for a marker that applies to every group; absent: always)."""
    raw = entry.get("markers")
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"*": raw}
    table = reader.table(raw, f"{where}: markers", index)
    out: dict[str, str | None] = {}
    for group, marker in table.items():
        if not isinstance(marker, str):
            raise reader.fail(f"{where}: markers.{group} must be a string", index)
        out[canonical_name(group)] = marker
    return out
