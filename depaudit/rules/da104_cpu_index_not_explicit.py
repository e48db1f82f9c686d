"""DA104: the PyTorch CPU index is declared without `explicit = true`."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.index_urls import is_cuda_index, is_pytorch_index
from depaudit.families import is_torch_family
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import LockSubject


@register
class CpuIndexNotExplicitRule(Rule[LockSubject]):
    id = "DA104"
    severity = "warning"
    summary = "PyTorch index not marked explicit"
    fixable = True

    def check(self, subject: LockSubject) -> Iterator[Finding]:
        project = subject.project
        if project is None:
            return
        torch_indexes = {s.index for s in project.sources if s.index and is_torch_family(s.package)}
        for index in project.indexes:
            pytorch = is_pytorch_index(index.url) or index.name in torch_indexes
            if not pytorch or index.explicit or is_cuda_index(index.url, index.name):
                continue
            yield self.finding(
                f"index '{index.name}' ({index.url}) is not explicit: uv searches it for every package, before "
                f"PyPI, so other packages can resolve from the PyTorch index; add `explicit = true`",
                project.path,
                index.line,
            )
