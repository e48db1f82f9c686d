"""DA308: tinygrad ships in the final image but clang does not: tinygrad's CPU device compiles kernels
with clang at run time and fails with "no usable devices" without it."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, shipped_stages, shipping_stages
from depaudit.analysis.install_commands import CLANG, installed_specs, system_installs
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class TinygradWithoutClangRule(Rule[DockerSubject]):
    id = "DA308"
    severity = "error"
    summary = "tinygrad runtime without clang"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        tiny = [s for s in installed_specs(subject, shipped_stages(df)) if s.name == "tinygrad"]
        if not tiny:
            return
        if any(CLANG.match(p) for i in system_installs(df, shipping_stages(df)) for p in i.packages):
            return
        base = shipping_stages(df)[0].base or ""
        if "clang" in base.lower():
            return
        yield self.finding(
            f"tinygrad (installed on line {tiny[0].install.instruction.line}) needs clang in the final "
            "stage to compile CPU kernels; install clang there (apt-get install --no-install-recommends clang)",
            df.path,
            df.final_stage.line,
        )
