"""DA103: a `[tool.uv.sources]` entry meant to take torch from a CPU index does not take effect."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from depaudit.analysis.index_urls import is_cuda_index, same_url
from depaudit.analysis.markers import MarkerError, MarkerEvaluator  # the scan's own: no packaging import
from depaudit.analysis.torch_reach import torch_reach
from depaudit.families import is_torch_family
from depaudit.model import Finding, InstallScope, Target
from depaudit.names import canonical_name
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
                    package=name,
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
            hits = [t.target.name for t in subject.report.targets if _marker_holds(entry.marker, t.target)]
            if hits:
                yield self.finding(
                    f"tool.uv.sources.{name} also points at '{index.name}' ({index.url}), which "
                    f"applies on {', '.join(hits)}: the CUDA build comes back there",
                    project.path,
                    line,
                    package=name,
                )

    def _stale(
        self, subject: LockSubject, project: Pyproject, name: str, entries: Sequence[UvSource], line: int | None
    ) -> Iterator[Finding]:
        """A CPU source that applies (its extra or group selected, its marker true for the target) while
        the scan installs `name` there from another index: the lock predates the source. An entry that
        applies to no scanned target must still have its build in the lock somewhere."""
        bound = [(e, i) for e in entries if e.index and (i := project.index_named(e.index)) is not None]
        cpu = [(e, i) for e, i in bound if not is_cuda_index(i.url, i.name)]
        if not cpu:
            return
        scope = subject.report.scope
        applied: set[int] = set()
        for report in subject.report.targets:
            installed = next((p for p in report.packages if p.name == name), None) if report.supported else None
            if installed is None or installed.package.source.kind != "registry":
                continue
            applying = [(e, i) for e, i in bound if _applies(e, scope, report.target)]
            cpu_here = [(e, i) for e, i in applying if not is_cuda_index(i.url, i.name)]
            applied.update(id(e) for e, _ in cpu_here)
            url = installed.package.source.value
            if not cpu_here or any(same_url(url, i.url) for _, i in applying):
                continue  # no CPU source applies to this install, or the lock took the one that does
            entry, index = cpu_here[0]
            yield self.finding(
                f"pyproject.toml takes {name} from {index.url}{_condition(entry)} but {subject.lock.path} locks "
                f"{name} {installed.package.version} from {url} for {report.target.name}: the source did not "
                "bind (re-run `uv lock`)",
                project.path,
                line,
                package=name,
            )
            return
        for entry, index in cpu:
            if id(entry) in applied:
                continue
            locked = [p for p in subject.lock.packages if p.name == name and p.source.kind == "registry"]
            if locked and not any(same_url(p.source.value, index.url) for p in locked):
                yield self.finding(
                    f"pyproject.toml takes {name} from {index.url}{_condition(entry)} but {subject.lock.path} "
                    f"holds no {name} from that index: the source did not bind (re-run `uv lock`)",
                    project.path,
                    line,
                    package=name,
                )
                return


def _applies(entry: UvSource, scope: InstallScope, target: Target) -> bool:
    """True when a `[tool.uv.sources]` entry applies to the scanned install on `target`: its `extra` or
    `group` is selected and its `marker` holds there (an unreadable marker counts as holding)."""
    fields = dict(entry.fields)
    extra, group = fields.get("extra"), fields.get("group")
    if isinstance(extra, str) and canonical_name(extra) not in scope.extras:
        return False
    if isinstance(group, str) and canonical_name(group) not in scope.groups:
        return False
    return _marker_holds(entry.marker, target)


def _condition(entry: UvSource) -> str:
    """` (under extra cpu)`, ` (where sys_platform == 'linux')` or "" for an unconditional entry."""
    fields = dict(entry.fields)
    parts = [f"{kind} {fields[kind]}" for kind in ("extra", "group") if isinstance(fields.get(kind), str)]
    if entry.marker:
        parts.append(f"where {entry.marker}")
    return f" ({', '.join(parts)})" if parts else ""


def _marker_holds(marker: str | None, target: Target) -> bool:
    if not marker:
        return True
    try:
        return MarkerEvaluator(target.marker_environment)(marker)
    except MarkerError:  # unreadable, or names an undefined variable
        return True  # assume it applies: report rather than hide
