"""DA504: a container image is bigger on disk than its budget."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class ImageSizeBudgetRule(BudgetRule):
    id = "DA504"
    summary = "image size budget exceeded"
    kind = "image-size"
