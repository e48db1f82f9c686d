"""DA403: shape values unpacked into Python numbers that feed ops (`s = int(math.sqrt(n))`,
`for i in range(h)`) turn an axis asked to be dynamic into a constant. Found as torch.export's
specialisation of the dynamic dimension (a guard `Eq(s, N)` at the user's line)."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import SHAPE_SPECIALISED, PortSubject


@register
class ShapeSpecialisedRule(Rule[PortSubject]):
    id = "DA403"
    severity = "error"
    summary = "shape unpacked into Python numbers fixes a dynamic axis"

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(SHAPE_SPECIALISED):
            yield self.finding(
                f"`{hazard.code}` turns a dynamic axis into a constant ({hazard.detail}; found by "
                f"{hazard.found_by}); {hazard.fix or 'compute with tensor ops or torch.sym_* instead'}",
                hazard.path,
                hazard.line,
            )
