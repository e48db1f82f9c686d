"""DA304: pip/uv caches or apt lists left in a layer of the final image."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, shipping_stages
from depaudit.analysis.install_commands import apt_lists_kept, python_installs
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.sources.dockerfile import Instruction


@register
class PackageCachesRule(Rule[DockerSubject]):
    id = "DA304"
    severity = "warning"
    summary = "pip/uv cache or apt lists left in a layer"
    fixable = True

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        stages = shipping_stages(df)
        for inst in python_installs(df, stages):
            if inst.no_cache or _cache_mounted(inst.instruction):
                continue
            exec_form = inst.instruction.exec_form is not None or not inst.instruction.shell_ok
            flag, var = (
                ("--no-cache-dir", "PIP_NO_CACHE_DIR=1") if inst.tool == "pip" else ("--no-cache", "UV_NO_CACHE=1")
            )
            what = " ".join(inst.command.argv[: inst.command.argv.index(inst.verb.value) + 1])
            yield Finding(
                self.id,
                self.severity,
                f"`{what}` keeps its download cache in the layer; add {flag} (or ENV {var})",
                df.path,
                inst.instruction.line,
                fixable=not exec_form,
            )
        for ins in apt_lists_kept(df, stages):
            yield Finding(
                self.id,
                self.severity,
                "apt-get install leaves /var/lib/apt/lists in the layer; "
                "add `&& rm -rf /var/lib/apt/lists/*` to the same RUN",
                df.path,
                ins.line,
                fixable=ins.exec_form is None and ins.shell_ok,
            )


def _cache_mounted(ins: Instruction) -> bool:
    # RUN --mount=type=cache keeps the cache out of the layer (BuildKit).
    return any(k == "mount" and v and "type=cache" in v for k, v in ins.flags)
