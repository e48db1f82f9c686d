"""DA302: torch is installed from the default index, which on Linux brings the CUDA build."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.dockerfile import TORCH_FAMILY, DockerSubject, installed_specs, torch_source
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class TorchWithoutCpuIndexRule(Rule):
    id = "DA302"
    severity = "error"
    summary = "torch installed without a CPU index"
    fixable = True

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        seen: set[tuple[int, int, str]] = set()
        for item in installed_specs(subject):
            if item.name not in TORCH_FAMILY or torch_source(item, subject) != "pypi":
                continue
            ins = item.install.instruction
            key = (ins.line, item.install.verb.start, item.name)
            if key in seen:
                continue
            seen.add(key)
            via = f" (from {item.via})" if item.via else ""
            # The fixer can add an index option to pip/uv pip; `uv sync` is fixed in pyproject.toml.
            fixable = item.install.tool in ("pip", "uv") and ins.exec_form is None
            yield Finding(
                self.id, self.severity,
                f"{item.name}{via} is installed from PyPI, which ships the CUDA build on Linux "
                "(several GB of nvidia-* wheels); use the CPU index "
                "(--index-url https://download.pytorch.org/whl/cpu) or a +cpu pin",
                df.path, ins.line, fixable=fixable)
