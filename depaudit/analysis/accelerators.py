"""Which packages are accelerator (GPU) runtimes, by family rather than by suffix.

CUDA 12 wheels carry `-cu12`, CUDA 13 ones mostly drop it (`nvidia-cublas`, `cuda-bindings`), and new
names appear with every CUDA release, so matching families (prefixes and known names) is what keeps
working.

One labelling rule serves uv.lock and pylock.toml alike: a torch-family package is `torch-cuda` (or
`torch-rocm`, `torch-xpu`) only when its *own* wheel is an accelerator build —

- its version's local label says so (`2.8.0+cu128`, `+rocm6.2`, `+xpu`), or
- it is PyPI's unlabelled build — a wheel the target installs — and its own dependencies, as active
  for the target, pull CUDA runtime wheels (`nvidia-*`, `cuda-*`, `triton` with a wheel the target
  installs): PyPI's Linux torch is a CUDA build that shows only that way.

Never because it depends on another torch-family package: torchvision or torchdata next to a CUDA
torch are not themselves CUDA builds by this rule. uv.lock records each package's edges, so the second
case is read off them. pylock.toml records none; there it relies on what PyPI publishes: of the torch
family only `torch` itself names CUDA runtime wheels in its metadata, and those are binary wheels, so an
unlabelled torch is a CUDA build when the target installs a binary (platform-specific) CUDA runtime
wheel. A pure-Python helper such as `cuda-pathfinder` on macOS does not count. The one case the two
formats can disagree on: a target where another package pulls binary CUDA wheels beside a CPU torch
(e.g. onnxruntime-gpu[cuda] on Windows) — uv.lock's edges tell, a pylock cannot.
"""

from __future__ import annotations

# The definitions live in depaudit.families; TORCH_FAMILY and is_cpu_build are re-exported from here.
from depaudit.families import TORCH_FAMILY as TORCH_FAMILY
from depaudit.families import is_cpu_build as is_cpu_build
from depaudit.families import local_label_family, name_family

_RUNTIME_FAMILIES = frozenset({"nvidia", "cuda", "triton"})
_NVML_BINDINGS = frozenset({"pynvml", "nvidia-ml-py", "nvidia-ml-py3"})  # pure Python, not CUDA runtime
CUDA_CARRIERS: frozenset[str] = frozenset({"torch"})
"""Torch-family packages whose PyPI metadata itself requires CUDA runtime wheels (the pylock rule)."""


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


def is_cuda_runtime(name: str) -> bool:
    """True for a CUDA runtime wheel a PyPI torch build pulls (`nvidia-*`, `cuda-*`, `triton`), not
    for NVML's pure-Python bindings. `name` must be PEP 503 normalised."""
    return name not in _NVML_BINDINGS and accelerator_family(name) in _RUNTIME_FAMILIES


def torch_build_label(name: str, version: str | None, pulls_cuda_runtime: bool, *, edges_known: bool) -> str | None:
    """ "torch-cuda" for a torch-family package without an accelerator local label whose own build is a
    CUDA one (see the module docstring), else None. `pulls_cuda_runtime`: with `edges_known` (uv.lock),
    whether the package's own active edges reach a CUDA runtime wheel; without (pylock.toml), whether
    the target installs a binary CUDA runtime wheel, which counts only for `CUDA_CARRIERS`."""
    if name not in TORCH_FAMILY or not pulls_cuda_runtime:
        return None
    if version and "+" in version:
        return None  # a local label that is not an accelerator one (`+cpu`): a build of its own kind
    if not edges_known and name not in CUDA_CARRIERS:
        return None
    return "torch-cuda"
