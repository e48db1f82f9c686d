"""DA509: an image's layers carry more wasted bytes (files a later layer deletes or overwrites) than its
budget (`depaudit image scan --max-waste`)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_budgets import BudgetRule


@register
class ImageWasteBudgetRule(BudgetRule):
    id = "DA509"
    summary = "image wasted-bytes budget exceeded"
    kind = "image-waste"
