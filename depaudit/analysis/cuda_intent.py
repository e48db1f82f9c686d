"""Whether a project asks for CUDA on purpose: what `depaudit fix --to cpu-index` refuses to undo without
`--force`, and what DA101's advice follows (budget the CUDA, or split a CPU target, rather than a fix that
would refuse)."""

from __future__ import annotations

from depaudit.analysis.index_urls import is_accelerator_name, is_cuda_index
from depaudit.families import is_torch_family
from depaudit.sources.pyproject import Pyproject


def cuda_intent(project: Pyproject) -> list[str]:
    """Reasons to believe the project asks for CUDA on purpose (a CUDA index or a CUDA extra)."""
    reasons = []
    for index in project.indexes:
        if is_cuda_index(index.url, index.name):
            reasons.append(f"{project.path}:{index.line or 1}: index '{index.name}' ({index.url}) serves CUDA builds")
    for extra in project.extras:
        if is_accelerator_name(extra) and any(is_torch_family(d.name) for d in project.declared_in(("extra", extra))):
            reasons.append(f"{project.path}: extra '{extra}' installs torch for CUDA")
    return reasons
