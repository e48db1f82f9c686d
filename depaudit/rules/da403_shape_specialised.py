"""DA403: shape values unpacked into Python numbers that feed ops (`s = int(math.sqrt(n))`,
`for i in range(h)`) turn an axis asked to be dynamic into a constant. Found as torch.export's
specialisation of the dynamic dimension (a guard `Eq(s, N)` at the user's line)."""

from __future__ import annotations

from depaudit.rules.base import register
from depaudit.rules.run_port import HazardRule
from depaudit.rules.subjects import SHAPE_SPECIALISED, Hazard


@register
class ShapeSpecialisedRule(HazardRule):
    id = "DA403"
    severity = "error"
    summary = "shape unpacked into Python numbers fixes a dynamic axis"

    kind = SHAPE_SPECIALISED

    def message(self, hazard: Hazard) -> str:
        return (
            f"`{hazard.code}` turns a dynamic axis into a constant ({hazard.detail}; found by "
            f"{hazard.found_by}); {hazard.fix or 'compute with tensor ops or torch.sym_* instead'}"
        )
