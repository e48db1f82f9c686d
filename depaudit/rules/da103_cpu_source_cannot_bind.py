"""DA103: a `[tool.uv.sources]` entry meant to take torch from a CPU index does not take effect."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from depaudit.analysis.index_urls import is_cuda_index, same_url
from depaudit.analysis.markers import MarkerError, MarkerEvaluator  # the scan's own: no packaging import
from depaudit.analysis.torch_reach import is_torch_family, torch_reach
from depaudit.model import Finding, Target
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import LockSubject
from depaudit.sources.pyproject import Pyproject, UvSource


@register
class CpuSourceCannotBindRule(Rule[LockSubject]):
    id = "DA103"
    severity = "error"
    summary = "a CPU index source that cannot bind (not a direct dependency, CUDA entry, stale lock)"
    fixable = True

    def check(self, subject: LockSubject) -> Iterator[Finding]:
        project = subject.project
        if project is None:
            return
        reach = {r.name: r for r in torch_reach(subject.lock, project.name)}
        cpu_names = {i.name for i in project.indexes if not is_cuda_index(i.url, i.name)}
        for name in sorted({s.package for s in project.sources if is_torch_family(s.package)}):
            entries = project.sources_for(name)
            if not any(e.index in cpu_names for e in entries):
                continue
            line = entries[0].line
            item = reach.get(name)
            if item is not None and item.only_transitive and not project.declares(name):
                yield self.finding(
                    f"tool.uv.sources.{name} is ignored: {name} is not a direct dependency "
                    f"(it comes through {item.transitive_in[0][1][0]}); declare it directly",
                    project.path,
                    line,
                )
            yield from self._cuda_entries(subject, project, name, entries, line)
            yield from self._stale(subject, project, name, entries, line)

    def _cuda_entries(
        self, subject: LockSubject, project: Pyproject, name: str, entries: Sequence[UvSource], line: int | None
    ) -> Iterator[Finding]:
        for entry in entries:
            index = project.index_named(entry.index) if entry.index else None
            conditional = any(k in ("extra", "group") for k, _ in entry.fields)
            if index is None or conditional or not is_cuda_index(index.url, index.name):
                continue
            hits = [t.target.name for t in subject.report.targets if _applies(entry.marker, t.target)]
            if hits:
                yield self.finding(
                    f"tool.uv.sources.{name} also points at '{index.name}' ({index.url}), which "
                    f"applies on {', '.join(hits)}: the CUDA build comes back there",
                    project.path,
                    line,
                )

    def _stale(
        self, subject: LockSubject, project: Pyproject, name: str, entries: Sequence[UvSource], line: int | None
    ) -> Iterator[Finding]:
        named = [project.index_named(e.index) for e in entries if e.index]
        cpu_urls = [index.url for index in named if index is not None and not is_cuda_index(index.url)]
        for package in subject.lock.packages:
            if package.name != name or package.source.kind != "registry" or not cpu_urls:
                continue
            if not any(same_url(package.source.value, url) for url in cpu_urls) and not is_cuda_index(
                package.source.value
            ):
                yield self.finding(
                    f"pyproject.toml takes {name} from {cpu_urls[0]} but {subject.lock.path} locks "
                    f"{name} {package.version} from {package.source.value}: the source did not "
                    f"bind (re-run `uv lock`)",
                    project.path,
                    line,
                )
                return


def _applies(marker: str | None, target: Target) -> bool:
    if not marker:
        return True
    try:
        return MarkerEvaluator(target.marker_environment)(marker)
    except MarkerError:  # unreadable, or names an undefined variable
        return True  # assume it applies: report rather than hide
