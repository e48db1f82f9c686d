"""What the uv.lock and pylock.toml parsers share: typed access to parsed TOML that turns a mismatch
into an InputError at the right line, wheel entries, name normalisation and the reference check.

Both parsers import this module; neither imports the other's internals (the pylock parser used to
reach into uvlock's private helpers, which made the two modules depend on each other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, overload
from urllib.parse import unquote

from depaudit.errors import InputError, excerpt
from depaudit.model import SOURCE_KINDS, Dependency, Lock, Package, Source, Wheel


def header_lines(text: str, header: str) -> list[int]:
    """1-based line numbers of every `header` line (e.g. `[[package]]`) in `text`. Lines end at "\n"
    only, as TOML's do (str.splitlines would also end one at a form feed or U+2028 inside a string)."""
    return [n for n, line in enumerate(text.split("\n"), 1) if line.strip() == header]


class LockReader:
    """Typed access to one parsed lock: each helper raises InputError naming the file and, where it
    can, the line of the offending package table (found only when an error needs it)."""

    def __init__(self, path: Path, text: str, header: str = "[[package]]") -> None:
        self.path = path
        self.text = text
        self.header = header
        self._package_lines: list[int] | None = None

    def package_line(self, index: int | None) -> int | None:
        """The line of the `index`-th package table, or None."""
        if index is None:
            return None
        if self._package_lines is None:
            self._package_lines = header_lines(self.text, self.header)
        return self._package_lines[index] if index < len(self._package_lines) else None

    def package_lines(self, count: int) -> list[int | None]:
        """The line of each of the `count` package tables (what findings point at): every entry None
        when the headers in the text are not exactly one per table (e.g. packages as an inline array,
        or a header line inside a multi-line string)."""
        lines = header_lines(self.text, self.header)
        if len(lines) != count:
            return [None] * count
        self._package_lines = lines
        return list(lines)

    def fail(self, what: str, index: int | None = None) -> InputError:
        """An InputError about the `index`-th package (or the file)."""
        return InputError(self.path, what, self.package_line(index))

    @overload
    def string(
        self, table: dict[str, Any], key: str, where: str, index: int | None, required: Literal[True] = ...
    ) -> str: ...
    @overload
    def string(self, table: dict[str, Any], key: str, where: str, index: int | None, required: bool) -> str | None: ...
    def string(
        self, table: dict[str, Any], key: str, where: str, index: int | None, required: bool = True
    ) -> str | None:
        """`table[key]` as a non-empty string (None when absent and not required)."""
        value = table.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.fail(f"{where}: `{key}` must be a string", index)
        return value

    def array(self, table: dict[str, Any], key: str, where: str, index: int | None) -> list[Any]:
        """`table[key]` as a list ([] when absent)."""
        value = table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}: `{key}` must be an array", index)
        return value

    def table(self, value: Any, where: str, index: int | None) -> dict[str, Any]:
        """`value` itself, which must be a table."""
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a table", index)
        return value

    def strings(self, table: dict[str, Any], key: str, where: str, index: int | None) -> tuple[str, ...]:
        """`table[key]` as a tuple of strings (() when absent)."""
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}: `{key}` must be an array of strings", index)
        return tuple(value)

    def size(self, table: dict[str, Any], where: str, index: int | None) -> int | None:
        """`table["size"]` as a non-negative int, None when absent."""
        value = table.get("size")
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{where}: `size` must be a non-negative integer", index)
        return value

    def source(self, value: Any, where: str, index: int | None) -> Source:
        """A uv.lock `source = { kind = value }` table."""
        table = self.table(value, f"{where}: `source`", index)
        for kind in SOURCE_KINDS:
            if kind in table:
                raw = table[kind]
                if not isinstance(raw, str):
                    raise self.fail(f"{where}: source `{kind}` must be a string", index)
                return Source(kind, raw)
        raise self.fail(f"{where}: unknown source kind {sorted(table)}", index)

    def wheel(self, raw: Any, where: str, index: int) -> Wheel:
        """A wheel entry (`url`, `path` or `filename`, optional `size`)."""
        if type(raw) is dict and "filename" not in raw:  # the usual entry, checked inline (5,600 per 2 MB lock)
            url, size = raw.get("url"), raw.get("size")
            if type(url) is str and url and (size is None or (type(size) is int and size >= 0)):
                filename = basename(url)
                if filename.endswith(".whl") and filename.count("-") >= 4:
                    return Wheel(filename, url, size)
        return self._wheel(raw, where, index)

    def _wheel(self, raw: Any, where: str, index: int) -> Wheel:
        entry = self.table(raw, f"{where}: wheel entry", index)
        url = self.string(entry, "url", where, index, required=False)
        filename = self.string(entry, "filename", where, index, required=False)
        local = self.string(entry, "path", where, index, required=False)
        if filename is None:
            location = url if url is not None else local
            if location is None:
                raise self.fail(f"{where}: wheel entry has no url, path or filename", index)
            filename = basename(location) if url else Path(location).name
        if not filename.endswith(".whl") or filename.count("-") < 4:
            raise self.fail(f"{where}: {filename!r} is not a wheel filename", index)
        return Wheel(filename=filename, url=url, size=self.size(entry, f"{where}: {filename}", index))


def basename(url: str) -> str:
    """The last path segment of a URL, %-decoded (urlsplit is 5x slower and this runs per wheel)."""
    name = url.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]
    return unquote(name) if "%" in name else name


def all_edges(package: Package) -> Iterator[Dependency]:
    """Every dependency edge of a package: runtime, each extra, each group."""
    yield from package.dependencies
    for _, deps in package.optional_dependencies:
        yield from deps
    for _, deps in package.dependency_groups:
        yield from deps


def check_references(lock: Lock, line_of: Callable[[int], int | None] | None = None) -> None:
    """Every dependency must name a package in the lock, unambiguously, and every workspace member must
    be a package. Raises InputError (with the package's line when `line_of` can tell it)."""
    index = lock.index
    for root in lock.roots:
        if root not in index.by_name:
            raise InputError(lock.path, f"workspace member {excerpt(root)} is not a package in the lock")
    extra_edges = tuple(dep for _, deps in lock.manifest_groups for dep in deps) + lock.manifest_requirements
    for dep in extra_edges:
        if dep.name not in index.by_name:
            raise InputError(lock.path, f"[manifest] names {dep.name}, which is not in the lock")
    for number, package in enumerate(lock.packages):
        for dep in all_edges(package):
            candidates = index.by_name.get(dep.name)
            if candidates is None:
                raise InputError(
                    lock.path,
                    f"package {package.name} depends on {dep.name}, which is not in the lock",
                    line_of(number) if line_of else None,
                )
            if len(candidates) > 1 and index.find(dep) is None:
                raise InputError(
                    lock.path,
                    f"package {package.name}: dependency {dep.name} is ambiguous "
                    f"({len(candidates)} versions locked, the edge names none that matches)",
                    line_of(number) if line_of else None,
                )
