"""DA409: the exported ONNX graph is invalid: `onnx.checker.check_model(full_check=True)` rejects it
(a shape-inference error such as `Inferred shape and existing shape differ`, a type error), or ONNX
Runtime refuses to load it. Found at the model's line of the node the message names (the dynamo
exporter records each node's Python stack)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import INVALID_GRAPH, Hazard


@register
class InvalidGraphRule(HazardRule):
    id = "DA409"
    severity = "error"
    summary = "exported ONNX graph rejected by onnx.checker or ONNX Runtime"

    kind = INVALID_GRAPH

    def message(self, hazard: Hazard) -> str:
        return (
            f"`{hazard.code}`: {hazard.detail} (found by {hazard.found_by}); runtimes that check the graph may refuse "
            f"model.onnx; {hazard.fix}"
        )
