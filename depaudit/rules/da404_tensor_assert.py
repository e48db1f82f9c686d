"""DA404: `assert` on a tensor inside forward. The check runs once at export time on the example input
and is gone from the exported graph: ONNX Runtime never checks it. Found as torch.export's
data-dependent guard (or the tracer's Python-boolean warning) on an `assert` statement."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import TENSOR_ASSERT, Hazard


@register
class TensorAssertRule(HazardRule):
    id = "DA404"
    severity = "warning"
    summary = "assert on a tensor (dropped from the exported graph)"

    kind = TENSOR_ASSERT

    def message(self, hazard: Hazard) -> str:
        return (
            f"`{hazard.code}` ({hazard.detail}; found by {hazard.found_by}) is evaluated once at export "
            "and not in the exported graph; validate inputs before calling the model, or use torch._check"
        )
