"""DA303: a compiler toolchain stays in the final image (no multi-stage build, or installed in the
final stage and never removed). clang is exempt where tinygrad runs: it compiles kernels at run time."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, shipped_stages, shipping_stages
from depaudit.analysis.install_commands import CLANG, COMPILERS, installed_specs, system_installs, system_removals
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


def ships_tinygrad(subject: DockerSubject) -> bool:
    """True when tinygrad is installed in a stage whose files reach the final image."""
    return any(s.name == "tinygrad" for s in installed_specs(subject, shipped_stages(subject.dockerfile)))


@register
class FinalStageCompilersRule(Rule[DockerSubject]):
    id = "DA303"
    severity = "warning"
    summary = "compilers kept in the final image (single stage)"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        stages = shipping_stages(df)
        removed = set().union(*(pkgs for _, pkgs in system_removals(df, stages)))
        tinygrad = ships_tinygrad(subject)
        for inst in system_installs(df, stages):
            kept = [p for p in inst.packages if COMPILERS.match(p) and p not in removed]
            if tinygrad:
                kept = [p for p in kept if not CLANG.match(p)]
            if not kept:
                continue
            how = "single-stage build" if len(df.stages) == 1 else "installed in the final stage"
            yield self.finding(
                f"{', '.join(kept)} stay in the final image ({how}); build in a builder stage and copy only the result",
                df.path,
                inst.instruction.line,
            )
