"""Helpers for the Dockerfile rule tests: lint a Dockerfile given as text (with build-context files
beside it) or a fixture under tests/fixtures/dockerfiles/."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.lint import lint_dockerfile

DOCKERFILES = Path(__file__).parent.parent / "fixtures" / "dockerfiles"


@pytest.fixture
def lint_text(tmp_path):
    """lint_text(text, files={"requirements.txt": "..."}, rule="DA302") -> [(line, rule), ...]."""

    def run(text: str, files: dict[str, str] | None = None, rule: str | None = None, **kwargs):
        for name, content in (files or {}).items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(content)
        path = tmp_path / "Dockerfile"
        path.write_text(text)
        findings = lint_dockerfile(path, context=tmp_path, **kwargs)
        return [(f.line, f.rule) for f in findings if rule is None or f.rule == rule]

    return run


@pytest.fixture
def lint_fixture():
    """lint_fixture("caches.Dockerfile", rule="DA304") -> [(line, rule), ...]."""

    def run(name: str, rule: str | None = None):
        findings = lint_dockerfile(DOCKERFILES / name)
        return [(f.line, f.rule) for f in findings if rule is None or f.rule == rule]

    return run
