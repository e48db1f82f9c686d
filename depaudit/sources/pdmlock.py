"""Parse a PDM `pdm.lock` (lock_version 4.x, strategy `inherit_metadata`, PDM's default) into the model.

Each `[[package]]` carries `groups` (`default` is the production install; an optional-dependency extra
is a group of its name; dev groups likewise) and one `marker` under which it installs, so the install set
of a selection is the packages of the selected groups whose marker holds (see `sources.flatlock`), as
`pdm sync` and `pdm export` decide. An entry that locks a package with extras repeats the package: the
entries are merged. Files are named only (or, with `static_urls`, by URL); the index is the one of
`[[tool.pdm.source]]` in the pyproject beside the lock whose `include_packages` names the package, else
PyPI (or the source named `pypi`).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from depaudit.errors import InputError, UsageError
from depaudit.model import Lock, Package, Selection, Source, Wheel
from depaudit.names import canonical_name
from depaudit.sources.flatlock import PYPI_SIMPLE, either, files_of, flat_lock
from depaudit.sources.lockread import LockReader, basename

DEFAULT = "default"


def lock_from_pdm(
    data: dict[str, Any],
    path: Path,
    text: str,
    selection: Selection = Selection(),
    pyproject: dict[str, Any] | None = None,
) -> Lock:
    """The packages `pdm sync` installs for `selection` (`default` always; `--extra X` and `--group X`
    both name PDM groups). Raises InputError for a lock without per-package groups (not
    `inherit_metadata`: re-lock with `pdm lock --strategy inherit_metadata`), UsageError for a group
    the lock does not have."""
    reader = LockReader(path, text)
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not str(metadata.get("lock_version", "")).startswith("4."):
        raise InputError(path, "unsupported pdm.lock (depaudit reads lock_version 4.x)")
    strategy = metadata.get("strategy", [])
    if not isinstance(strategy, list) or "inherit_metadata" not in strategy:
        raise InputError(
            path, "locked without the inherit_metadata strategy: re-lock with `pdm lock --strategy inherit_metadata`"
        )
    locked = {canonical_name(str(g)) for g in metadata.get("groups", []) if isinstance(g, str)}
    groups = _groups(path, selection, locked)
    sources = _sources(pyproject or {})
    raw = reader.array(data, "package", "pdm.lock", None)
    lines = reader.package_lines(len(raw))
    merged: dict[tuple[str, str], tuple[Package, set[str], list[str | None]]] = {}
    for i, item in enumerate(raw):
        package, package_groups, marker = _package(reader, item, i, lines[i], sources)
        key = (package.name, package.version or "")
        if key in merged:
            merged[key][1].update(package_groups)
            merged[key][2].append(marker)
        else:
            merged[key] = (package, set(package_groups), [marker])
    chosen = [(p, either(markers)) for p, gs, markers in merged.values() if gs & groups]
    return flat_lock(path, "pdm.lock", _requires_python(metadata), chosen)


def _groups(path: Path, selection: Selection, locked: set[str]) -> set[str]:
    if selection.packages or selection.all_packages:
        raise UsageError(f"{path} is a pdm.lock, which records no workspace members: --package applies to uv.lock")
    if selection.all_groups or selection.all_extras:
        return locked | {DEFAULT}
    wanted = {canonical_name(g) for g in (*selection.groups, *selection.extras)}
    missing = sorted(wanted - locked)
    if missing:
        raise UsageError(
            f"no group or extra named {', '.join(missing)} in {path} (locked: {', '.join(sorted(locked))}; "
            f"lock it with `pdm lock -G {missing[0]}`)"
        )
    return wanted | {DEFAULT}


def _requires_python(metadata: dict[str, Any]) -> str | None:
    targets = metadata.get("targets")
    if isinstance(targets, list) and len(targets) == 1 and isinstance(targets[0], dict):
        value = targets[0].get("requires_python")
        return value if isinstance(value, str) and value else None
    return None


Sources = tuple[tuple[str, tuple[str, ...]], ...]  # (index URL, include_packages patterns), in order


def _sources(pyproject: dict[str, Any]) -> tuple[Sources, str]:
    """([tool.pdm.source] indexes that name the packages they serve, the default index)."""
    tool = pyproject.get("tool")
    pdm = tool.get("pdm") if isinstance(tool, dict) else None
    raw = pdm.get("source") if isinstance(pdm, dict) else None
    scoped: list[tuple[str, tuple[str, ...]]] = []
    default = PYPI_SIMPLE
    for source in raw if isinstance(raw, list) else []:
        if (
            not isinstance(source, dict)
            or not isinstance(source.get("url"), str)
            or source.get("type", "index") != "index"
        ):
            continue
        include = source.get("include_packages")
        if isinstance(include, list) and include:
            scoped.append(
                (source["url"], tuple(canonical_name(str(p)) if "*" not in str(p) else str(p) for p in include))
            )
        elif source.get("name") == "pypi":
            default = source["url"]
    return tuple(scoped), default


def _index_for(name: str, sources: tuple[Sources, str]) -> str:
    scoped, default = sources
    for url, patterns in scoped:
        if any(fnmatchcase(name, pattern) for pattern in patterns):
            return url
    return default


def _installed_version(version: str, wheels: tuple[Wheel, ...]) -> str:
    """The version that installs: PDM writes `2.15.0` for a `torch-2.15.0+cpu` wheel from the CPU
    index; when every wheel carries the same local label on that version, the label is kept."""
    versions = {w.filename.split("-")[1] for w in wheels}
    if len(versions) == 1:
        (found,) = versions
        if found.partition("+")[0] == version and "+" in found:
            return found
    return version


def _package(
    reader: LockReader, raw: Any, index: int, line: int | None, sources: tuple[Sources, str]
) -> tuple[Package, tuple[str, ...], str | None]:
    entry = reader.table(raw, f"[[package]] #{index + 1}", index)
    name = canonical_name(reader.string(entry, "name", f"[[package]] #{index + 1}", index))
    where = f"package {name}"
    names: list[str] = []
    urls: dict[str, str] = {}
    for item in reader.array(entry, "files", where, index):
        table = reader.table(item, f"{where}: files", index)
        url = reader.string(table, "url", where, index, required=False)
        file = reader.string(table, "file", where, index, required=False) or (basename(url) if url else None)
        if file is None:
            raise reader.fail(f"{where}: a files entry has neither `file` nor `url`", index)
        names.append(file)
        if url:
            urls[file] = url
    wheels, sdist = files_of(names)
    wheels = tuple(Wheel(w.filename, urls.get(w.filename), None) for w in wheels)
    package = Package(
        name=name,
        version=_installed_version(reader.string(entry, "version", where, index), wheels),
        source=Source("registry", _index_for(name, sources)),
        wheels=wheels,
        sdist_url=sdist,
        line=line,
    )
    groups = tuple(canonical_name(g) for g in reader.strings(entry, "groups", where, index))
    return package, groups, reader.string(entry, "marker", where, index, required=False)
