"""Reading a project's pyproject.toml into what depaudit needs: the dependency lists (runtime, extras,
dependency groups, uv's legacy dev-dependencies), `[[tool.uv.index]]` and `[tool.uv.sources]`.

Parsing only; no analysis. Invalid TOML raises InputError with `path:line:col` from tomllib.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from depaudit.errors import InputError, excerpt, first_line
from depaudit.fileio import read_text
from depaudit.names import canonical_name as canonicalize_name
from depaudit.sources.tomlparse import parse_toml
from depaudit.versions import InvalidSpecifier, parse_specifier

# Where a dependency is declared: ("dependencies", None), ("extra", name), ("group", name) or
# ("uv-dev", None) for `[tool.uv] dev-dependencies` (which uv locks as the group "dev").
ListRef = tuple[str, "str | None"]


class DeclaredDependency(NamedTuple):
    """One PEP 508 string from a dependency list: canonical name, the raw text, where it is declared."""

    name: str
    text: str
    where: ListRef
    marker: str | None = None
    line: int | None = None


class UvIndex(NamedTuple):
    """One `[[tool.uv.index]]` entry."""

    name: str | None
    url: str
    explicit: bool = False
    default: bool = False
    line: int | None = None


class UvSource(NamedTuple):
    """One entry of `[tool.uv.sources]` for a package (a list of entries gives several)."""

    package: str
    index: str | None  # type: ignore[assignment]  # shadows tuple.index, which no caller wants
    fields: tuple[tuple[str, Any], ...]
    marker: str | None = None
    line: int | None = None


class Pyproject(NamedTuple):
    """A parsed pyproject.toml. `declared` holds every dependency string of every list, in file order."""

    path: str
    text: str
    name: str | None
    declared: tuple[DeclaredDependency, ...]
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    indexes: tuple[UvIndex, ...]
    sources: tuple[UvSource, ...]
    workspace_members: tuple[str, ...] = ()
    has_uv_dev_dependencies: bool = False

    def declared_in(self, where: ListRef) -> tuple[DeclaredDependency, ...]:
        return tuple(d for d in self.declared if d.where == where)

    def declares(self, name: str) -> bool:
        """True when `name` is a direct dependency in any list."""
        key = canonicalize_name(name)
        return any(d.name == key for d in self.declared)

    def sources_for(self, name: str) -> tuple[UvSource, ...]:
        key = canonicalize_name(name)
        return tuple(s for s in self.sources if canonicalize_name(s.package) == key)

    def index_named(self, name: str) -> UvIndex | None:
        return next((i for i in self.indexes if i.name == name), None)


def read_pyproject_text(path: str | Path) -> str:
    """The file's text (UTF-8). Raises InputError when missing, unreadable or not UTF-8."""
    return read_text(Path(path), "pyproject.toml")


def load_pyproject(path: str | Path) -> Pyproject:
    """Read and parse a pyproject.toml. Raises InputError (with line) for unreadable or invalid files."""
    return parse_pyproject(read_pyproject_text(path), path)


def parse_pyproject(text: str, path: str | Path = "pyproject.toml", data: dict[str, Any] | None = None) -> Pyproject:
    """Parse pyproject text (`data`: the same text already parsed as TOML, so a command parses each file
    once). Raises InputError for invalid TOML or ill-typed dependency tables."""
    if data is None:
        data = parse_toml(text, Path(path))
    project = _table(data.get("project", {}), path, "[project]")
    tool_uv = _table(_table(data.get("tool", {}), path, "[tool]").get("uv", {}), path, "[tool.uv]")
    declared: list[DeclaredDependency] = []
    declared += _requirements(project.get("dependencies", []), ("dependencies", None), text, path)
    extras = _table(project.get("optional-dependencies", {}), path, "[project.optional-dependencies]")
    for extra, items in extras.items():
        declared += _requirements(items, ("extra", extra), text, path)
    groups = _table(data.get("dependency-groups", {}), path, "[dependency-groups]")
    for group, items in groups.items():
        declared += _requirements(items, ("group", group), text, path)
    uv_dev = tool_uv.get("dev-dependencies")
    if uv_dev is not None:
        declared += _requirements(uv_dev, ("uv-dev", None), text, path)
    workspace = _table(tool_uv.get("workspace", {}), path, "[tool.uv.workspace]")
    return Pyproject(
        path=str(path),
        text=text,
        name=project.get("name") if isinstance(project.get("name"), str) else None,
        declared=tuple(declared),
        extras=tuple(extras),
        groups=tuple(groups),
        indexes=_indexes(tool_uv.get("index", []), text, path),
        sources=_sources(tool_uv.get("sources", {}), text, path),
        workspace_members=tuple(m for m in workspace.get("members", []) if isinstance(m, str)),
        has_uv_dev_dependencies=uv_dev is not None,
    )


def _table(value: Any, path: str | Path, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(path, f"{what} must be a table")
    return value


def line_of(text: str, needle: str, start_line: int = 1) -> int | None:
    """The 1-based line of the first occurrence of `needle` at or after `start_line`, or None."""
    offset = 0
    for _ in range(start_line - 1):
        nxt = text.find("\n", offset)
        if nxt < 0:
            return None
        offset = nxt + 1
    found = text.find(needle, offset)
    return None if found < 0 else text.count("\n", 0, found) + 1


class _ForwardLines:
    """Line numbers of successive needles, each searched forward from the previous hit (an array lists
    its items in order), so a long dependency array costs linear time, not quadratic."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def find(self, *needles: str) -> int | None:
        for needle in needles:
            at = self.text.find(needle, self.offset)
            if at >= 0:
                self.line += self.text.count("\n", self.offset, at)
                self.offset = at
                return self.line
        return next((n for n in (line_of(self.text, needle) for needle in needles) if n is not None), None)


_PLAIN = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*?)\s*$")
_EXTRA_NAME = re.compile(r"^\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\s*$")


def _plain_requirement(item: str) -> str | None:
    """The name of a requirement with only a name, extras and version specifiers (the common case),
    read without packaging, whose import costs a scan more than parsing its lock; None for anything
    else (a marker, a URL, parentheses, anything doubtful), which packaging then reads."""
    match = _PLAIN.match(item)
    if not match or any(ch in item for ch in ";@()"):
        return None
    name, extras, specs = match.groups()
    if extras is not None and not all(_EXTRA_NAME.match(e) for e in extras.split(",")):
        return None
    for spec in specs.split(",") if specs else ():
        try:
            parse_specifier(spec)
        except InvalidSpecifier:
            return None
    return name


def _requirements(items: Any, where: ListRef, text: str, path: str | Path) -> list[DeclaredDependency]:
    label = {
        "dependencies": "project.dependencies",
        "extra": "optional-dependencies",
        "group": "dependency-groups",
        "uv-dev": "tool.uv.dev-dependencies",
    }[where[0]]
    if not isinstance(items, list):
        raise InputError(path, f"{label}{'.' + where[1] if where[1] else ''} must be an array")
    out = []
    lines = _ForwardLines(text)
    for item in items:
        if isinstance(item, dict):  # {include-group = "..."} in dependency groups
            continue
        if not isinstance(item, str):
            raise InputError(path, f"{label}: dependency {excerpt(item)} is not a string", line_of(text, repr(item)))
        line = lines.find(f'"{item}"', f"'{item}'")
        plain = _plain_requirement(item)
        if plain is not None:
            out.append(DeclaredDependency(canonicalize_name(plain), item, where, None, line))
            continue
        from packaging.requirements import InvalidRequirement, Requirement  # markers, URLs: the full grammar

        try:
            req = Requirement(item)
        except InvalidRequirement as exc:
            raise InputError(path, f"invalid requirement {excerpt(item)}: {first_line(exc)}", line) from None
        marker = str(req.marker) if req.marker else None
        out.append(DeclaredDependency(canonicalize_name(req.name), item, where, marker, line))
    return out


def _indexes(raw: Any, text: str, path: str | Path) -> tuple[UvIndex, ...]:
    if not isinstance(raw, list):
        raise InputError(path, "tool.uv.index must be an array of tables ([[tool.uv.index]])")
    out = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise InputError(path, "[[tool.uv.index]] entry needs a url", line_of(text, "[[tool.uv.index]]"))
        out.append(
            UvIndex(
                entry.get("name"),
                entry["url"],
                bool(entry.get("explicit", False)),
                bool(entry.get("default", False)),
                line_of(text, entry["url"]),
            )
        )
    return tuple(out)


def _sources(raw: Any, text: str, path: str | Path) -> tuple[UvSource, ...]:
    table = _table(raw, path, "[tool.uv.sources]")
    start = line_of(text, "[tool.uv.sources]") or 1
    out = []
    for package, value in table.items():
        entries = value if isinstance(value, list) else [value]
        line = _source_line(text, package, start)
        for entry in entries:
            if not isinstance(entry, dict):
                raise InputError(path, f"tool.uv.sources.{package} must be a table", line)
            index = entry.get("index") if isinstance(entry.get("index"), str) else None
            fields = tuple(sorted((k, v) for k, v in entry.items() if k != "marker"))
            out.append(UvSource(package, index, fields, entry.get("marker"), line))
    return tuple(out)


def _source_line(text: str, package: str, start: int) -> int | None:
    for candidate in (f"\n{package} =", f"\n{package}=", f'\n"{package}" ='):
        line = line_of(text, candidate, start)
        if line is not None:
            return line + 1
    return None
