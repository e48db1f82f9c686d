"""Running the lock rules (DA1xx) over one scanned lock: the entry point `depaudit scan` calls."""

from __future__ import annotations

from pathlib import Path

from depaudit.errors import InputError
from depaudit.fileio import read_text
from depaudit.model import Finding
from depaudit.rules.base import LockSubject, ignored_ids, rules


def lock_findings(subject: LockSubject) -> list[Finding]:
    """Every DA1xx finding for `subject` (lock + scan report + optional pyproject path), plus the DA2xx
    findings of that pyproject.toml, sorted by rule and line. A finding on a line carrying
    `# depaudit: ignore=DANNN` is dropped. Raises InputError when the pyproject is invalid."""
    found: list[Finding] = []
    for rule in rules("DA1"):
        found.extend(rule.check(subject))
    if project_of(subject) is not None:
        from depaudit.rules.projectcheck import project_findings

        found.extend(project_findings(subject.pyproject))
    return sorted(_not_ignored(found), key=lambda f: (f.rule, f.path, f.line or 0, f.target or ""))


def project_of(subject: LockSubject):
    """The parsed pyproject.toml of the subject (None when there is none). Cached on the subject."""
    cached = getattr(subject, "_depaudit_pyproject", None)
    if cached is not None:
        return cached or None
    project = None
    if subject.pyproject is not None and Path(subject.pyproject).exists():
        from depaudit.sources.pyproject import load_pyproject

        project = load_pyproject(subject.pyproject)
    object.__setattr__(subject, "_depaudit_pyproject", project or False)
    return project


def _not_ignored(findings: list[Finding]) -> list[Finding]:
    cache: dict[str, list[str]] = {}
    kept = []
    for finding in findings:
        if finding.line:
            if finding.path not in cache:
                try:
                    cache[finding.path] = read_text(finding.path, "file").splitlines()
                except InputError:
                    cache[finding.path] = []
            lines = cache[finding.path]
            if 0 < finding.line <= len(lines) and finding.rule in ignored_ids(lines[finding.line - 1]):
                continue
        kept.append(finding)
    return kept
