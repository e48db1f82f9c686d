"""DA501: a target's download is over its budget, or cannot be shown to be within it because a wheel's
size is unknown (offline, no size in the lock)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class DownloadBudgetRule(BudgetRule):
    id = "DA501"
    summary = "download budget exceeded on a target"
    kind = "download"
