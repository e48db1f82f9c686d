"""DA310: CUDA installed twice: a CUDA base image plus CUDA wheels (nvidia-* packages or a CUDA torch)."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, is_cuda_image, shipped_stages, shipping_stages
from depaudit.analysis.install_commands import installed_specs, torch_source
from depaudit.families import CUDA_FAMILIES, TORCH_FAMILY, name_family
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class CudaInstalledTwiceRule(Rule[DockerSubject]):
    id = "DA310"
    severity = "error"
    summary = "CUDA installed twice (CUDA base image plus nvidia-* wheels)"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        root = shipping_stages(df)[0]
        if not is_cuda_image(root.base):
            return
        for item in installed_specs(subject, shipped_stages(df)):
            cuda_wheel = name_family(item.name) in CUDA_FAMILIES
            cuda_torch = item.name in TORCH_FAMILY and torch_source(item, subject) in ("pypi", "cuda")
            if cuda_wheel or cuda_torch:
                what = item.name if cuda_wheel else f"{item.name} (CUDA build, pulls nvidia-* wheels)"
                yield self.finding(
                    f"{what} brings its own CUDA libraries on top of the CUDA base image {root.base}; "
                    "one copy is dead weight (GBs)",
                    df.path,
                    item.install.instruction.line,
                )
                return
