"""Reading pip requirements files (requirements.txt / requirements.in) line by line.

Keeps what a fixer and the DA2xx rules need: options (-r/-c/-f/-i/--extra-index-url/...) with their
values, requirements with name, specifier text and hashes, and the physical line numbers (continuation
lines joined, comments stripped the way pip strips them: `#` at line start or after whitespace).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from depaudit.errors import InputError, excerpt, first_line
from depaudit.fileio import read_text
from depaudit.names import canonical_name as canonicalize_name

# packaging is imported where a requirement is parsed: it costs ~15 ms of imports, and the rule
# subjects import this module on every `depaudit scan` (measured with -X importtime).
if TYPE_CHECKING:
    from packaging.version import Version

# Every spelling pip accepts for the options we care about, mapped to one canonical name.
_OPTIONS = {
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "--no-index": "--no-index",
    "--pre": "--pre",
    "--prefer-binary": "--prefer-binary",
    "--trusted-host": "--trusted-host",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
    "-e": "--editable",
    "--editable": "--editable",
    "--use-feature": "--use-feature",
}
_FLAGS = {"--no-index", "--pre", "--prefer-binary"}
_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH = re.compile(r"\s--hash[=\s]+(\S+)")


@dataclass(frozen=True)
class RequirementLine:
    """One logical line: an option (`option`, `value`) or a requirement (`name`, `requirement`)."""

    line: int
    end_line: int
    raw: str
    option: str | None = None
    value: str | None = None
    name: str | None = None
    requirement: str | None = None
    specifier: str = ""
    marker: str | None = None
    hashes: tuple[str, ...] = ()
    url: str | None = None  # a direct reference: `name @ URL`, or a bare URL / path line

    @property
    def pinned_version(self) -> str | None:
        """The version of an exact `==X` pin (without wildcard), else None."""
        match = re.fullmatch(r"==(?!=)\s*([^,*\s]+)", self.specifier.strip())  # not ===, arbitrary equality
        return match.group(1) if match else None

    @property
    def url_version(self) -> str | None:
        """The version in a direct reference's wheel file name (`2.1.0+cu121`), else None."""
        wheel = _wheel_of(self.url)
        return str(wheel[1]) if wheel else None


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    text: str
    lines: tuple[RequirementLine, ...]

    def options(self, name: str) -> tuple[RequirementLine, ...]:
        return tuple(entry for entry in self.lines if entry.option == name)

    @property
    def requirements(self) -> tuple[RequirementLine, ...]:
        return tuple(entry for entry in self.lines if entry.name is not None)


def load_requirements(path: str | Path) -> RequirementsFile:
    """Read and parse a requirements file. Raises InputError (path:line) for what pip would reject."""
    path = Path(path)
    text = read_text(path, "requirements file")
    return parse_requirements(text, path)


def parse_requirements(text: str, path: str | Path = "requirements.txt") -> RequirementsFile:
    """Parse requirements text. Raises InputError naming the line of an invalid requirement/option."""
    out = []
    for first, last, logical in _logical_lines(text.removeprefix("\ufeff")):  # pip ignores a BOM too
        stripped = _COMMENT.sub("", logical).strip()
        if not stripped:
            continue
        if stripped.startswith("-"):
            out.append(_option(stripped, first, last, logical, path))
        else:
            out.append(_requirement(stripped, first, last, logical, path))
    return RequirementsFile(str(path), text, tuple(out))


def _logical_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(first line, last line, joined text) per logical line; a trailing backslash continues a line."""
    physical = text.splitlines()
    i = 0
    while i < len(physical):
        first = i
        parts: list[str] = []
        line = physical[i]
        while line.endswith("\\") and not _COMMENT.search(line[:-1]) and i + 1 < len(physical):
            parts.append(line[:-1])
            i += 1
            line = physical[i]
        parts.append(line)
        yield first + 1, i + 1, " ".join(parts)
        i += 1


def _option(stripped: str, first: int, last: int, raw: str, path: str | Path) -> RequirementLine:
    if stripped.startswith("--"):
        match = re.match(r"(--[A-Za-z-]+)(?:=|\s+|$)(.*)$", stripped)
        flag, value = (match.group(1), match.group(2)) if match else (stripped, "")
    else:  # -r FILE, -rFILE, -r=FILE
        flag, value = stripped[:2], stripped[2:].lstrip("=")
    value = value.strip() or None
    canonical = _OPTIONS.get(flag)
    if canonical is None:
        return RequirementLine(first, last, raw, option=flag, value=value)
    if canonical not in _FLAGS and not value:
        raise InputError(path, f"{flag} needs a value", first)
    return RequirementLine(first, last, raw, option=canonical, value=value)


def _requirement(stripped: str, first: int, last: int, raw: str, path: str | Path) -> RequirementLine:
    hashes = tuple(_HASH.findall(" " + stripped))
    spec = re.split(r"\s--?[A-Za-z]", " " + stripped, maxsplit=1)[0].strip()
    if re.match(r"^(\.|/|[A-Za-z][A-Za-z0-9+.-]*://)", spec):  # a bare path or URL requirement
        location, _, marker = spec.partition(";")
        wheel = _wheel_of(location.strip())
        egg = re.search(r"#(?:.*&)?egg=([A-Za-z0-9][A-Za-z0-9._-]*)", location)
        name = wheel[0] if wheel else canonicalize_name(egg.group(1)) if egg else None
        return RequirementLine(
            first,
            last,
            raw,
            name=name,
            requirement=spec,
            marker=_marker(marker.strip(), path, first),
            hashes=hashes,
            url=location.strip(),
        )
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise InputError(path, f"invalid requirement {excerpt(spec)}: {first_line(exc)}", first) from None
    return RequirementLine(
        first,
        last,
        raw,
        name=canonicalize_name(req.name),
        requirement=spec,
        specifier=str(req.specifier),
        marker=str(req.marker) if req.marker else None,
        hashes=hashes,
        url=req.url,
    )


def _marker(text: str, path: str | Path, line: int) -> str | None:
    """A marker in packaging's normal spelling (as `Requirement` gives it), None when empty."""
    if not text:
        return None
    from packaging.markers import InvalidMarker, Marker

    try:
        return str(Marker(text))
    except InvalidMarker as exc:
        raise InputError(path, f"invalid marker {excerpt(text)}: {first_line(exc)}", line) from None


def _wheel_of(url: str | None) -> tuple[str, Version] | None:
    """(canonical name, version) from the wheel file name a URL or path ends with, else None."""
    if not url:
        return None
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion

    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return canonicalize_name(name), version
