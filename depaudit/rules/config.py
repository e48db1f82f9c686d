"""Which rules run: `select`/`ignore` from the command line, the environment and `[tool.depaudit]`,
and per-path rules from `[tool.depaudit.lint]`:

    [tool.depaudit]
    ignore = ["DA202"]                 # every command that reports findings

    [tool.depaudit.lint]
    select = ["DA2", "DA3"]            # `depaudit lint` only (replaces the [tool.depaudit] value)

    [tool.depaudit.lint.per-path]      # findings in files matching a glob (relative to pyproject.toml)
    "docker/Dockerfile.torch-cuda" = { ignore = ["DA301", "DA302", "DA310"] }
    "**/requirements*.txt" = { select = ["DA201"] }

`select` and `ignore` follow the settings precedence (command line > `DEPAUDIT_SELECT`/`DEPAUDIT_IGNORE`
> `[tool.depaudit.<command>]` > `[tool.depaudit]`). A per-path entry narrows further for the files its
glob matches: its `ignore` drops rules there and its `select` keeps only those rules there. A glob
without `/` matches a file name in any folder; `**` matches any number of folders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.logs import get_logger
from depaudit.model import Finding
from depaudit.rules.base import FAMILIES, rule_ids
from depaudit.settings import SettingSources, as_strings, project_settings, subtable

_PREFIX = re.compile(r"^DA\d{1,3}$")
log = get_logger(__name__)


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


@lru_cache(maxsize=256)
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


@dataclass(frozen=True)
class PathRule:
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


@dataclass(frozen=True)
class RuleConfig:
    """The resolved rule selection of one command, with where each part came from."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_path: tuple[PathRule, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()


def _prefixes_of(key: str, table: Mapping[str, Any], pyproject: Path | None, what: str) -> tuple[str, ...]:
    def error(message: str) -> DepauditError:
        return InputError(pyproject or "pyproject.toml", message)

    return rule_prefixes(as_strings(key, table[key], error), f"{what} {key}", error)


def _per_path(lint: Mapping[str, Any], pyproject: Path | None) -> tuple[PathRule, ...]:
    entries = subtable(lint, "per-path", pyproject)
    root = pyproject.parent if pyproject is not None else Path.cwd()
    out = []
    for pattern, entry in entries.items():
        where = f"[tool.depaudit.lint.per-path] {pattern!r}:"
        if not isinstance(entry, dict) or set(entry) - {"select", "ignore"}:
            raise InputError(pyproject or "pyproject.toml", f"{where} expected {{ select = [...], ignore = [...] }}")
        parts = {k: _prefixes_of(k, entry, pyproject, where) for k in ("select", "ignore") if k in entry}
        out.append(PathRule(pattern, root, parts.get("select", ()), parts.get("ignore", ())))
    return tuple(out)


def rule_config(
    command: str,
    cli_select: Iterable[str] = (),
    cli_ignore: Iterable[str] = (),
    pyproject: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> RuleConfig:
    """The rule selection of `command` (`lint`, `scan`, `gate`) from every layer. Raises UsageError
    for a bad ID on the command line or in the environment, InputError for one in the pyproject."""
    env = os.environ if environ is None else environ
    top = project_settings(pyproject)
    section = subtable(top, command, pyproject)
    merged: dict[str, Any] = {**top, **{k: section[k] for k in ("select", "ignore") if k in section}}
    values: dict[str, tuple[str, ...]] = {}
    sources: list[tuple[str, str]] = []
    for key, cli in (("select", tuple(cli_select)), ("ignore", tuple(cli_ignore))):
        found = SettingSources(merged, env, pyproject).winner(key, cli)
        if found is None:
            continue
        if found.origin == "pyproject":
            where = f"[tool.depaudit.{command}]" if key in section else "[tool.depaudit]"
            values[key] = _prefixes_of(key, merged, pyproject, where)
        else:
            raw = found.value if isinstance(found.value, (list, tuple)) else [str(found.value)]
            values[key] = rule_prefixes(raw, found.label)
        sources.append((key, found.label))
        log.info("%s: %s = %s from %s", command, key, ",".join(values[key]), found.label)
    per_path = _per_path(section, pyproject) if command == "lint" else ()
    return RuleConfig(values.get("select", ()), values.get("ignore", ()), per_path, tuple(sources))
