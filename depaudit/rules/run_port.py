"""Running the model export-readiness rules (DA4xx) over what `depaudit port` found: the entry point
`depaudit.port` calls. Torch-free: torch's own machinery (torch.export, draft_export, the tracer) finds
the hazards in `depaudit.port.probe`; the rules here only decide which ones to report and how (the
subject, `PortSubject`, and its `Hazard`s are in `depaudit.rules.subjects`)."""

from __future__ import annotations

from collections.abc import Sequence

from depaudit.model import Finding
from depaudit.rules.engine import run
from depaudit.rules.subjects import PortSubject


def port_findings(subject: PortSubject, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Finding]:
    """Every DA4xx finding for `subject` through the one rule engine: `select`/`ignore` prefixes, then
    the model source's inline pragmas (`# depaudit: ignore=DA4NN` on the line or the comment lines
    directly above it, or `ignore-file=`), sorted by path and line."""
    return run("DA4", subject, select, ignore)
