"""DA306: a model checkpoint is copied before the dependency install, or in the same COPY as code,
so a new checkpoint re-runs the install or a code change re-uploads hundreds of MB."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, copy_sources, is_checkpoint_path
from depaudit.analysis.install_commands import python_installs
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class CheckpointLayerRule(Rule[DockerSubject]):
    id = "DA306"
    severity = "warning"
    summary = "model checkpoint copied before dependencies or with the code"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        installs = [i.instruction for i in python_installs(df) if i.installs_dependencies]
        for stage in df.stages:
            for copy in stage.instructions:
                if copy.keyword not in ("COPY", "ADD") or copy.flag("from") is not None:
                    continue
                sources, _ = copy_sources(copy)
                ckpts = [s for s in sources if is_checkpoint_path(s)]
                if not ckpts:
                    continue
                others = [s for s in sources if s not in ckpts]
                later = [i for i in installs if i.stage == stage.index and i.line > copy.line]
                if later:
                    yield self.finding(
                        f"checkpoint {', '.join(ckpts)} is copied before the dependency install on line "
                        f"{later[0].line}; copy it in its own layer after the install",
                        df.path,
                        copy.line,
                    )
                elif others:
                    yield self.finding(
                        f"checkpoint {', '.join(ckpts)} is copied in one layer with {', '.join(others)}; "
                        "give the checkpoint its own COPY so code changes do not re-ship it",
                        df.path,
                        copy.line,
                    )
