"""DA305: the whole build context is copied before dependencies are installed, so any code change
re-runs the (slow, large) install."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, copy_sources
from depaudit.analysis.install_commands import python_installs, system_installs
from depaudit.model import Finding
from depaudit.rules.base import Rule, register

WHOLE_CONTEXT = {".", "./", "*", "./*", "./."}


@register
class CopyContextBeforeInstallRule(Rule[DockerSubject]):
    id = "DA305"
    severity = "warning"
    summary = "COPY . before the dependency install (cache busting)"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        installs = [(i.instruction, "pip/uv install") for i in python_installs(df) if i.installs_dependencies]
        installs += [(i.instruction, f"{i.manager} install") for i in system_installs(df)]
        for stage in df.stages:
            for copy in stage.instructions:
                if copy.keyword not in ("COPY", "ADD") or copy.flag("from") is not None:
                    continue
                sources, _ = copy_sources(copy)
                if not any(s in WHOLE_CONTEXT for s in sources):
                    continue
                later = [(ins, what) for ins, what in installs if ins.stage == stage.index and ins.line > copy.line]
                if later:
                    ins, what = later[0]
                    yield self.finding(
                        f"{copy.keyword} {' '.join(sources)} comes before the {what} on line {ins.line}: "
                        "every code change re-installs the dependencies; copy the dependency files "
                        "first, install, then copy the code",
                        df.path,
                        copy.line,
                    )
