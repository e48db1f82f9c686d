"""Running the project-config rules (DA2xx) over a pyproject.toml or a requirements file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depaudit.model import Finding
from depaudit.rules.base import ignored_ids, rules


@dataclass(frozen=True)
class ProjectSubject:
    """What DA2xx rules check: one project file, parsed as pyproject or requirements (the other None)."""

    path: str
    pyproject: object = None  # depaudit.sources.pyproject.Pyproject
    requirements: object = None  # depaudit.sources.requirements.RequirementsFile

    def runtime_dependencies(self) -> list[tuple[str, int | None]]:
        """(canonical name, line) of what a production install gets directly."""
        if self.pyproject is not None:
            return [(d.name, d.line) for d in self.pyproject.declared_in(("dependencies", None))]
        if self.requirements is not None:
            return [(r.name, r.line) for r in self.requirements.requirements]
        return []


def load_subject(path: str | Path) -> ProjectSubject:
    """Parse `path` (pyproject.toml, or requirements*.txt/.in). Raises InputError when invalid."""
    path = Path(path)
    if path.name.endswith((".txt", ".in")):
        from depaudit.sources.requirements import load_requirements

        return ProjectSubject(str(path), requirements=load_requirements(path))
    from depaudit.sources.pyproject import load_pyproject

    return ProjectSubject(str(path), pyproject=load_pyproject(path))


def project_findings(path: str | Path) -> list[Finding]:
    """Every DA2xx finding for one project file, sorted by line; lines carrying
    `# depaudit: ignore=DA2NN` drop that rule. Raises InputError for an unreadable/invalid file."""
    subject = load_subject(path)
    text = (subject.pyproject or subject.requirements).text
    lines = text.splitlines()
    found = []
    for rule in rules("DA2"):
        for finding in rule.check(subject):
            if finding.line and 0 < finding.line <= len(lines) and finding.rule in ignored_ids(lines[finding.line - 1]):
                continue
            found.append(finding)
    return sorted(found, key=lambda f: (f.line or 0, f.rule))
