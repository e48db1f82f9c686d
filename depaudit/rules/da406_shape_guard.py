"""DA406: a Python condition on a dynamic axis (`if x.shape[-1] % 2 == 1: pad`). The exporter decides it
once with the example input; the exported graph holds only that side, so other sizes on the dynamic
axis silently skip (or take) the guarded code. Found as a torch.export shape guard whose frame is the
user's code (ShapeEnv guards), or draft_export's added guard."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import SHAPE_GUARD, PortSubject


@register
class ShapeGuardRule(Rule[PortSubject]):
    id = "DA406"
    severity = "error"
    summary = "shape guard decided by the example input (no-op in the export)"

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(SHAPE_GUARD):
            yield self.finding(
                f"`{hazard.code}` is decided at export time ({hazard.detail}; found by {hazard.found_by}): "
                "inputs on the other side of it run the wrong code in ONNX Runtime; make the axis static or "
                "write the condition with tensor ops (torch.where, torch.cond)",
                hazard.path,
                hazard.line,
            )
