"""Parse uv.lock (lock `version = 1`, revisions 0-5 and later; unknown keys tolerated) into the model.

The parser is strict about structure it relies on (names, sources, dependency references) and lenient
about everything else, so a newer uv's additions do not break it. Every problem is an InputError with
the path and, where it can be found, the line of the offending `[[package]]`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from depaudit.errors import InputError
from depaudit.fileio import read_text
from depaudit.model import Dependency, Lock, Package, Wheel
from depaudit.names import canonical_name
from depaudit.sources.lockread import LockReader, all_edges, check_references
from depaudit.sources.pylock import lock_from_pylock
from depaudit.sources.tomlparse import parse_toml

_ROOT_PATHS = (".", "", "./")


def load_lock(path: str | Path) -> Lock:
    """Read a uv.lock or a PEP 751 pylock.toml (chosen by content). Raises InputError."""
    path = Path(path)
    return lock_from_text(read_text(path, "lock file", allow_empty=False), path)


def lock_from_text(text: str, path: str | Path) -> Lock:
    """Parse lock text (uv.lock or pylock.toml, chosen by content); `path` names it in messages, and
    need not exist (a lock read from git is named `REV:path`). Raises InputError."""
    path = Path(path)
    data = _parse_lifted(text, path)
    if data is None:
        data = parse_toml(text, path)
    if "lock-version" in data:
        return lock_from_pylock(data, path, text)
    return lock_from_uvlock(data, path, text)


# Wheel lists are most of a uv.lock (5,600 of a 2 MB lock's lines) and uv writes each entry on one line
# in one fixed form. Lifting those lines out before the TOML parser sees the text, and reading them with
# one regex, makes loading faster (the `lifted-wheels` case of docs/performance.md, measured by
# benchmarks/special_cases.py with and without it). Only the exact form below is lifted: a block with any
# other line stays for the TOML parser, and a document where the lifted parse fails, or does not find
# each block exactly once, in order, as a package's `wheels`, is parsed whole as before. Where it is
# found there, the original text parses that block to the same values (the text before it is the same, so
# the parser is in the same state there).
_WHEEL_BLOCK = re.compile(r"^wheels = \[\n((?:    \{[^\n]*\},\n)+)\]\n", re.MULTILINE)
# (line, url, size). The strings are matched loosely (`[^"]*`: Python's regex engine is ~3x slower on a
# class like `[^"\\\x00-\x1f]`), and the block is checked whole instead: printable ASCII with no
# backslash (so each string's text is its value), and no `?`, `#` or `%` (so a URL has no query or
# fragment and its last segment is the plain filename). A block outside that (an escape, a tab, a
# non-ASCII or %-escaped URL) is left to the TOML parser.
_WHEEL_LINE = re.compile(
    r'(    \{ url = "([^"]*\.whl)"(?:, hash = "[^"]*")?(?:, size = (0|[1-9][0-9]{0,17}))?'
    r'(?:, upload-time = "[^"]*")? \},\n)'
)


def _parse_lifted(text: str, path: Path) -> dict[str, Any] | None:
    """The parsed lock with each package's wheel list already read (a tuple of Wheel, which no TOML
    value can be), or None when the text is not in the form lifting relies on."""
    if "lock-version" in text or not text.startswith(("version = ", "\ufeffversion = ")):
        return None
    token = f"depaudit-wheels-{os.urandom(16).hex()}-"  # the text cannot contain it
    blocks: list[tuple[Wheel, ...]] = []

    def lift(match: re.Match[str]) -> str:
        wheels = _block_wheels(match.group(1))
        if wheels is None:
            return match.group(0)
        blocks.append(wheels)
        return f'wheels = "{token}{len(blocks) - 1}"\n'

    lifted = _WHEEL_BLOCK.sub(lift, text)
    if not blocks:
        return None
    try:
        data = parse_toml(lifted, path)
    except InputError:
        return None  # the whole text then reports the error at its own line numbers
    return data if _put_back(data, token, blocks) else None


def _block_wheels(lines: str) -> tuple[Wheel, ...] | None:
    """The wheels of a block of entry lines, or None when a line is not in the one lifted form."""
    if not lines.isascii() or any(c in lines for c in "\\?#%") or not lines.replace("\n", "").isprintable():
        return None
    found = _WHEEL_LINE.findall(lines)
    # Matches do not overlap, so covering every character means every line is one whole entry.
    if sum(len(line) for line, _, _ in found) != len(lines):
        return None
    wheels = []
    for _, url, size in found:
        _, slash, name = url.rpartition("/")
        if not slash or name.count("-") < 4:
            return None  # not a wheel filename: the full reader names the problem and its line
        wheels.append(Wheel(name, url, int(size) if size else None))
    return tuple(wheels)


def _put_back(data: dict[str, Any], token: str, blocks: list[tuple[Wheel, ...]]) -> bool:
    """Replace each placeholder by its wheels; True when every block was a package's `wheels`, once,
    in order (anything else: the regex matched text that was not a wheel list)."""
    packages = data.get("package")
    if not isinstance(packages, list):
        return False
    found = 0
    for package in packages:
        value = package.get("wheels") if isinstance(package, dict) else None
        if isinstance(value, str) and value.startswith(token):
            if value != f"{token}{found}":
                return False
            package["wheels"] = blocks[found]
            found += 1
    return found == len(blocks)


def _dependency(reader: LockReader, raw: Any, where: str, index: int | None) -> Dependency:
    entry = reader.table(raw, f"{where}: dependency", index)
    name = reader.string(entry, "name", f"{where}: dependency", index)
    extras = entry.get("extra", [])
    if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
        raise reader.fail(f"{where}: dependency {name}: `extra` must be an array of strings", index)
    source = reader.source(entry["source"], f"{where}: dependency {name}", index) if "source" in entry else None
    return Dependency(
        name=canonical_name(name),
        version=reader.string(entry, "version", where, index, required=False),
        source=source,
        marker=reader.string(entry, "marker", where, index, required=False),
        extras=tuple(canonical_name(e) for e in extras),
    )


def _dependency_tables(
    reader: LockReader, table: Any, where: str, index: int | None
) -> tuple[tuple[str, tuple[Dependency, ...]], ...]:
    if table is None:
        return ()
    table = reader.table(table, where, index)
    out: list[tuple[str, tuple[Dependency, ...]]] = []
    for key, deps in table.items():
        if not isinstance(deps, list):
            raise reader.fail(f"{where}.{key} must be an array", index)
        out.append((canonical_name(key), tuple(_dependency(reader, d, f"{where}.{key}", index) for d in deps)))
    return tuple(out)


def _package(reader: LockReader, raw: Any, index: int, line: int | None) -> Package:
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
        name=canonical_name(name),
        version=reader.string(entry, "version", where, index, required=False),
        source=reader.source(entry["source"], where, index),
        dependencies=tuple(
            _dependency(reader, d, where, index) for d in reader.array(entry, "dependencies", where, index)
        ),
        optional_dependencies=_dependency_tables(
            reader, entry.get("optional-dependencies"), f"{where}: optional-dependencies", index
        ),
        dependency_groups=_dependency_tables(
            reader, entry.get("dev-dependencies"), f"{where}: dev-dependencies", index
        ),
        wheels=_wheels(reader, entry, where, index),
        sdist_url=sdist_url,
        sdist_size=sdist_size,
        line=line,
        resolution_markers=reader.strings(entry, "resolution-markers", where, index)
        if "resolution-markers" in entry
        else (),
    )


def _wheels(reader: LockReader, entry: dict[str, Any], where: str, index: int) -> tuple[Wheel, ...]:
    lifted = entry.get("wheels")
    if type(lifted) is tuple:  # read by _parse_lifted
        return lifted
    return tuple(reader.wheel(w, where, index) for w in reader.array(entry, "wheels", where, index))


def lock_from_uvlock(data: dict[str, Any], path: Path, text: str) -> Lock:
    """Build a Lock from parsed uv.lock data. Raises InputError for anything that is not a v1 lock."""
    reader = LockReader(path, text)
    version, revision, requires_python = _header(data, path, text)
    raw_packages = data.get("package", [])
    if not isinstance(raw_packages, list):
        raise InputError(path, "`package` must be an array of tables")
    if not raw_packages:
        raise InputError(path, "lock has no packages")
    lines = reader.package_lines(len(raw_packages))
    packages = tuple(_package(reader, raw, i, lines[i]) for i, raw in enumerate(raw_packages))
    manifest = data.get("manifest", {})
    if not isinstance(manifest, dict):
        raise InputError(path, "`manifest` must be a table")
    members = tuple(canonical_name(m) for m in reader.strings(manifest, "members", "[manifest]", None))
    project = next(
        (p.name for p in packages if p.source.kind in ("editable", "virtual") and p.source.value in _ROOT_PATHS), None
    )
    roots = members or _implicit_roots(packages, project)
    lock = Lock(
        path=str(path),
        format="uv.lock",
        version=version,
        revision=revision,
        requires_python=requires_python,
        packages=_with_declared_names(packages, raw_packages, set(roots)),
        roots=roots,
        supported_markers=reader.strings(data, "supported-markers", "lock", None),
        conflicts=_conflicts(data.get("conflicts", manifest.get("conflicts", []))),
        project=project,
        manifest_groups=_dependency_tables(
            reader, manifest.get("dependency-groups"), "[manifest.dependency-groups]", None
        ),
        manifest_requirements=tuple(
            _dependency(reader, d, "[manifest] requirements", None)
            for d in reader.array(manifest, "requirements", "[manifest]", None)
        ),
    )
    check_references(lock, reader.package_line)
    return lock


def _header(data: dict[str, Any], path: Path, text: str) -> tuple[int, int, str | None]:
    """(version, revision, requires-python) of a uv.lock. Raises InputError for anything but version 1."""
    if "version" not in data and "package" not in data:
        raise InputError(path, "not a uv.lock: no `version` key and no [[package]] tables")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(path, "not a uv.lock: `version` must be an integer", _key_line(text, "version"))
    if version != 1:
        raise InputError(
            path, f"unsupported lock version {version} (depaudit reads version 1)", _key_line(text, "version")
        )
    revision = data.get("revision", 0)
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        raise InputError(path, "`revision` must be a non-negative integer", _key_line(text, "revision"))
    requires_python = data.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise InputError(path, "`requires-python` must be a string", _key_line(text, "requires-python"))
    return version, revision, requires_python


def _with_declared_names(packages: tuple[Package, ...], raw: list[Any], members: set[str]) -> tuple[Package, ...]:
    """Workspace members with the extras and groups they declare (`[package.metadata] provides-extras`,
    `requires-dev`), which uv accepts on the command line even when empty or filtered out of the lock."""
    out = list(packages)
    for i, package in enumerate(packages):
        if package.name not in members:
            continue
        metadata = raw[i].get("metadata") if isinstance(raw[i], dict) else None
        if not isinstance(metadata, dict):
            continue
        provided = metadata.get("provides-extras", [])
        extras = [canonical_name(e) for e in provided if isinstance(e, str)] if isinstance(provided, list) else []
        groups = metadata.get("requires-dev", {})
        groups = [canonical_name(g) for g in groups] if isinstance(groups, dict) else []
        known_extras = {name for name, _ in package.optional_dependencies}
        known_groups = {name for name, _ in package.dependency_groups}
        add_extras = tuple((e, ()) for e in dict.fromkeys(extras) if e not in known_extras)
        add_groups = tuple((g, ()) for g in dict.fromkeys(groups) if g not in known_groups)
        if add_extras or add_groups:
            out[i] = package._replace(
                optional_dependencies=package.optional_dependencies + add_extras,
                dependency_groups=package.dependency_groups + add_groups,
            )
    return tuple(out)


def _implicit_roots(packages: tuple[Package, ...], project: str | None) -> tuple[str, ...]:
    """Without `[manifest] members` the workspace is the project alone: the package at the lock's own
    directory; failing that (hand-made locks), every package nothing depends on."""
    if project is not None:
        return (project,)
    roots = tuple(p.name for p in packages if p.source.kind == "directory" and p.source.value in _ROOT_PATHS)
    if roots:
        return roots
    referenced = {d.name for p in packages for d in all_edges(p)}
    return tuple(dict.fromkeys(p.name for p in packages if p.name not in referenced))


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
                    kind = (
                        "extra"
                        if isinstance(item.get("extra"), str)
                        else "group"
                        if isinstance(item.get("group"), str)
                        else None
                    )
                    if kind:
                        items.append((kind, canonical_name(item.get("package", "")), canonical_name(item[kind])))
            out.append(tuple(items))
    return tuple(out)


def _key_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(key) and stripped[len(key) :].lstrip().startswith("="):
            return number
        if stripped.startswith("["):
            return None
    return None
