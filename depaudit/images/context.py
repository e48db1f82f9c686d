"""The build context as `docker build` sends it: the files under the context folder that `.dockerignore`
does not exclude, with their sizes, and what a COPY/ADD source names among them.

`.dockerignore` follows the engine's rules: one pattern a line, `#` comments, `!` re-includes, patterns
cleaned and anchored at the context root, `*` and `?` within one path segment, `**` across any number of
them, and a path excluded when it or one of its parent folders matches (the last matching pattern wins).

Nothing outside the context is read: symbolic links are recorded as links (sized by their target, as the
engine sizes them), never followed, and a file is read only when it is a regular file inside the folder.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from depaudit.errors import InputError
from depaudit.fileio import read_text

MAX_CONTEXT_FILES = 2_000_000
READ_LIMIT = 4_000_000  # requirement files and scripts a prediction reads from the context


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    regex: re.Pattern[str]
    include: bool  # a `!` exception


def _translate(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith(("!", "^")) else body).replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(ch))
        i += 1
    return "^" + "".join(out) + "$"


def parse_dockerignore(text: str) -> list[IgnoreRule]:
    """The rules of a `.dockerignore` text, in order."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        if include:
            line = line[1:].strip()
        cleaned = posixpath.normpath(line).lstrip("/")
        if cleaned in ("", "."):
            continue
        rules.append(IgnoreRule(cleaned, re.compile(_translate(cleaned)), include))
    return rules


def _parents_and_self(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def excluded(path: str, rules: list[IgnoreRule]) -> bool:
    """True when `.dockerignore` keeps `path` (relative to the context root) out of the context."""
    out = False
    candidates = _parents_and_self(path)
    for rule in rules:
        if any(rule.regex.match(c) for c in candidates):
            out = not rule.include
    return out


def _may_reinclude(directory: str, rules: list[IgnoreRule]) -> bool:
    """Whether an exception could bring back something under an excluded `directory`."""
    for rule in rules:
        if not rule.include:
            continue
        literal = re.split(r"[*?\[\\]", rule.pattern, maxsplit=1)[0]
        if literal.startswith(directory + "/") or (directory + "/").startswith(literal) or not literal:
            return True
    return False


@dataclass
class BuildContext:
    """The files of a build context (relative posix path -> bytes), read once when first asked."""

    root: Path
    rules: list[IgnoreRule] = field(default_factory=list)

    @classmethod
    def open(cls, root: Path) -> BuildContext:
        """The context at `root`, with its `.dockerignore`. Raises InputError when `root` is no folder
        or its `.dockerignore` cannot be read."""
        if not root.is_dir():
            raise InputError(root, "build context: not a directory")
        ignore = root / ".dockerignore"
        rules = parse_dockerignore(read_text(ignore, ".dockerignore")) if ignore.is_file() else []
        return cls(root, rules)

    @cached_property
    def files(self) -> dict[str, int]:
        """Every file the context sends (symbolic links sized by their target, folders not listed)."""
        found: dict[str, int] = {}
        for folder, dirs, names in os.walk(self.root, followlinks=False):
            rel_folder = os.path.relpath(folder, self.root)
            rel_folder = "" if rel_folder == "." else rel_folder.replace(os.sep, "/")
            keep = []
            for name in sorted(dirs):
                rel = posixpath.join(rel_folder, name) if rel_folder else name
                if os.path.islink(os.path.join(folder, name)):
                    if not excluded(rel, self.rules):
                        found[rel] = len(os.readlink(os.path.join(folder, name)))
                elif not excluded(rel, self.rules) or _may_reinclude(rel, self.rules):
                    keep.append(name)
            dirs[:] = keep
            for name in names:
                rel = posixpath.join(rel_folder, name) if rel_folder else name
                if excluded(rel, self.rules):
                    continue
                info = os.lstat(os.path.join(folder, name))
                found[rel] = (
                    len(os.readlink(os.path.join(folder, name))) if stat.S_ISLNK(info.st_mode) else info.st_size
                )
                if len(found) > MAX_CONTEXT_FILES:
                    raise InputError(self.root, f"build context holds more than {MAX_CONTEXT_FILES:,} files")
        return found

    @cached_property
    def _dirs(self) -> set[str]:
        dirs = {""}
        for path in self.files:
            parts = path.split("/")[:-1]
            for i in range(len(parts)):
                dirs.add("/".join(parts[: i + 1]))
        return dirs

    def is_dir(self, path: str) -> bool:
        return path in self._dirs

    def expand(self, source: str) -> list[str]:
        """Context paths (files or folders) a COPY/ADD source names: a path, or a pattern whose `*`, `?`
        and `[...]` stay within one path segment. `.` is the whole context."""
        cleaned = posixpath.normpath(source).lstrip("/")
        if cleaned.startswith(".."):
            return []
        cleaned = "" if cleaned == "." else cleaned
        if not re.search(r"[*?\[]", cleaned):
            return [cleaned] if cleaned in self.files or self.is_dir(cleaned) else []
        regex = re.compile("^" + _translate(cleaned).lstrip("^").replace(".*", "[^/]*"))
        candidates = set(self.files) | self._dirs
        return sorted(p for p in candidates if p and regex.match(p))

    def under(self, folder: str) -> list[tuple[str, int]]:
        """(path relative to `folder`, bytes) of every file under a context folder."""
        prefix = folder + "/" if folder else ""
        return [(path[len(prefix) :], size) for path, size in self.files.items() if path.startswith(prefix)]

    def read(self, path: str) -> str | None:
        """The text of a regular file of the context (None: absent, excluded, a link, not inside, too big
        or not UTF-8)."""
        if path not in self.files:
            return None
        full = self.root / path
        try:
            if not stat.S_ISREG(os.lstat(full).st_mode):
                return None
            if not os.path.realpath(full).startswith(os.path.realpath(self.root) + os.sep):
                return None
            return read_text(full, "build-context file", limit=READ_LIMIT)
        except (OSError, InputError):
            return None
