"""DA402: a tensor converted to a Python number (`int(x.sum())`, `float(t)`, `t.item()`). The exporter
records the value it saw as a constant. Found as torch.export's data-dependent expression (an unbacked
symbol) or the tracer's "Converting a tensor to a Python integer/float"."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import TENSOR_TO_PYTHON, PortSubject


@register
class TensorToPythonRule(Rule[PortSubject]):
    id = "DA402"
    severity = "error"
    summary = "tensor converted to a Python number (baked in as a constant)"

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(TENSOR_TO_PYTHON):
            yield self.finding(
                f"tensor converted to a Python number in `{hazard.code}` ({hazard.detail}; found by "
                f"{hazard.found_by}): the exported graph keeps the example input's value as a constant; "
                "keep it a tensor",
                hazard.path,
                hazard.line,
            )
