"""DA507: a change to the lock installs an accelerator package on a target where the base installed
none (`depaudit diff --fail-on-new-accelerator`)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class NewAcceleratorRule(BudgetRule):
    id = "DA507"
    summary = "the change brings a new accelerator package"
    kind = "new-accelerator"
