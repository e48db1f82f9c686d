"""Which packages are accelerator (GPU) runtimes, by family rather than by suffix.

CUDA 12 wheels carry `-cu12`, CUDA 13 ones mostly drop it (`nvidia-cublas`, `cuda-bindings`), and new
names appear with every CUDA release, so matching families (prefixes and known names) is what keeps
working. A torch-family package is an accelerator build when its local version says so (`+cu128`,
`+rocm6.2`), or — for PyPI's Linux torch, which carries no local version — when the target installs it
together with CUDA runtime wheels it depends on (see `analysis.install_set`).
"""

from __future__ import annotations

import re

TORCH_FAMILY: frozenset[str] = frozenset({
    "torch", "torchvision", "torchaudio", "torchtext", "torchdata", "torchrec", "torch-tensorrt",
    "pytorch-triton", "torchao", "torchcodec",
})
"""Packages published on the PyTorch indexes in CPU and accelerator builds."""

_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
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
_LOCAL_ACCEL = re.compile(r"\+(cu\d+|rocm[\d.]+|xpu)", re.IGNORECASE)


def accelerator_family(name: str, version: str | None = None) -> str | None:
    """The accelerator family of a package (`"nvidia"`, `"cuda"`, `"triton"`, `"torch-cuda"`...), or None.

    `name` must be PEP 503 normalised. A torch-family package is an accelerator build only when its
    version's local label names one (`2.8.0+cu128`); PyPI's plain Linux torch is judged by the caller.
    """
    for pattern, family in _FAMILIES:
        if pattern.search(name):
            return family
    if version and name in TORCH_FAMILY:
        match = _LOCAL_ACCEL.search(version)
        if match:
            label = match.group(1).lower()
            return "torch-rocm" if label.startswith("rocm") else "torch-xpu" if label == "xpu" else "torch-cuda"
    return None


def is_cpu_build(version: str | None) -> bool:
    """True for a torch-family version built for CPU (`+cpu` local label)."""
    return bool(version) and version.lower().endswith("+cpu")


# Packages that need CUDA by nature: they have no CPU build (or are useless without a GPU), so moving torch
# to its CPU build cannot make them work. `depaudit fix` names them and leaves them where they are.
# One list, matched on PEP 503 names; extend it here.
_CUDA_BY_NATURE = re.compile(
    r"^(flash-attn(-\d+)?|flash-attn-cuda|mamba-ssm|causal-conv1d|xformers|apex|auto-gptq|"
    r"bitsandbytes-cuda\d*|flashinfer(-python)?|exllamav2|nvidia-dali-cuda\d*|vllm-flash-attn)$"
)


def needs_cuda_by_nature(name: str) -> bool:
    """True for a package (PEP 503 name) that only works with CUDA: flash-attn, mamba-ssm, xformers, ..."""
    return bool(_CUDA_BY_NATURE.match(name))
