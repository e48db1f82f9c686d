"""DA102: torch arrives only through another package, so no `[tool.uv.sources]` entry can bind to it."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.torch_reach import torch_reach
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import LockSubject


@register
class TransitiveTorchRule(Rule[LockSubject]):
    id = "DA102"
    severity = "warning"
    summary = "torch reached only transitively (a CPU source cannot bind to it)"
    fixable = True

    def check(self, subject: LockSubject) -> Iterator[Finding]:
        project = subject.project
        installed = {p.name for t in subject.report.targets if t.supported for p in t.packages}
        for item in torch_reach(subject.lock, project.name if project else None):
            if not item.only_transitive or item.name not in installed:
                continue
            _ref, via = item.transitive_in[0]
            path, line = subject.lock.path, None
            if project is not None:
                first = next((d for d in project.declared if d.name == via[0]), None)
                path, line = project.path, first.line if first else None
            version = f" {item.version}" if item.version else ""
            yield self.finding(
                f"{item.name}{version} is reached only through {' -> '.join(via[:-1])}; [tool.uv.sources] "
                f"binds direct dependencies only, so it keeps the default (CUDA on Linux) build: declare "
                f"{item.name} directly (`depaudit fix --to cpu-index` does)",
                path,
                line,
            )
