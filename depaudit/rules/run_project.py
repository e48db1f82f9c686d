"""What runs on a project file: the project-configuration rules (DA2xx) over a pyproject.toml or a
requirements file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from depaudit.model import Finding
from depaudit.rules.config import PathRule
from depaudit.rules.engine import run
from depaudit.rules.subjects import ProjectSubject
from depaudit.sources.pyproject import load_pyproject
from depaudit.sources.requirements import load_requirements


def is_requirements_name(name: str) -> bool:
    """True for the names pip users give requirements files: `*.txt` / `*.in` (requirements.txt,
    requirements-dev.in, constraints.txt, ...)."""
    return name.endswith((".txt", ".in"))


def load_subject(path: str | Path) -> ProjectSubject:
    """Parse `path` (pyproject.toml, or requirements*.txt/.in). Raises InputError when invalid."""
    path = Path(path)
    if is_requirements_name(path.name):
        return ProjectSubject(str(path), requirements=load_requirements(path))
    return ProjectSubject(str(path), pyproject=load_pyproject(path))


def project_findings(
    path: str | Path, select: Sequence[str] = (), ignore: Sequence[str] = (), per_path: Sequence[PathRule] = ()
) -> list[Finding]:
    """Every DA2xx finding for one project file, filtered by `select`/`ignore` and inline pragmas.
    Raises InputError for an unreadable/invalid file."""
    return run("DA2", load_subject(path), select, ignore, per_path=per_path)
