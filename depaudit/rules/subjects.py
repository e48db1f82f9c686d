"""What each rule family checks, as typed values: LockSubject (DA1xx), ProjectSubject (DA2xx),
PortSubject and its Hazards (DA4xx), BudgetSubject (DA5xx). Dockerfile rules (DA3xx) check a
`depaudit.analysis.docker_stages.DockerSubject`.

Every subject can say which source texts it already holds and which lines a statement spans, so the
engine applies inline pragmas without reading a file twice (see `depaudit.rules.engine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from depaudit.budgets import BudgetCheck
from depaudit.model import Lock, SizeReport

if TYPE_CHECKING:  # annotations only: a lock scan without a pyproject beside it never loads these parsers
    from depaudit.sources.pyproject import Pyproject
    from depaudit.sources.requirements import RequirementsFile


class LockSubject(NamedTuple):
    """What lock rules (DA1xx) check: the parsed lock, its scan report, the path of the project's
    pyproject.toml when one sits beside the lock, and that file parsed (None when there is none)."""

    lock: Lock
    report: SizeReport
    pyproject: Path | None = None
    project: Pyproject | None = None
    text: str | None = None  # the lock's text, when the caller has it (its pragmas are read from it)

    def source_texts(self) -> Mapping[str, str]:
        """The texts this subject holds, by path: the pyproject's, and the lock's when given."""
        texts = {self.project.path: self.project.text} if self.project is not None else {}
        if self.text is not None:
            texts[self.lock.path] = self.text
        return texts

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """Lock and pyproject findings name single lines."""
        return line, line


class ProjectSubject(NamedTuple):
    """What DA2xx rules check: one project file, parsed as pyproject.toml or as a requirements file
    (exactly one of the two is set)."""

    path: str
    pyproject: Pyproject | None = None
    requirements: RequirementsFile | None = None

    @property
    def text(self) -> str:
        """The file's text."""
        if self.pyproject is not None:
            return self.pyproject.text
        return self.requirements.text if self.requirements is not None else ""

    def runtime_dependencies(self) -> list[tuple[str, int | None]]:
        """(canonical name, line) of what a production install gets directly."""
        if self.pyproject is not None:
            return [(d.name, d.line) for d in self.pyproject.declared_in(("dependencies", None))]
        if self.requirements is not None:
            return [(r.name, r.line) for r in self.requirements.requirements if r.name is not None]
        return []

    def source_texts(self) -> Mapping[str, str]:
        """{path: text} of the one file."""
        return {self.path: self.text}

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """A requirement continued with `\\` spans several lines; anything else is one line."""
        if self.requirements is not None and path == self.path:
            for entry in self.requirements.lines:
                if entry.line <= line <= entry.end_line:
                    return entry.line, entry.end_line
        return line, line


class BudgetSubject(NamedTuple):
    """What budget rules (DA5xx) check: the evaluated budget checks of one run (scan or gate)."""

    checks: tuple[BudgetCheck, ...]
    binary: bool = False

    def source_texts(self) -> Mapping[str, str]:
        """Budget checks hold no file text; pragmas are read from the files findings point at."""
        return {}

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """A check points at one line (a locked package, a settings key)."""
        return line, line


# What torch reported, by kind; each DA4xx rule reports one kind.
VALUE_BRANCH = "value-branch"  # Python `if`/`while` on a tensor's value
TENSOR_TO_PYTHON = "tensor-to-python"  # int()/float()/bool()/.item() of a tensor
SHAPE_SPECIALISED = "shape-specialised"  # a dynamic axis turned into a constant by Python shape arithmetic
TENSOR_ASSERT = "tensor-assert"  # `assert` on a tensor
TENSOR_FROM_SHAPE = "tensor-from-shape"  # torch.tensor(...) of shape values: a constant in the trace
SHAPE_GUARD = "shape-guard"  # a Python condition on a dynamic shape, decided by the example input
EXPORT_REFUSED = "export-refused"  # an op the exporter refuses (fixed by a rewrite, or not)
RANDOM_OP = "random-op"  # random numbers drawn inside forward: torch disagrees with itself and with any runtime
INVALID_GRAPH = "invalid-graph"  # the exported ONNX fails onnx.checker or ONNX Runtime refuses to load it


class Hazard(NamedTuple):
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


class PortSubject(NamedTuple):
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
