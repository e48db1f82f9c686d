"""DA407: an op the exporter refuses (the TorchScript exporter on adaptive average pooling to a size
that does not divide the input; the dynamo exporter on ops with no ONNX translation). Where depaudit
knows a rewrite (adaptive pooling as explicit overlapping bins) it applies it before export and
verifies the result; otherwise it names the op and the user's line."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import EXPORT_REFUSED, PortSubject


@register
class ExportRefusedOpRule(Rule[PortSubject]):
    id = "DA407"
    severity = "warning"
    summary = "op the exporter refuses (rewritten or named)"
    fixable = True

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(EXPORT_REFUSED):
            action = f"depaudit applied: {hazard.fix}" if hazard.fixed else f"suggested: {hazard.fix}"
            yield self.finding(
                f"`{hazard.code}`: {hazard.detail} (found by {hazard.found_by}); {action}", hazard.path, hazard.line
            )
