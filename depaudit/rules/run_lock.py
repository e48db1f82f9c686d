"""What runs on a scanned lock: the lock rules (DA1xx), plus the project-configuration rules (DA2xx) of
the pyproject.toml beside it. The entry point `depaudit scan` and `depaudit lint uv.lock` call."""

from __future__ import annotations

from collections.abc import Sequence

from depaudit.model import Finding
from depaudit.rules.config import PathRule
from depaudit.rules.engine import PragmaIndex, run, sort_key
from depaudit.rules.subjects import LockSubject, ProjectSubject
from depaudit.sources.pyproject import load_pyproject


def with_project(subject: LockSubject) -> LockSubject:
    """`subject` with its pyproject.toml parsed (when a path is given, exists and is not parsed yet).
    Raises InputError when that file is invalid."""
    if subject.project is not None or subject.pyproject is None or not subject.pyproject.exists():
        return subject
    return subject._replace(project=load_pyproject(subject.pyproject))


def lock_findings(
    subject: LockSubject, select: Sequence[str] = (), ignore: Sequence[str] = (), per_path: Sequence[PathRule] = ()
) -> list[Finding]:
    """Every DA1xx finding for `subject` (lock + scan report + optional pyproject), plus the DA2xx
    findings of that pyproject.toml, filtered by `select`/`ignore` and inline pragmas, in the engine's
    order. Raises InputError when the pyproject is invalid."""
    subject = with_project(subject)
    pragmas = PragmaIndex()
    found = run("DA1", subject, select, ignore, per_path=per_path, pragmas=pragmas)
    if subject.project is not None:
        project = ProjectSubject(subject.project.path, pyproject=subject.project)
        found += run("DA2", project, select, ignore, per_path=per_path, pragmas=pragmas)
    return sorted(dict.fromkeys(found), key=sort_key)
