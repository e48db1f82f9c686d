"""Running the model export-readiness rules (DA4xx) over what `depaudit port` found: the entry point
`depaudit.port` calls. Torch-free: torch's own machinery (torch.export, draft_export, the tracer) finds
the hazards in `depaudit.port.probe`; the rules here only decide which ones to report and how."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from depaudit.model import Finding
from depaudit.rules.engine import run

# What torch reported, by kind; each DA4xx rule reports one kind.
VALUE_BRANCH = "value-branch"  # Python `if`/`while` on a tensor's value
TENSOR_TO_PYTHON = "tensor-to-python"  # int()/float()/bool()/.item() of a tensor
SHAPE_SPECIALISED = "shape-specialised"  # a dynamic axis turned into a constant by Python shape arithmetic
TENSOR_ASSERT = "tensor-assert"  # `assert` on a tensor
TENSOR_FROM_SHAPE = "tensor-from-shape"  # torch.tensor(...) of shape values: a constant in the trace
SHAPE_GUARD = "shape-guard"  # a Python condition on a dynamic shape, decided by the example input
EXPORT_REFUSED = "export-refused"  # an op the exporter refuses (fixed by a rewrite, or not)


@dataclass(frozen=True)
class Hazard:
    """One thing torch reported while capturing the model, at the user's `path:line`.

    `detail` is what torch said (the guard expression, the traced value, the op); `found_by` names the
    machinery (torch.export, draft_export, jit.trace, the ONNX exporter); `fix` is the rewrite depaudit
    applied (`fixed`) or the change it suggests.
    """

    kind: str
    path: str
    line: int | None
    code: str
    detail: str
    found_by: str
    fix: str = ""
    fixed: bool = False


@dataclass(frozen=True)
class PortSubject:
    """What DA4xx rules check: the hazards found for one model, and the dynamic axes it was asked for."""

    model: str
    hazards: tuple[Hazard, ...]
    dynamic_axes: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> list[Hazard]:
        """The hazards of one kind, in the order torch reported them."""
        return [h for h in self.hazards if h.kind == kind]

    def source_texts(self) -> Mapping[str, str]:
        """None held: the engine reads the model's source files for pragmas."""
        return {}

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """torch names the line a statement starts on."""
        return line, line


def port_findings(subject: PortSubject, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Finding]:
    """Every DA4xx finding for `subject` through the one rule engine: `select`/`ignore` prefixes, then
    the model source's inline pragmas (`# depaudit: ignore=DA4NN` on the line or the comment lines
    directly above it, or `ignore-file=`), sorted by path and line."""
    return run("DA4", subject, select, ignore)


def where(hazard: Hazard) -> str:
    """`path:line` of a hazard (the path alone when torch gave no line)."""
    return f"{hazard.path}:{hazard.line}" if hazard.line else hazard.path
