"""Which packages are accelerator (GPU) runtimes, by family rather than by suffix.

CUDA 12 wheels carry `-cu12`, CUDA 13 ones mostly drop it (`nvidia-cublas`, `cuda-bindings`), and new
names appear with every CUDA release, so matching families (prefixes and known names) is what keeps
working. A torch-family package is an accelerator build when its local version says so (`+cu128`,
`+rocm6.2`), or — for PyPI's Linux torch, which carries no local version — when the target installs it
together with CUDA runtime wheels it depends on (see `analysis.install_set`).
"""

from __future__ import annotations

# The definitions live in depaudit.families; TORCH_FAMILY and is_cpu_build are re-exported from here.
from depaudit.families import TORCH_FAMILY as TORCH_FAMILY
from depaudit.families import is_cpu_build as is_cpu_build
from depaudit.families import local_label_family, name_family


def accelerator_family(name: str, version: str | None = None) -> str | None:
    """The accelerator family of a package (`"nvidia"`, `"cuda"`, `"triton"`, `"torch-cuda"`...), or None.

    `name` must be PEP 503 normalised. A torch-family package is an accelerator build only when its
    version's local label names one (`2.8.0+cu128`); PyPI's plain Linux torch is judged by the caller.
    """
    family = name_family(name)
    if family is not None:
        return family
    if version and name in TORCH_FAMILY:
        return local_label_family(version)
    return None

