"""DA302: torch is installed from the default index, which on Linux brings the CUDA build."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.analysis.install_commands import InstalledSpec, installed_specs, torch_origin
from depaudit.families import TORCH_FAMILY
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class TorchWithoutCpuIndexRule(Rule[DockerSubject]):
    id = "DA302"
    severity = "error"
    summary = "torch installed without a CPU index"
    fixable = True

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        groups: dict[int, list[InstalledSpec]] = {}
        origins: dict[int, str | None] = {}
        for item in installed_specs(subject):
            if item.name not in TORCH_FAMILY:
                continue
            kind, url = torch_origin(item, subject)
            if kind == "pypi":
                groups.setdefault(id(item.install), []).append(item)
                origins.setdefault(id(item.install), url)
        for key, items in groups.items():
            install = items[0].install
            ins = install.instruction
            names = ", ".join(dict.fromkeys(i.name for i in items))
            vias = sorted({i.via for i in items if i.via})
            via = f" (from {', '.join(vias)})" if vias else ""
            verb = "is" if len(items) == 1 else "are"
            measured = subject.run_sizes.get(ins.line)
            sizes = f" ({measured})" if measured else ""
            # The fixer can add an index option to pip / uv pip; `uv sync` is fixed in pyproject.toml.
            fixable = install.tool in ("pip", "uv") and ins.exec_form is None and ins.shell_ok
            locked = origins.get(key)
            where = "PyPI" if locked is None else f"{locked} (as uv.lock locks it)"
            yield Finding(
                self.id,
                self.severity,
                f"{names}{via} {verb} installed from {where}, which ships the CUDA build on Linux "
                f"(GBs of nvidia-* wheels){sizes}; use the CPU index "
                f"(--index-url {DEFAULT_CPU_INDEX_URL}) or a +cpu pin",
                df.path,
                ins.line,
                fixable=fixable,
            )
