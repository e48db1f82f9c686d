"""Which installed packages are accelerator (GPU) builds, decided from the wheel itself, the same way for
uv.lock and pylock.toml, and which evidence decided it (the `basis` every output can show).

CUDA 12 wheels carry `-cu12`, CUDA 13 ones mostly drop it (`nvidia-cublas`, `cuda-bindings`), and new
names appear with every CUDA release, so runtimes are matched by family (`depaudit.families`). A
torch-family package is published as CPU and accelerator builds of one version, so its label comes from
the build the target installs, strongest evidence first:

1. its name (`nvidia-*`, `cuda-*`, `triton`, `jax-cuda*`, ...) — any package;
2. its local version label: `+cu128`, `+rocm6.2`, `+xpu` (any package), or `+cpu`;
3. the index it comes from: a PyTorch CUDA/ROCm/XPU or CPU index (`…/whl/cu128`, `…/whl/cpu`);
4. a macOS wheel: no CUDA or ROCm build of anything exists for macOS;
5. the wheel's own file list, when known: `libtorch_cuda*.so`, `libcudart*`, `libcublas*`, `libcudnn*`,
   `torch_cuda.dll`, ROCm's `libamdhip64`/`libtorch_hip` (read from its zip central directory online);
6. the wheel's own declared dependencies for the target (its PEP 658 `.whl.metadata`, online): a CUDA
   runtime (`nvidia-*`, `cuda-*`, `triton`) required under the target's markers;
7. offline, for PyPI's unlabelled wheels: the table of known PyPI builds (`analysis.known_builds`):
   torch 1.12.1 for Linux bundles CUDA 10.2 with no nvidia dependency, and is a CUDA build all the same;
8. only when none of that decides: in a uv.lock, whether its own dependency edges active for the target
   reach a CUDA runtime wheel; in a pylock.toml (no edges), whether `torch` sits beside binary CUDA
   runtime wheels.

Never because it depends on another torch-family package: torchaudio next to a CUDA torch is labelled by
its own wheel. Rules 1-7 read only the wheel and its index, so a uv.lock and the pylock.toml exported from
it get the same labels; rule 8 is the fallback for a mirror's unlabelled build offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from depaudit.analysis.index_urls import is_cpu_index, is_cuda_index
from depaudit.analysis.known_builds import known_build, wheel_platform
from depaudit.analysis.markers import MarkerError, MarkerEvaluator
from depaudit.families import TORCH_FAMILY, is_cpu_build, local_label_family, name_family
from depaudit.model import Package, Wheel
from depaudit.names import canonical_name

_RUNTIME_FAMILIES = frozenset({"nvidia", "cuda", "triton"})
_NVML_BINDINGS = frozenset({"pynvml", "nvidia-ml-py", "nvidia-ml-py3"})  # pure Python, not CUDA runtime
CUDA_CARRIERS: frozenset[str] = frozenset({"torch"})
"""Torch-family packages whose PyPI metadata itself requires CUDA runtime wheels (the pylock fallback)."""

_LOCAL = re.compile(r"\+([A-Za-z0-9._-]+)$")
_ACCELERATOR_LIBRARY = re.compile(
    r"^(?:lib)?(?:(?P<cuda>torch_cuda|c10_cuda|cudart|cublas|cublasLt|cudnn|nccl|cufft|curand|cusolver|cusparse|nvrtc)"
    r"|(?P<rocm>torch_hip|c10_hip|amdhip64|rocblas|MIOpen|hipblas|rccl)|(?P<xpu>torch_xpu|c10_xpu))"
    r"[\w]*[-.].*\b(?:so|dll)\b",
)


class Label(NamedTuple):
    """An accelerator family (None: not an accelerator build) and what decided it (None: nothing did —
    a package no rule applies to, the common case)."""

    family: str | None
    basis: str | None = None


class WheelEvidence(NamedTuple):
    """What a wheel says about itself, read from the index (`analysis.wheel_evidence`): the Requires-Dist
    entries of its metadata that name a CUDA runtime (None: no metadata read) and the accelerator
    libraries in its file list (None: not read)."""

    requires: tuple[str, ...] | None = None
    libraries: tuple[str, ...] | None = None


def accelerator_family(name: str, version: str | None = None) -> str | None:
    """The accelerator family of a package by its name and version alone (`"nvidia"`, `"cuda"`,
    `"torch-cuda"` for `torch 2.8.0+cu128`...), or None. `name` must be PEP 503 normalised."""
    return name_label(name, version).family


def name_label(name: str, version: str | None) -> Label:
    """Rules 1 and 2: the label a package's name or its version's local label decides, `Label(None)`
    when neither does. `name` must be PEP 503 normalised."""
    family = name_family(name)
    if family is not None:
        return Label(family, "name")
    local = _LOCAL.search(version or "")
    if local is None:
        return Label(None)
    accelerator = local_label_family(version)
    if accelerator is not None:
        if name not in TORCH_FAMILY:
            accelerator = accelerator.removeprefix("torch-")
        return Label(accelerator, f"local version label +{local.group(1)}")
    if is_cpu_build(version) and name in TORCH_FAMILY:
        return Label(None, f"local version label +{local.group(1)}")
    return Label(None)


def is_cuda_runtime(name: str) -> bool:
    """True for a CUDA runtime wheel a PyPI torch build pulls (`nvidia-*`, `cuda-*`, `triton`), not
    for NVML's pure-Python bindings. `name` must be PEP 503 normalised."""
    return name not in _NVML_BINDINGS and name_family(name) in _RUNTIME_FAMILIES


def wheel_label(package: Package, wheel: Wheel) -> Label | None:
    """Rules 3 and 4 for a torch-family package's chosen wheel: its index, or a macOS wheel; None when
    neither decides."""
    for url in (package.source.value if package.source.kind == "registry" else None, wheel.url):
        if not url:
            continue
        if is_cuda_index(url):
            lowered = url.lower()
            family = "torch-rocm" if "/rocm" in lowered else "torch-xpu" if "/xpu" in lowered else "torch-cuda"
            return Label(family, f"index {url}")
        if is_cpu_index(url):
            return Label(None, f"index {url}")
    if wheel_platform(wheel.filename) == "macos":
        return Label(None, "a macOS wheel: no CUDA or ROCm build exists for macOS")
    return None


def library_family(libraries: Iterable[str]) -> str | None:
    """`torch-cuda`, `torch-rocm` or `torch-xpu` for the first accelerator library among file names."""
    for name in libraries:
        match = _ACCELERATOR_LIBRARY.match(name.rsplit("/", 1)[-1])
        if match:
            return "torch-rocm" if match["rocm"] else "torch-xpu" if match["xpu"] else "torch-cuda"
    return None


def accelerator_libraries(names: Iterable[str]) -> tuple[str, ...]:
    """The file names (basenames) among `names` that are CUDA, ROCm or XPU libraries."""
    found = {n.rsplit("/", 1)[-1] for n in names}
    libraries = [n for n in found if _ACCELERATOR_LIBRARY.match(n)]
    return tuple(sorted(libraries, key=lambda n: (not n.startswith(("libtorch", "torch", "libc10", "c10")), n)))


def evidence_label(evidence: WheelEvidence | None, environment: Mapping[str, str]) -> Label | None:
    """Rules 5 and 6: what a wheel's file list and declared dependencies say for a target with marker
    `environment`. A file list decides either way; metadata decides only when it requires a CUDA
    runtime (a wheel can bundle CUDA and declare nothing: torch 1.12.1). None: nothing decides."""
    if evidence is None:
        return None
    if evidence.libraries is not None:
        family = library_family(evidence.libraries)
        if family is not None:
            return Label(family, f"wheel contents: {evidence.libraries[0]}")
        return Label(None, "wheel contents: no CUDA, ROCm or XPU library")
    needed = runtime_requirements(evidence.requires or (), environment)
    if needed:
        return Label("torch-cuda", f"wheel metadata requires {needed[0]}")
    return None


def runtime_requirements(requires: Iterable[str], environment: Mapping[str, str]) -> list[str]:
    """The CUDA runtime names among Requires-Dist entries whose markers hold for `environment` (an
    entry whose marker cannot be read counts: a verdict errs toward the accelerator)."""
    evaluate = MarkerEvaluator(dict(environment))
    out = []
    for entry in requires:
        spec, _, marker = entry.partition(";")
        name = canonical_name(re.split(r"[\s\[(<>=!~;]", spec.strip(), maxsplit=1)[0])
        if not is_cuda_runtime(name):
            continue
        try:
            applies = evaluate(marker.strip() or None)
        except MarkerError:
            applies = True
        if applies:
            out.append(name)
    return out


def from_pypi(package: Package, wheel: Wheel) -> bool:
    """True for a wheel of PyPI's (its index is pypi.org, or the file is on files.pythonhosted.org)."""
    index = package.source.value.lower() if package.source.kind == "registry" else ""
    return "://pypi.org/" in index or "://files.pythonhosted.org/" in (wheel.url or "").lower()


def fallback_label(
    package: Package, wheel: Wheel, evidence: WheelEvidence | None, *, edges: tuple[str, ...] | None, beside: bool
) -> Label:
    """Rules 7 and 8 for a torch-family wheel nothing stronger decided: the known PyPI build, a metadata
    that declares no CUDA runtime for the target, then the lock: `edges` (uv.lock: the CUDA runtime
    names its own active edges reach; None for a pylock) or `beside` (pylock: binary CUDA runtime wheels
    in the target's install set)."""
    row = known_build(package.name, package.version, wheel.filename) if from_pypi(package, wheel) else None
    if row is not None:
        build = "a CUDA build" if row.family else "a CPU build"
        return Label(row.family, f"known PyPI build: {package.name} {package.version} for {row.platform} is {build}")
    if evidence is not None and evidence.requires is not None:
        return Label(None, "wheel metadata: no CUDA runtime dependency for this target")
    if "+" in (package.version or ""):
        return Label(None)  # a local label of its own kind: nothing here says accelerator
    if edges:
        return Label("torch-cuda", f"lock: its own dependencies pull {edges[0]}")
    if edges is None and beside and package.name in CUDA_CARRIERS:
        return Label("torch-cuda", "pylock: binary CUDA runtime wheels installed beside it")
    return Label(None)
