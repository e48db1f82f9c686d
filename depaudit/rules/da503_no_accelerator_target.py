"""DA503: a target named as CPU-only (`no-accelerator-targets`) installs accelerator wheels."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class NoAcceleratorTargetRule(BudgetRule):
    id = "DA503"
    summary = "a target that must install no accelerator wheel installs one"
    kind = "no-accelerator"
