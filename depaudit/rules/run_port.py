"""The model export-readiness family (DA4xx): its rule base class and its runner over what `depaudit port` found: the entry point
`depaudit.port` calls. Torch-free: torch's own machinery (torch.export, draft_export, the tracer) finds
the hazards in `depaudit.port.probe`; the rules here only decide which ones to report and how (the
subject, `PortSubject`, and its `Hazard`s are in `depaudit.rules.subjects`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from depaudit.model import Finding
from depaudit.rules.base import Rule
from depaudit.rules.engine import run
from depaudit.rules.subjects import Hazard, PortSubject


class HazardRule(Rule[PortSubject]):
    """A DA4xx rule: one finding, at the user's line, per hazard of its `kind`, worded by `message`."""

    kind: ClassVar[str]

    def message(self, hazard: Hazard) -> str:
        """What the finding says about `hazard`."""
        raise NotImplementedError

    def check(self, subject: PortSubject) -> Iterator[Finding]:
        for hazard in subject.of_kind(self.kind):
            yield self.finding(self.message(hazard), hazard.path, hazard.line)


def port_findings(subject: PortSubject, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Finding]:
    """Every DA4xx finding for `subject` through the one rule engine: `select`/`ignore` prefixes, then
    the model source's inline pragmas (`# depaudit: ignore=DA4NN` on the line or the comment lines
    directly above it, or `ignore-file=`), sorted by path and line."""
    return run("DA4", subject, select, ignore)
