"""DA406: a Python condition on a dynamic axis (`if x.shape[-1] % 2 == 1: pad`). The exporter decides it
once with the example input; the exported graph holds only that side, so other sizes on the dynamic
axis silently skip (or take) the guarded code. Found as a torch.export shape guard whose frame is the
user's code (ShapeEnv guards), or draft_export's added guard."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import SHAPE_GUARD, Hazard


@register
class ShapeGuardRule(HazardRule):
    id = "DA406"
    severity = "error"
    summary = "shape guard decided by the example input (no-op in the export)"

    kind = SHAPE_GUARD

    def message(self, hazard: Hazard) -> str:
        return (
            f"`{hazard.code}` is decided at export time ({hazard.detail}; found by {hazard.found_by}): "
            "inputs on the other side of it run the wrong code in ONNX Runtime; make the axis static or "
            "write the condition with tensor ops (torch.where, torch.cond)"
        )
