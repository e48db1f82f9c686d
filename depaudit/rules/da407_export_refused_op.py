"""DA407: an op the exporter refuses (the TorchScript exporter on adaptive average pooling to a size
that does not divide the input; the dynamo exporter on ops with no ONNX translation). Where depaudit
knows a rewrite (adaptive pooling as explicit overlapping bins) it applies it before export and
verifies the result; otherwise it names the op and the user's line."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import EXPORT_REFUSED, Hazard


@register
class ExportRefusedOpRule(HazardRule):
    id = "DA407"
    severity = "warning"
    summary = "op the exporter refuses (rewritten or named)"
    fixable = True

    kind = EXPORT_REFUSED

    def message(self, hazard: Hazard) -> str:
        action = f"depaudit applied: {hazard.fix}" if hazard.fixed else f"suggested: {hazard.fix}"
        return f"`{hazard.code}`: {hazard.detail} (found by {hazard.found_by}); {action}"
