"""DA404: `assert` on a tensor inside forward. The check runs once at export time on the example input
and is gone from the exported graph: ONNX Runtime never checks it. Found as torch.export's
data-dependent guard (or the tracer's Python-boolean warning) on an `assert` statement."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import TENSOR_ASSERT, PortSubject


@register
class TensorAssertRule(Rule[PortSubject]):
    id = "DA404"
    severity = "warning"
    summary = "assert on a tensor (dropped from the exported graph)"

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(TENSOR_ASSERT):
            yield self.finding(
                f"`{hazard.code}` ({hazard.detail}; found by {hazard.found_by}) is evaluated once at export "
                "and not in the exported graph; validate inputs before calling the model, or use torch._check",
                hazard.path,
                hazard.line,
            )
