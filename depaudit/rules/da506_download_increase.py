"""DA506: a change to the lock grows a target's download by more than the `max-increase` budget (or the
growth cannot be verified because a size the change adds is unknown)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class DownloadIncreaseRule(BudgetRule):
    id = "DA506"
    summary = "download grows by more than the max-increase budget"
    kind = "download-increase"
