"""DA502: a target's accelerator wheels are over their budget (with a budget of 0: any accelerator
wheel at all), or cannot be shown to be within it because a size is unknown."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class AcceleratorBudgetRule(BudgetRule):
    id = "DA502"
    summary = "accelerator-wheel budget exceeded on a target"
    kind = "accelerator"
