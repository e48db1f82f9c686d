"""The rule registry and the `Rule` base class every rule family uses: DA1xx lock, DA2xx project
configuration, DA3xx Dockerfile, DA4xx model export readiness, DA5xx budgets.

A rule is a module-level class registered with `@register`; it has an ID that is never renumbered or
reused, a default severity, a one-line summary, whether `depaudit fix` can repair it, and a `check()`
that yields Findings for one subject of its family's type (a `LockSubject`, `ProjectSubject`,
`DockerSubject`, ...). Rule modules (`depaudit/rules/daNNN_*.py`) are imported on demand by family, so
registering is just defining the class. The engine (`depaudit.rules.engine.run`) runs them.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar, Generic, NamedTuple, TypeVar

from depaudit.model import SEVERITY_ORDER, Finding

RULE_ID = re.compile(r"^DA[1-9]\d\d$")
FAMILIES: dict[str, str] = {
    "DA1": "lock",
    "DA2": "project configuration",
    "DA3": "Dockerfile",
    "DA4": "model export readiness",
    "DA5": "budget",
}
"""Rule families by ID prefix; each family's rules check one subject type."""

SubjectT = TypeVar("SubjectT")
_PACKAGE_DIR = Path(__file__).parent


class Rule(Generic[SubjectT]):
    """Base class of every rule. Subclasses set the class attributes and implement `check`."""

    id: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    fixable: ClassVar[bool] = False

    def check(self, subject: SubjectT) -> Iterable[Finding]:  # pragma: no cover - abstract
        """The findings of this rule for one subject."""
        raise NotImplementedError

    def finding(
        self,
        message: str,
        path: str,
        line: int | None = None,
        *,
        column: int | None = None,
        fixable: bool | None = None,
        target: str | None = None,
        package: str | None = None,
    ) -> Finding:
        """A Finding of this rule with its ID and default severity; fixable defaults to the rule's."""
        return Finding(
            self.id,
            self.severity,
            message,
            path,
            line,
            column,
            self.fixable if fixable is None else fixable,
            target,
            package,
        )


_REGISTRY: dict[str, type[Rule[object]]] = {}
_LOADED: set[str] = set()


def register(cls: type[Rule[SubjectT]]) -> type[Rule[SubjectT]]:
    """Class decorator: add a rule to the registry. Raises ValueError for a malformed ID or severity,
    or an ID another rule already holds."""
    if not RULE_ID.match(cls.id):
        raise ValueError(f"bad rule id {cls.id!r}")
    if cls.severity not in SEVERITY_ORDER:
        raise ValueError(f"{cls.id}: bad severity {cls.severity!r}")
    if cls.id in _REGISTRY and _REGISTRY[cls.id] is not cls:
        raise ValueError(f"duplicate rule id {cls.id}")
    _REGISTRY[cls.id] = cls  # type: ignore[assignment]  # the registry holds every subject type
    return cls


def load_rules(prefix: str = "DA") -> None:
    """Import the `depaudit.rules.da*` modules whose IDs start with `prefix` (all by default) so their
    rules register themselves. Importing only one family keeps `scan` from loading Dockerfile rules."""
    stem = prefix.lower()
    if stem in _LOADED or "da" in _LOADED:
        return
    # the folder's listing, not pkgutil.iter_modules (which imports inspect: ~5 ms of a scan's start-up)
    for name in sorted(f.removesuffix(".py") for f in os.listdir(_PACKAGE_DIR) if f.endswith(".py")):
        if name.startswith("da") and (name.startswith(stem) or stem.startswith(name[:5])):
            importlib.import_module(f"{__package__}.{name}")
    _LOADED.add(stem)


def rules(prefix: str = "DA") -> list[Rule[object]]:
    """Instances of every registered rule whose ID starts with `prefix`, sorted by ID."""
    load_rules(prefix)
    return [_REGISTRY[rid]() for rid in sorted(_REGISTRY) if rid.startswith(prefix)]


def rule_ids(prefix: str = "DA") -> list[str]:
    """Every registered rule ID starting with `prefix`, sorted."""
    load_rules(prefix)
    return [rid for rid in sorted(_REGISTRY) if rid.startswith(prefix)]


def at_or_above(findings: Iterable[Finding], threshold: str) -> Iterator[Finding]:
    """The findings whose severity is at least `threshold` ("info" < "warning" < "error")."""
    floor = SEVERITY_ORDER[threshold]
    return (f for f in findings if SEVERITY_ORDER[f.severity] >= floor)


class RuleDoc(NamedTuple):
    """What outputs say about a rule: ID, default severity, one-line summary, auto-fixable, and a
    name (the rule class's, without `Rule`: `TorchWithoutCpuIndex`)."""

    id: str
    severity: str
    summary: str
    fixable: bool
    name: str = ""


def describe(prefix: str = "DA") -> list[RuleDoc]:
    """A RuleDoc per registered rule whose ID starts with `prefix`, sorted by ID."""
    load_rules(prefix)
    return [
        RuleDoc(c.id, c.severity, c.summary, c.fixable, c.__name__.removesuffix("Rule"))
        for rid, c in sorted(_REGISTRY.items())
        if rid.startswith(prefix)
    ]


__all__ = [
    "FAMILIES",
    "Rule",
    "RuleDoc",
    "at_or_above",
    "describe",
    "load_rules",
    "register",
    "rule_ids",
    "rules",
]
