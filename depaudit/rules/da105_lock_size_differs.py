"""DA105: a wheel's `size` in the lock differs from the size its index lists (the lock was edited, or
made against another index): the budgets were checked with the index's number instead."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.sizes import size_mismatches
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import LockSubject
from depaudit.units import format_size


@register
class LockSizeDiffersRule(Rule[LockSubject]):
    id = "DA105"
    severity = "error"
    summary = "a wheel size in the lock differs from the index's"

    def check(self, subject: LockSubject) -> Iterator[Finding]:
        for item in size_mismatches(subject.report):
            yield self.finding(
                f"{subject.lock.path} gives {item.filename} a size of {item.lock_size:,} B; its index lists "
                f"{item.index_size:,} B ({format_size(item.index_size)}): the lock's number is wrong (edited, "
                f"or made against another index), and depaudit uses the index's",
                subject.lock.path,
                item.line,
            )
