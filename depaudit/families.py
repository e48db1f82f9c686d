"""Package families depaudit reasons about, defined once: the torch family (packages the PyTorch
indexes publish as CPU and accelerator builds of one version) and the accelerator runtime families
(CUDA, ROCm, XPU wheels), recognised by name and by local version label.

CUDA 12 wheels carry `-cu12`, CUDA 13 ones mostly drop it (`nvidia-cublas`, `cuda-bindings`), and new
names appear with every CUDA release, so matching families (prefixes and known names) is what keeps
working. Which *installed* package counts as an accelerator build (PyPI's Linux torch carries no local
label) is decided in `depaudit.analysis.accelerators` from these definitions.
"""

from __future__ import annotations

import re

from depaudit.names import canonical_name

TORCH_FAMILY: frozenset[str] = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "torchtext",
        "torchdata",
        "torchrec",
        "torch-tensorrt",
        "pytorch-triton",
        "torchao",
        "torchcodec",
        "fbgemm-gpu",
    }
)
"""Canonical names of the packages published on the PyTorch indexes in CPU and accelerator builds
(or, like pytorch-triton, only for accelerators): what a CPU-index fix must source, and what installed
from PyPI on Linux brings the CUDA build of torch."""

ACCELERATOR_NAME_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), family)
    for pattern, family in (
        (r"^nvidia-", "nvidia"),
        (r"^cuda-", "cuda"),
        (r"^(pytorch-)?triton(-rocm|-xpu)?$", "triton"),
        (r"^cupy-(cuda|rocm)", "cupy"),
        (r"^jax-cuda", "jax-cuda"),
        (r"^jax-rocm", "jax-rocm"),
        (r"^tensorrt", "tensorrt"),
        (r"^onnxruntime-(gpu|training-gpu)$", "onnxruntime-gpu"),
        (r"^tensorflow-gpu$", "tensorflow-gpu"),
        (r"^paddlepaddle-gpu$", "paddle-gpu"),
        (r"^(mxnet|cntk)-cu\d+", "cuda"),
        (r"^pynvml$|^nvidia-ml-py", "nvidia"),
    )
)
"""(pattern over the canonical name, family) of packages that are accelerator runtimes by name."""

CUDA_FAMILIES: frozenset[str] = frozenset({"nvidia", "cuda", "cupy", "jax-cuda", "tensorrt", "triton"})
"""Name families that ship CUDA libraries of their own (what a CUDA base image already has)."""

_LOCAL_LABEL = re.compile(r"\+(cu\d+|rocm[\d.]+|xpu)", re.IGNORECASE)


def is_torch_family(name: str) -> bool:
    """True for torch and the packages built against it and served from the PyTorch indexes."""
    return canonical_name(name) in TORCH_FAMILY


def name_family(name: str) -> str | None:
    """The accelerator family a package is by its name alone (`nvidia`, `cuda`, `triton`, ...), or None."""
    canonical = canonical_name(name)
    for pattern, family in ACCELERATOR_NAME_FAMILIES:
        if pattern.search(canonical):
            return family
    return None


def local_label_family(version: str | None) -> str | None:
    """`torch-cuda` / `torch-rocm` / `torch-xpu` for a version whose local label names an accelerator
    build (`2.8.0+cu128`, `2.5.1+rocm6.2`, `2.6.0+xpu`), else None (`2.8.0`, `2.8.0+cpu`)."""
    match = _LOCAL_LABEL.search(version or "")
    if match is None:
        return None
    label = match.group(1).lower()
    return "torch-rocm" if label.startswith("rocm") else "torch-xpu" if label == "xpu" else "torch-cuda"


def is_cpu_build(version: str | None) -> bool:
    """True for a torch-family version built for CPU (`+cpu` local label)."""
    return bool(version) and str(version).lower().endswith("+cpu")


_CUDA_BY_NATURE = re.compile(
    r"^(flash-attn(-\d+)?|flash-attn-cuda|mamba-ssm|causal-conv1d|xformers|apex|auto-gptq|"
    r"bitsandbytes-cuda\d*|flashinfer(-python)?|exllamav2|nvidia-dali-cuda\d*|vllm-flash-attn)$"
)
"""Packages that need CUDA by nature: no CPU build (or useless without a GPU), so moving torch to its CPU
build cannot make them work; `depaudit fix` names them and leaves them where they are. Extend it here."""


def needs_cuda_by_nature(name: str) -> bool:
    """True for a package that only works with CUDA: flash-attn, mamba-ssm, xformers, ..."""
    return bool(_CUDA_BY_NATURE.match(canonical_name(name)))
