"""DA402: a tensor converted to a Python number (`int(x.sum())`, `float(t)`, `t.item()`). The exporter
records the value it saw as a constant. Found as torch.export's data-dependent expression (an unbacked
symbol) or the tracer's "Converting a tensor to a Python integer/float"."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import TENSOR_TO_PYTHON, Hazard


@register
class TensorToPythonRule(HazardRule):
    id = "DA402"
    severity = "error"
    summary = "tensor converted to a Python number (baked in as a constant)"

    kind = TENSOR_TO_PYTHON

    def message(self, hazard: Hazard) -> str:
        return (
            f"tensor converted to a Python number in `{hazard.code}` ({hazard.detail}; found by "
            f"{hazard.found_by}): the exported graph keeps the example input's value as a constant; "
            "keep it a tensor"
        )
