"""Inline ignore comments (pragmas), one grammar for every file kind depaudit reads: Dockerfiles,
pyproject.toml, requirements files, locks and Python source all use `#` comments.

    RUN pip install torch  # depaudit: ignore=DA302          same line
    # depaudit: ignore=DA302 DA304 GPU build on purpose       the comment line(s) directly above
    # depaudit: ignore-file=DA301                             the whole file

Several IDs are separated by spaces or commas; words after the last ID are a free-form reason. A
pragma counts only inside a comment: after a `#` that starts the line or follows whitespace, outside
quotes (text a build echoes or a TOML string holds silences nothing). A statement spanning several lines (a Dockerfile instruction with continuations, a requirement with `\\`)
is silenced by a pragma on any of its lines or in the comment block directly above its first line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

# One line at a time, so a pragma never swallows the next line.
_PRAGMA = re.compile(r"#\s*depaudit\s*:\s*(ignore-file|ignore)\s*=\s*(.*)$", re.IGNORECASE)
_LEADING_IDS = re.compile(r"^(?:[\s,]*DA\d{3}\b)+", re.IGNORECASE)
_ID = re.compile(r"DA\d{3}", re.IGNORECASE)
_MENTION = re.compile(r"depaudit\s*:", re.IGNORECASE)


def _comment(line: str) -> str | None:
    """The comment of `line`: from the first `#` at the start or after whitespace that no quote (shell,
    TOML) encloses; None when the line has no comment."""
    quote = ""
    escaped = False
    previous = " "
    for i, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#" and previous.isspace():
            return line[i:]
        previous = char
    return None


def pragma_ids(line: str) -> tuple[str, frozenset[str]] | None:
    """("ignore" | "ignore-file", IDs) of a pragma in the comment of one line, or None when it has none."""
    comment = _comment(line)
    match = _PRAGMA.search(comment) if comment is not None else None
    if match is None:
        return None
    ids = _LEADING_IDS.match(match.group(2))
    if ids is None:
        return None
    return match.group(1).lower(), frozenset(i.upper() for i in _ID.findall(ids.group(0)))


class Pragmas(NamedTuple):
    """The pragmas of one file: IDs silenced per line, IDs silenced file-wide, and which lines hold
    only a comment (a pragma on such a line also covers the statement below it)."""

    by_line: Mapping[int, frozenset[str]] = MappingProxyType({})
    file_wide: frozenset[str] = frozenset()
    comment_lines: frozenset[int] = frozenset()

    def suppresses(self, rule: str, first: int | None, last: int | None = None) -> bool:
        """True when `rule` is silenced for the statement on lines `first`..`last` (1-based). A finding
        without a line is silenced only by a file-wide pragma."""
        if rule in self.file_wide:
            return True
        if first is None:
            return False
        for number in range(first, max(first, last or first) + 1):
            if rule in self.by_line.get(number, ()):
                return True
        above = first - 1
        while above in self.comment_lines:
            if rule in self.by_line.get(above, ()):
                return True
            above -= 1
        return False


NO_PRAGMAS = Pragmas()


def parse_pragmas(text: str) -> Pragmas:
    """Every pragma in `text` (any file kind with `#` comments)."""
    # Most files have none: skip the per-line pass. A plain substring test first: the case-insensitive
    # regex alone costs ~9 ms on a 2 MB lock, which every scan with a finding on the lock pays.
    if "depaudit" not in text.lower() or _MENTION.search(text) is None:
        return NO_PRAGMAS
    by_line: dict[int, frozenset[str]] = {}
    file_wide: set[str] = set()
    comments: set[int] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            comments.add(number)
        found = pragma_ids(line)
        if found is None:
            continue
        kind, ids = found
        if kind == "ignore-file":
            file_wide |= ids
        else:
            by_line[number] = ids
    return Pragmas(by_line, frozenset(file_wide), frozenset(comments))
