"""DA301: the final image builds on a CUDA or `-devel` base image although the service runs on CPU."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.docker_stages import DockerSubject, is_cuda_image, is_devel_image, shipping_stages
from depaudit.model import Finding
from depaudit.rules.base import Rule, register


@register
class CudaBaseImageRule(Rule[DockerSubject]):
    id = "DA301"
    severity = "error"
    summary = "CUDA or -devel base image for a CPU service"

    def check(self, subject: DockerSubject) -> Iterator[Finding]:
        df = subject.dockerfile
        root = shipping_stages(df)[0]
        image = root.base
        if is_cuda_image(image):
            what = "a CUDA image"
        elif is_devel_image(image):
            what = "a -devel image (compilers and headers)"
        else:
            return
        shown = image if image == root.image else f"{root.image} = {image}"
        yield self.finding(
            f"final image builds on {what}: {shown}; a CPU service needs a slim base (e.g. python:3.11-slim)",
            df.path,
            root.line,
        )
