"""Parse uv.lock (lock `version = 1`, revisions 0-5 and later; unknown keys tolerated) into the model.

The parser is strict about structure it relies on (names, sources, dependency references) and lenient
about everything else, so a newer uv's additions do not break it. Every problem is an InputError with
the path and, where it can be found, the line of the offending `[[package]]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from depaudit.errors import InputError
from depaudit.model import SOURCE_KINDS, Dependency, Lock, Package, Source, Wheel
from depaudit.sources.tomlread import parse_toml, read_text


def load_lock(path: str | Path) -> Lock:
    """Read a uv.lock or a PEP 751 pylock.toml (chosen by content). Raises InputError."""
    path = Path(path)
    return lock_from_text(read_text(path, "lock file"), path)


def lock_from_text(text: str, path: str | Path) -> Lock:
    """Parse lock text (uv.lock or pylock.toml, chosen by content); `path` names it in messages, and
    need not exist (a lock read from git is named `REV:path`). Raises InputError."""
    path = Path(path)
    data = parse_toml(text, path)
    if "lock-version" in data:
        from depaudit.sources.pylock import lock_from_pylock

        return lock_from_pylock(data, path, text)
    return lock_from_uvlock(data, path, text)


class _Reader:
    """Conversion helpers that turn a type mismatch into an InputError at the right line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self._package_lines: list[int] | None = None

    def package_line(self, index: int | None) -> int | None:
        if index is None:
            return None
        if self._package_lines is None:
            self._package_lines = [
                n for n, line in enumerate(self.text.splitlines(), 1) if line.strip() == "[[package]]"
            ]
        return self._package_lines[index] if index < len(self._package_lines) else None

    def fail(self, what: str, index: int | None = None) -> InputError:
        return InputError(self.path, what, self.package_line(index))

    def string(self, table: dict, key: str, where: str, index: int | None, required: bool = True) -> str | None:
        value = table.get(key)
        if type(value) is str and value:  # the common case, first: this runs 250k times on a 10k lock
            return value
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.fail(f"{where}: `{key}` must be a string", index)
        return value

    def array(self, table: dict, key: str, where: str, index: int | None) -> list:
        value = table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}: `{key}` must be an array", index)
        return value

    def table(self, value: Any, where: str, index: int | None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a table", index)
        return value

    def size(self, table: dict, where: str, index: int | None) -> int | None:
        value = table.get("size")
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{where}: `size` must be a non-negative integer", index)
        return value

    def source(self, value: Any, where: str, index: int | None) -> Source:
        table = self.table(value, f"{where}: `source`", index)
        for kind in SOURCE_KINDS:
            if kind in table:
                raw = table[kind]
                if not isinstance(raw, str):
                    raise self.fail(f"{where}: source `{kind}` must be a string", index)
                return Source(kind, raw)
        raise self.fail(f"{where}: unknown source kind {sorted(table)}", index)


def _wheel(reader: _Reader, raw: Any, where: str, index: int) -> Wheel:
    entry = reader.table(raw, f"{where}: wheel entry", index)
    url = reader.string(entry, "url", where, index, required=False)
    filename = reader.string(entry, "filename", where, index, required=False)
    local = reader.string(entry, "path", where, index, required=False)
    if filename is None:
        location = url if url is not None else local
        if location is None:
            raise reader.fail(f"{where}: wheel entry has no url, path or filename", index)
        filename = _basename(location) if url else Path(location).name
    if not filename.endswith(".whl") or filename.count("-") < 4:
        raise reader.fail(f"{where}: {filename!r} is not a wheel filename", index)
    return Wheel(filename=filename, url=url, size=reader.size(entry, f"{where}: {filename}", index))


def _basename(url: str) -> str:
    """The last path segment of a URL, %-decoded (urlsplit is 5x slower and this runs per wheel)."""
    name = url.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]
    return unquote(name) if "%" in name else name


def _dependency(reader: _Reader, raw: Any, where: str, index: int) -> Dependency:
    entry = reader.table(raw, f"{where}: dependency", index)
    name = reader.string(entry, "name", f"{where}: dependency", index)
    extras = entry.get("extra", [])
    if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
        raise reader.fail(f"{where}: dependency {name}: `extra` must be an array of strings", index)
    source = reader.source(entry["source"], f"{where}: dependency {name}", index) if "source" in entry else None
    return Dependency(
        name=_normalize(name),
        version=reader.string(entry, "version", where, index, required=False),
        source=source,
        marker=reader.string(entry, "marker", where, index, required=False),
        extras=tuple(_normalize(e) for e in extras),
    )


def _dependency_tables(reader: _Reader, table: Any, where: str, index: int) -> tuple:
    if table is None:
        return ()
    table = reader.table(table, where, index)
    out = []
    for key, deps in table.items():
        if not isinstance(deps, list):
            raise reader.fail(f"{where}.{key} must be an array", index)
        out.append((_normalize(key), tuple(_dependency(reader, d, f"{where}.{key}", index) for d in deps)))
    return tuple(out)


def _package(reader: _Reader, raw: Any, index: int) -> Package:
    entry = reader.table(raw, f"[[package]] #{index + 1}", index)
    name = reader.string(entry, "name", f"[[package]] #{index + 1}", index)
    where = f"package {name}"
    if "source" not in entry:
        raise reader.fail(f"{where}: missing `source`", index)
    sdist = entry.get("sdist")
    sdist_url = sdist_size = None
    if sdist is not None:
        sdist = reader.table(sdist, f"{where}: `sdist`", index)
        sdist_url = reader.string(sdist, "url", where, index, required=False)
        sdist_size = reader.size(sdist, f"{where}: sdist", index)
    return Package(
        name=_normalize(name),
        version=reader.string(entry, "version", where, index, required=False),
        source=reader.source(entry["source"], where, index),
        dependencies=tuple(_dependency(reader, d, where, index) for d in reader.array(entry, "dependencies", where, index)),
        optional_dependencies=_dependency_tables(reader, entry.get("optional-dependencies"), f"{where}: optional-dependencies", index),
        dependency_groups=_dependency_tables(reader, entry.get("dev-dependencies"), f"{where}: dev-dependencies", index),
        wheels=tuple(_wheel(reader, w, where, index) for w in reader.array(entry, "wheels", where, index)),
        sdist_url=sdist_url,
        sdist_size=sdist_size,
        line=index,  # replaced by the real line only when an error needs it
    )


def _normalize(name: str) -> str:
    """PEP 503 normalised name (uv writes normalised names; older locks and pylock may not)."""
    out = name.strip().lower()
    for ch in "_.":
        out = out.replace(ch, "-")
    while "--" in out:
        out = out.replace("--", "-")
    return out


def _strings(reader: _Reader, data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise reader.fail(f"`{key}` must be an array of strings")
    return tuple(value)


def lock_from_uvlock(data: dict[str, Any], path: Path, text: str) -> Lock:
    """Build a Lock from parsed uv.lock data. Raises InputError for anything that is not a v1 lock."""
    reader = _Reader(path, text)
    if "version" not in data and "package" not in data:
        raise InputError(path, "not a uv.lock: no `version` key and no [[package]] tables")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(path, "not a uv.lock: `version` must be an integer", _key_line(text, "version"))
    if version != 1:
        raise InputError(path, f"unsupported lock version {version} (depaudit reads version 1)", _key_line(text, "version"))
    revision = data.get("revision", 0)
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        raise InputError(path, "`revision` must be a non-negative integer", _key_line(text, "revision"))
    requires_python = data.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise InputError(path, "`requires-python` must be a string", _key_line(text, "requires-python"))
    raw_packages = data.get("package", [])
    if not isinstance(raw_packages, list):
        raise InputError(path, "`package` must be an array of tables")
    if not raw_packages:
        raise InputError(path, "lock has no packages")
    packages = tuple(_package(reader, raw, i) for i, raw in enumerate(raw_packages))
    manifest = data.get("manifest", {})
    if not isinstance(manifest, dict):
        raise InputError(path, "`manifest` must be a table")
    members = _strings(reader, manifest, "members")
    lock = Lock(
        path=str(path),
        format="uv.lock",
        version=version,
        revision=revision,
        requires_python=requires_python,
        packages=packages,
        roots=tuple(_normalize(m) for m in members) or _implicit_roots(packages),
        supported_markers=_strings(reader, data, "supported-markers"),
        conflicts=_conflicts(data.get("conflicts", manifest.get("conflicts", []))),
    )
    check_references(lock, reader)
    return lock


def _implicit_roots(packages: tuple[Package, ...]) -> tuple[str, ...]:
    """Without a [manifest] the project is the package whose source is the lock's own directory."""
    roots = tuple(
        p.name for p in packages
        if p.source.kind in ("editable", "virtual", "directory") and p.source.value in (".", "./", "")
    )
    if roots:
        return roots
    referenced = {d.name for p in packages for d in _all_edges(p)}
    return tuple(p.name for p in packages if p.name not in referenced)


def _all_edges(package: Package):
    yield from package.dependencies
    for _, deps in package.optional_dependencies:
        yield from deps
    for _, deps in package.dependency_groups:
        yield from deps


def _conflicts(raw: Any) -> tuple[tuple[tuple[str, str, str], ...], ...]:
    """`[[{package, extra|group}, ...], ...]` as ((kind, package, name), ...) sets; malformed entries skipped."""
    out = []
    if isinstance(raw, list):
        for group in raw:
            if not isinstance(group, list):
                continue
            items = []
            for item in group:
                if isinstance(item, dict) and isinstance(item.get("package", ""), str):
                    kind = "extra" if isinstance(item.get("extra"), str) else "group" if isinstance(item.get("group"), str) else None
                    if kind:
                        items.append((kind, _normalize(item.get("package", "")), _normalize(item[kind])))
            out.append(tuple(items))
    return tuple(out)


def check_references(lock: Lock, reader: _Reader | None = None) -> None:
    """Every dependency must name a package in the lock, unambiguously. Raises InputError otherwise."""
    by_name: dict[str, list[Package]] = {}
    for package in lock.packages:
        by_name.setdefault(package.name, []).append(package)
    for root in lock.roots:
        if root not in by_name:
            raise InputError(lock.path, f"workspace member {root!r} is not a package in the lock")
    for index, package in enumerate(lock.packages):
        for dep in _all_edges(package):
            candidates = by_name.get(dep.name)
            if not candidates:
                line = reader.package_line(index) if reader else None
                raise InputError(lock.path, f"package {package.name} depends on {dep.name}, which is not in the lock", line)
            if len(candidates) > 1 and resolve(dep, candidates) is None:
                line = reader.package_line(index) if reader else None
                raise InputError(lock.path, f"package {package.name}: dependency {dep.name} is ambiguous "
                                            f"({len(candidates)} versions locked, the edge names none that matches)", line)


def resolve(dep: Dependency, candidates: list[Package]) -> Package | None:
    """The locked package a dependency edge refers to among same-named candidates."""
    if len(candidates) == 1:
        return candidates[0]
    matches = [
        c for c in candidates
        if (dep.version is None or c.version == dep.version) and (dep.source is None or c.source == dep.source)
    ]
    return matches[0] if len(matches) == 1 else None


def _key_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(key) and stripped[len(key):].lstrip().startswith("="):
            return number
        if stripped.startswith("["):
            return None
    return None
