"""Parse PEP 751 `pylock.toml` (as `uv export --format pylock.toml` writes it) into the model.

A pylock is a flat list with a marker per package and no dependency graph, so the model gets a
synthetic root (`<pylock>`) with one edge per package carrying that package's marker; every "via" is
then root → package, which is all a pylock can say about why a package is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from depaudit.errors import InputError, excerpt
from depaudit.model import Dependency, Lock, Package, Source
from depaudit.names import canonical_name
from depaudit.sources.lockread import LockReader, check_references

ROOT = "<pylock>"


def _source(reader: LockReader, entry: dict[str, Any], where: str, index: int) -> Source:
    if "index" in entry:
        return Source("registry", reader.string(entry, "index", where, index))
    if "vcs" in entry:
        vcs = reader.table(entry["vcs"], f"{where}: vcs", index)
        return Source("git", str(vcs.get("url") or vcs.get("path") or ""))
    if "directory" in entry:
        directory = reader.table(entry["directory"], f"{where}: directory", index)
        kind = "editable" if directory.get("editable") else "directory"
        return Source(kind, str(directory.get("path", "")))
    if "archive" in entry:
        archive = reader.table(entry["archive"], f"{where}: archive", index)
        return Source("url", str(archive["url"])) if "url" in archive else Source("path", str(archive.get("path", "")))
    if "wheels" in entry or "sdist" in entry:
        return Source("registry", "")
    raise reader.fail(f"{where}: no index, vcs, directory, archive, sdist or wheels", index)


def _pylock_package(reader: LockReader, raw: Any, index: int, line: int | None) -> tuple[Package, str | None]:
    entry = reader.table(raw, f"[[packages]] #{index + 1}", index)
    name = reader.string(entry, "name", f"[[packages]] #{index + 1}", index)
    where = f"package {name}"
    source = _source(reader, entry, where, index)
    wheels = [reader.wheel(w, where, index) for w in reader.array(entry, "wheels", where, index)]
    archive = entry.get("archive")
    if isinstance(archive, dict) and str(archive.get("url") or archive.get("path") or "").endswith(".whl"):
        wheels.append(reader.wheel(archive, where, index))
    sdist = entry.get("sdist")
    sdist_url = sdist.get("url") if isinstance(sdist, dict) else None
    sdist_size = reader.size(sdist, f"{where}: sdist", index) if isinstance(sdist, dict) else None
    package = Package(
        name=canonical_name(name),
        version=reader.string(entry, "version", where, index, required=False),
        source=source,
        wheels=tuple(wheels),
        sdist_url=sdist_url if isinstance(sdist_url, str) else None,
        sdist_size=sdist_size,
        line=line,
    )
    return package, reader.string(entry, "marker", where, index, required=False)


def lock_from_pylock(data: dict[str, Any], path: Path, text: str) -> Lock:
    """Build a Lock from parsed pylock.toml data. Raises InputError for an unsupported or broken file."""
    reader = LockReader(path, text, header="[[packages]]")
    version = data.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise InputError(path, f"unsupported pylock lock-version {excerpt(version)} (depaudit reads 1.x)")
    raw = data.get("packages", [])
    if not isinstance(raw, list):
        raise InputError(path, "`packages` must be an array of tables")
    if not raw:
        raise InputError(path, "lock has no packages")
    lines = reader.package_lines(len(raw))
    entries = [_pylock_package(reader, item, i, lines[i]) for i, item in enumerate(raw)]
    seen: set[tuple[str, str | None, Source]] = set()
    for i, (package, _) in enumerate(entries):
        if package.key in seen:
            raise reader.fail(f"package {package.name} {package.version or ''} is listed twice", i)
        seen.add(package.key)
    root = Package(
        name=ROOT,
        version=None,
        source=Source("virtual", "."),
        dependencies=tuple(Dependency(p.name, p.version, p.source, marker) for p, marker in entries),
    )
    requires_python = data.get("requires-python")
    groups = data.get("default-groups", [])
    lock = Lock(
        path=str(path),
        format="pylock.toml",
        version=1,
        revision=0,
        requires_python=requires_python if isinstance(requires_python, str) else None,
        packages=(root, *tuple(p for p, _ in entries)),
        roots=(ROOT,),
        # PEP 751 `environments` plays the part of uv.lock's `supported-markers`.
        supported_markers=reader.strings(data, "environments", "pylock", None),
        default_groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
    )
    check_references(lock, lambda number: reader.package_line(number - 1) if number else None)
    return lock
