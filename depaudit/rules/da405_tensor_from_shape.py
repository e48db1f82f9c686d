"""DA405: a tensor built inside forward from Python numbers (`torch.tensor(x.shape[-1])`,
`torch.tensor([h, w])`). The TorchScript tracer records it as a constant, so it stays the example
input's size when an axis is dynamic. Found by the tracer's "torch.tensor results are registered as
constants" warning at the user's line."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import TENSOR_FROM_SHAPE, Hazard


@register
class TensorFromShapeRule(HazardRule):
    id = "DA405"
    severity = "warning"
    summary = "tensor created from shapes in forward (a constant in the trace)"

    kind = TENSOR_FROM_SHAPE

    def message(self, hazard: Hazard) -> str:
        return (
            f"`{hazard.code}` builds a tensor from Python numbers ({hazard.detail}; found by "
            f"{hazard.found_by}); a traced export keeps it constant; derive it with tensor ops "
            "(x.new_tensor is traced the same way; torch.arange(x.shape[-1]) or x.size() ops are not)"
        )
