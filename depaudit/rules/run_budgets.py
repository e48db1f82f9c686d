"""The budget family (DA5xx): its rule base class and its runner. A budget check that does not pass
(exceeded, or not verifiable because a size is unknown) becomes a finding of its kind's rule, so budgets
reach SARIF, `gnu` output and `--select`/`--ignore` like every other finding. Inline pragmas do not
silence a budget (uv rewrites locks, and a budget is a decision about the whole project): set, raise or
`--ignore` it instead. The checks themselves are made in depaudit.budgets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from depaudit.budgets import BudgetCheck, CheckKind
from depaudit.model import Finding
from depaudit.rules.base import Rule
from depaudit.rules.config import PathRule
from depaudit.rules.engine import PragmaIndex, run
from depaudit.rules.subjects import BudgetSubject


class BudgetRule(Rule[BudgetSubject]):
    """A rule reporting the failing checks of one kind; subclasses set `kind` and the rule fields."""

    severity = "error"
    kind: ClassVar[CheckKind]

    def check(self, subject: BudgetSubject) -> Iterator[Finding]:
        for item in subject.checks:
            if item.check == self.kind and not item.passed:
                yield self.finding(item.message(subject.binary), item.path, item.line, target=item.target)


def budget_findings(
    checks: Sequence[BudgetCheck],
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    *,
    binary: bool = False,
    per_path: Sequence[PathRule] = (),
) -> list[Finding]:
    """The DA5xx findings of `checks` (through the engine: select/ignore apply, pragmas do not)."""
    return run(
        "DA5",
        BudgetSubject(tuple(checks), binary),
        select,
        ignore,
        per_path=per_path,
        pragmas=PragmaIndex(enabled=False),
    )
