"""Rule framework shared by lock (DA1xx), project-config (DA2xx) and Dockerfile (DA3xx) rules.

A rule is a module-level class registered with `@register`; it has an ID that is never renumbered or
reused, a default severity, a one-line summary, whether `depaudit fix` can repair it, and a `check()`
that yields Findings for one subject (a lock report, a project, a parsed Dockerfile — the rule family
decides). Rule modules are imported by `load_rules()`, so registering is just defining the class.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from depaudit.model import SEVERITY_ORDER, Finding

RULE_ID = re.compile(r"^DA[1234]\d\d$")
_IGNORE = re.compile(r"#[ \t]*depaudit:[ \t]*ignore[ \t]*=[ \t]*((?:DA\d{3})(?:[ \t]*,[ \t]*DA\d{3})*)", re.IGNORECASE)


class Rule:
    """Base class of every rule. Subclasses set the class attributes and implement `check`."""

    id: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    fixable: ClassVar[bool] = False

    def check(self, subject: Any) -> Iterable[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    def finding(self, message: str, path: str, line: int | None = None, **extra: Any) -> Finding:
        """A Finding of this rule with its ID, default severity and fixability."""
        return Finding(self.id, self.severity, message, path, line, fixable=self.fixable, **extra)


_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: add a rule to the registry. Rejects malformed or duplicate IDs."""
    if not RULE_ID.match(cls.id):
        raise ValueError(f"bad rule id {cls.id!r}")
    if cls.severity not in SEVERITY_ORDER:
        raise ValueError(f"{cls.id}: bad severity {cls.severity!r}")
    if cls.id in _REGISTRY and _REGISTRY[cls.id] is not cls:
        raise ValueError(f"duplicate rule id {cls.id}")
    _REGISTRY[cls.id] = cls
    return cls


def load_rules(prefix: str = "DA") -> None:
    """Import the `depaudit.rules.da*` modules whose IDs start with `prefix` (all by default) so their
    rules register themselves. Importing only one family keeps `scan` from loading Dockerfile rules."""
    import depaudit.rules as package

    stem = prefix.lower()
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("da") and (info.name.startswith(stem) or stem.startswith(info.name[:5])):
            importlib.import_module(f"{package.__name__}.{info.name}")


def rules(prefix: str = "DA") -> list[Rule]:
    """Instances of every registered rule whose ID starts with `prefix`, sorted by ID."""
    load_rules(prefix)
    return [_REGISTRY[rid]() for rid in sorted(_REGISTRY) if rid.startswith(prefix)]


def rule_ids() -> list[str]:
    load_rules()
    return sorted(_REGISTRY)


def ignored_ids(text: str) -> set[str]:
    """Rule IDs named by an inline `# depaudit: ignore=DA301,DA302` comment in `text`."""
    ids: set[str] = set()
    for match in _IGNORE.finditer(text):
        ids.update(part.strip().upper() for part in match.group(1).split(",") if part.strip())
    return ids


def at_or_above(findings: Iterable[Finding], threshold: str) -> Iterator[Finding]:
    """The findings whose severity is at least `threshold` ("info" < "warning" < "error")."""
    floor = SEVERITY_ORDER[threshold]
    return (f for f in findings if SEVERITY_ORDER[f.severity] >= floor)


@dataclass(frozen=True)
class RuleDoc:
    id: str
    severity: str
    summary: str
    fixable: bool


def describe() -> list[RuleDoc]:
    """A row per registered rule, for `depaudit rules` and the docs index."""
    load_rules()
    return [RuleDoc(c.id, c.severity, c.summary, c.fixable) for _, c in sorted(_REGISTRY.items())]


@dataclass(frozen=True)
class LockSubject:
    """What lock rules (DA1xx) check: the parsed lock, its scan report, and the project's pyproject.toml
    path when one sits beside the lock (None otherwise)."""

    lock: Any  # depaudit.model.Lock
    report: Any  # depaudit.model.SizeReport
    pyproject: Any = None  # pathlib.Path | None
