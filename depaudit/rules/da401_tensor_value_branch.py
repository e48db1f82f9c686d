"""DA401: Python control flow on a tensor's value (`if x.mean() > 0.5:`). Tracing exporters keep only
the side the example input took; torch.export refuses it. Found as torch.export's data-dependent guard
(GuardOnDataDependentSymNode / draft_export) or the tracer's "Converting a tensor to a Python boolean"."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import VALUE_BRANCH, PortSubject


@register
class TensorValueBranchRule(Rule[PortSubject]):
    id = "DA401"
    severity = "error"
    summary = "branch on a tensor value (the export keeps one side)"

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(VALUE_BRANCH):
            yield self.finding(
                f"branch on a tensor value `{hazard.code}` ({hazard.detail}; found by {hazard.found_by}): the "
                "exported graph holds only the side the example input took; use torch.where or torch.cond",
                hazard.path,
                hazard.line,
            )
