"""DA505: a service variant's latency at an input size is over its budget (from a `depaudit bench`
report), or was not measured because the run failed."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class LatencyBudgetRule(BudgetRule):
    id = "DA505"
    summary = "service latency budget exceeded"
    kind = "latency"
