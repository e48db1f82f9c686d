"""DA408: random numbers drawn inside forward (`torch.rand*`, `randn*`, `randint`, `bernoulli`,
`multinomial`, `normal`, dropout in train mode, `uniform_`...). torch gives a different answer on every
call, and ONNX Runtime's random ops draw other numbers than torch's generator, so no runtime can be shown
to match the model. Found by running the example twice and recording, at the aten dispatch, the user's
line of every random op."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import RANDOM_OP, Hazard


@register
class RandomOpRule(HazardRule):
    id = "DA408"
    severity = "error"
    summary = "random numbers drawn inside forward"

    kind = RANDOM_OP

    def message(self, hazard: Hazard) -> str:
        return (
            f"`{hazard.code}` draws random numbers ({hazard.detail}; found by {hazard.found_by}): torch gives "
            "another answer on every call and ONNX Runtime draws other numbers; pass the noise in as an input "
            "(the caller draws it), or seed it inside (a torch.Generator made in forward) if only torch must repeat"
        )
