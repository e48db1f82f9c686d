"""What PyPI's unlabelled torch-family wheels are, per platform and version: the facts an offline scan
labels them by (online, a wheel's own metadata and file list decide; see `analysis.accelerators`).

PyPI publishes one build of torch per platform and no local version label says which: on Linux x86_64
every release is a CUDA build, on Linux aarch64 only from 2.11 on, on Windows and macOS none is. Each
row was read from the wheels themselves (their zip central directory and, where the index serves it,
their PEP 658 metadata) by `tests/fixtures/known-builds/collect.py`; `evidence.jsonl` there holds what it
saw and tests/analysis/test_known_builds.py checks every row against it. A version outside every row's
range is not known: the caller falls back to weaker evidence rather than guess.
"""

from __future__ import annotations

from typing import NamedTuple

from depaudit.versions import InvalidVersion, parse_version


class KnownBuild(NamedTuple):
    """Versions `first`..`last` (inclusive; `last` None: every later release) of `package` on
    `platform` ("linux-x86_64", "linux-aarch64", "windows", "macos") are `family` builds (None: CPU)."""

    package: str
    platform: str
    first: str
    last: str | None
    family: str | None
    evidence: str


PYPI_BUILDS: tuple[KnownBuild, ...] = (
    KnownBuild(
        "torch",
        "linux-x86_64",
        "1.8.1",
        None,
        "torch-cuda",
        "libtorch_cuda.so in every wheel: 1.8.1-1.12.1 bundle CUDA 10.2 (libcudart, cuBLAS) with no nvidia "
        "dependency, 1.13.1-2.0.1 add nvidia-*-cu11, 2.1.0-2.10.0 nvidia-*-cu12, 2.11.0 on CUDA 13",
    ),
    KnownBuild("torch", "linux-aarch64", "1.8.1", "2.10.0", None, "no CUDA library in the wheel"),
    KnownBuild("torch", "linux-aarch64", "2.11.0", None, "torch-cuda", "libtorch_cuda.so, CUDA 13 dependencies"),
    KnownBuild("torch", "windows", "1.8.1", None, None, "no CUDA library in the wheel"),
    KnownBuild("torchvision", "linux-x86_64", "0.13.1", None, "torch-cuda", "bundles libcudart"),
    KnownBuild("torchvision", "linux-aarch64", "0.13.1", "0.25.0", None, "no CUDA library in the wheel"),
    KnownBuild("torchvision", "linux-aarch64", "0.26.0", None, "torch-cuda", "bundles libcudart (CUDA 13)"),
    KnownBuild("torchvision", "windows", "0.13.1", None, None, "no CUDA library in the wheel"),
)
"""The rows; tests/analysis/test_known_builds.py checks each against the collected evidence."""


def wheel_platform(filename: str) -> str | None:
    """The platform family of a wheel from its platform tag: "linux-x86_64", "linux-aarch64",
    "windows", "macos", or None (pure Python, or another platform)."""
    tags = filename[:-4].rsplit("-", 1)[-1].lower() if filename.endswith(".whl") else ""
    for tag in tags.split("."):
        if tag.startswith("macosx"):
            return "macos"
        if tag.startswith("win"):
            return "windows"
        if "linux" in tag and tag.endswith("_x86_64"):
            return "linux-x86_64"
        if "linux" in tag and tag.endswith("_aarch64"):
            return "linux-aarch64"
    return None


def known_build(package: str, version: str | None, filename: str) -> KnownBuild | None:
    """The row that says what this PyPI wheel is, or None when no row covers it."""
    platform = wheel_platform(filename)
    if platform is None or not version:
        return None
    try:
        found = parse_version(version).public
        for row in PYPI_BUILDS:
            if row.package != package or row.platform != platform or found < parse_version(row.first):
                continue
            if row.last is None or found <= parse_version(row.last):
                return row
    except InvalidVersion:
        return None
    return None
