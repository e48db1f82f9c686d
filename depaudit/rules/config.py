"""Which rules run, as values: rule ID prefixes (`rule_prefixes`), per-path entries (`PathRule`) and
one command's resolved selection (`RuleConfig`). They are read from the command line, the environment
and `[tool.depaudit]` by depaudit.settings:

    [tool.depaudit]
    ignore = ["DA202"]                 # every command that reports findings

    [tool.depaudit.lint]
    select = ["DA2", "DA3"]            # `depaudit lint` only (replaces the [tool.depaudit] value)

    [tool.depaudit.lint.per-path]      # findings in files matching a glob (relative to pyproject.toml)
    "docker/Dockerfile.torch-cuda" = { ignore = ["DA301", "DA302", "DA310"] }
    "**/requirements*.txt" = { select = ["DA201"] }

A per-path entry narrows further for the files its glob matches: its `ignore` drops rules there and its
`select` keeps only those rules there. A glob without `/` matches a file name in any folder; `**` matches
any number of folders. Rules the command line pins (its `--select`, the DA5xx rules of budgets it sets)
run whatever a file leaves out (`RuleConfig.pinned`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from depaudit.errors import DepauditError, UsageError
from depaudit.model import Finding
from depaudit.rules.base import FAMILIES, rule_ids

_PREFIX = re.compile(r"^DA\d{1,3}$")


def rule_prefixes(
    values: Iterable[str], where: str, error: Callable[[str], DepauditError] = UsageError
) -> tuple[str, ...]:
    """Validated rule IDs or prefixes (`DA3`, `DA30`, `DA302`) from repeated and/or comma- or
    space-separated values, upper-cased. Raises `error` (UsageError by default) naming `where` for a
    value that is not a prefix of any rule."""
    known = rule_ids()
    out: list[str] = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not _PREFIX.match(part) or not any(rid.startswith(part) for rid in known):
                families = ", ".join(f"{p}xx {name}" for p, name in FAMILIES.items())
                raise error(f"{where}: {part!r} is not a rule ID or prefix ({families})")
            out.append(part)
    return tuple(dict.fromkeys(out))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a path glob: `*` and `?` stay within a folder, `**/` matches any folders."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


class PathRule(NamedTuple):
    """Rule prefixes selected/ignored for the files a glob matches (relative to `root`)."""

    pattern: str
    root: Path
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        """True when `path` (absolute, or relative to the working folder) matches the glob."""
        resolved = Path(path).resolve()
        try:
            relative = resolved.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            relative = Path(path).as_posix()
        subject = relative if "/" in self.pattern else relative.rsplit("/", 1)[-1]
        return glob_regex(self.pattern.strip("/")).match(subject) is not None

    def allows(self, finding: Finding) -> bool:
        """False when this entry drops `finding` (its path matches and the rule is left out)."""
        if not (self.select or self.ignore) or not self.matches(finding.path):
            return True
        if self.select and not finding.rule.startswith(self.select):
            return False
        return not (self.ignore and finding.rule.startswith(self.ignore))


class RuleConfig(NamedTuple):
    """The resolved rule selection of one command, with where each part came from. `pinned`: prefixes
    of rules that run whatever `ignore`, `select` or a per-path entry of a file says (the command line's
    choices); `effective()` folds them in."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path: tuple[PathRule, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    pinned: tuple[str, ...] = ()

    def effective(self) -> RuleConfig:
        """The same selection with the pinned rules kept everywhere: added to every `select`, and taken
        out of every `ignore` prefix that covers one (that prefix becomes the other IDs it covers)."""
        if not self.pinned:
            return self
        pinned = self.pinned
        select = _plus(self.select, pinned) if self.select else ()
        per_path = tuple(
            PathRule(p.pattern, p.root, _plus(p.select, pinned) if p.select else (), _minus(p.ignore, pinned))
            for p in self.per_path
        )
        return RuleConfig(select, _minus(self.ignore, pinned), per_path, self.sources, ())


def _plus(prefixes: tuple[str, ...], pinned: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*prefixes, *pinned]))


def _overlaps(prefix: str, pinned: tuple[str, ...]) -> bool:
    return any(prefix.startswith(p) or p.startswith(prefix) for p in pinned)


def _minus(prefixes: tuple[str, ...], pinned: tuple[str, ...]) -> tuple[str, ...]:
    """`prefixes` without the pinned rules: a prefix that covers one becomes the other IDs it covers."""
    if not any(_overlaps(p, pinned) for p in prefixes):
        return prefixes
    out = [p for p in prefixes if not _overlaps(p, pinned)]
    out += [r for p in prefixes if _overlaps(p, pinned) for r in rule_ids(p) if not r.startswith(pinned)]
    return tuple(dict.fromkeys(out))
