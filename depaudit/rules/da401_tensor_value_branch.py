"""DA401: Python control flow on a tensor's value (`if x.mean() > 0.5:`). Tracing exporters keep only
the side the example input took; torch.export refuses it. Found as torch.export's data-dependent guard
(GuardOnDataDependentSymNode / draft_export) or the tracer's "Converting a tensor to a Python boolean"."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import VALUE_BRANCH, Hazard


@register
class TensorValueBranchRule(HazardRule):
    id = "DA401"
    severity = "error"
    summary = "branch on a tensor value (the export keeps one side)"

    kind = VALUE_BRANCH

    def message(self, hazard: Hazard) -> str:
        return (
            f"branch on a tensor value `{hazard.code}` ({hazard.detail}; found by {hazard.found_by}): the "
            "exported graph holds only the side the example input took; use torch.where or torch.cond"
        )
