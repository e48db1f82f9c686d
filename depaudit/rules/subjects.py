"""What each rule family checks, as typed values. Dockerfile rules (DA3xx) check a
`depaudit.analysis.docker_stages.DockerSubject`; the others are here.

Every subject can say which source texts it already holds and which lines a statement spans, so the
engine applies inline pragmas without reading a file twice (see `depaudit.rules.engine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from depaudit.budgets import BudgetCheck
from depaudit.model import Lock, SizeReport
from depaudit.sources.pyproject import Pyproject
from depaudit.sources.requirements import RequirementsFile


@dataclass(frozen=True)
class LockSubject:
    """What lock rules (DA1xx) check: the parsed lock, its scan report, the path of the project's
    pyproject.toml when one sits beside the lock, and that file parsed (None when there is none)."""

    lock: Lock
    report: SizeReport
    pyproject: Path | None = None
    project: Pyproject | None = None

    def source_texts(self) -> Mapping[str, str]:
        """The texts this subject holds, by path (the pyproject's; the lock's text is not kept)."""
        return {self.project.path: self.project.text} if self.project is not None else {}

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """Lock and pyproject findings name single lines."""
        return line, line


@dataclass(frozen=True)
class ProjectSubject:
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


@dataclass(frozen=True)
class BudgetSubject:
    """What budget rules (DA5xx) check: the evaluated budget checks of one run (scan or gate)."""

    checks: tuple[BudgetCheck, ...]
    binary: bool = False

    def source_texts(self) -> Mapping[str, str]:
        """Budget checks hold no file text; pragmas are read from the files findings point at."""
        return {}

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """A check points at one line (a locked package, a settings key)."""
        return line, line
