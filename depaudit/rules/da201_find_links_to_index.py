"""DA201: `-f/--find-links` names a PEP 503 index, which pip cannot read as a links page."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.index_urls import is_pep503_index
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import ProjectSubject


@register
class FindLinksToIndexRule(Rule[ProjectSubject]):
    id = "DA201"
    severity = "error"
    summary = "-f/--find-links pointing at a PEP 503 index"
    fixable = True

    def check(self, subject: ProjectSubject) -> Iterator[Finding]:
        if subject.requirements is None:
            return
        for option in subject.requirements.options("--find-links"):
            if option.value and is_pep503_index(option.value):
                yield self.finding(
                    f"-f {option.value} is a PEP 503 index, not a find-links page: pip finds no wheels "
                    f"there and installs torch from PyPI (CUDA on Linux); use --extra-index-url",
                    subject.path,
                    option.line,
                )
