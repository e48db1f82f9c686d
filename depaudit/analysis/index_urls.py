"""What package-index URLs (and index names) say: which serve CPU builds, which serve accelerator
(CUDA/ROCm/XPU) builds, which are PEP 503 "simple" roots, and URL equality. The one place these patterns
live: the rules, the fixers and the Dockerfile analysis import them. Kept free of heavy imports (tomlkit)
so `depaudit scan` start-up stays lean.

Decisions, each pinned by a test (tests/analysis/test_index_urls.py):
- `…/whl/xpu` serves Intel GPU builds of torch: an accelerator index, like `…/whl/cu121` and
  `…/whl/rocm6.2`.
- `…/whl/cu121/torch/` (a project page under the cu121 index, used with `-f`) and
  `…/whl/cu113/torch_stable.html` serve CUDA builds: a CUDA variant segment anywhere under `/whl/` counts.
- `…/whl/cpu`, `…/whl/cpu-cxx11-abi`, `…/whl/nightly/cpu` are CPU indexes; a URL that is neither says
  nothing either way (PyPI, a private mirror).
"""

from __future__ import annotations

import re

DEFAULT_CPU_INDEX_URL = "https://download.pytorch.org/whl/cpu"
"""The PyTorch CPU index `depaudit fix --to cpu-index` points at unless told otherwise."""

# A variant segment: cu118/cu121/cu130, rocm6.2.4, xpu. Anchored at a path segment boundary.
_VARIANT = r"(?:cu\d{2,3}|rocm[\d.]*|xpu)"
_ACCELERATOR_URL = re.compile(rf"/{_VARIANT}(?:/|$)", re.IGNORECASE)
_ACCELERATOR_NAME = re.compile(r"(^|[-_])(cu\d{2,3}|cuda\d*|rocm[\d.]*|xpu|gpu)($|[-_])", re.IGNORECASE)
_CPU_SEGMENT = re.compile(r"^cpu([-_].*)?$", re.IGNORECASE)
_PYTORCH_WHL = re.compile(r"download\.pytorch\.org/whl(/[\w.-]+)?$", re.IGNORECASE)


def _path(url: str) -> str:
    """The path part of a URL (`https://host/a/b?q` -> `/a/b`), or "" when there is none."""
    rest = url.split("://", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    return rest[rest.find("/") :] if "/" in rest else ""


def is_accelerator_name(name: str | None) -> bool:
    """True for an index or extra name that says CUDA/ROCm/XPU/GPU (`pytorch-cu121`, `cuda`, `gpu`)."""
    return bool(name and _ACCELERATOR_NAME.search(name))


def is_cuda_index(url: str | None, name: str | None = None) -> bool:
    """True for an index URL or name that serves accelerator builds: CUDA (`…/whl/cu124`), ROCm
    (`…/whl/rocm6.2`) or XPU (`…/whl/xpu`), including pages below such an index (`…/whl/cu121/torch/`)."""
    return bool((url and _ACCELERATOR_URL.search(_path(url))) or is_accelerator_name(name))


def is_cpu_index(url: str | None) -> bool | None:
    """True for a CPU wheel index (a path segment `cpu`, `cpu-…` or `cpu_…`: /whl/cpu, /whl/nightly/cpu),
    False for any other URL, None when the URL is unknown (given through an unresolved variable)."""
    if url is None:
        return None
    return any(_CPU_SEGMENT.match(segment) for segment in _path(url).split("/"))


def is_pep503_index(url: str) -> bool:
    """True for a URL naming a PEP 503 "simple" index rather than a find-links page or folder: a
    `/simple` path or a download.pytorch.org `/whl[/<variant>]` root (not a `.html` page)."""
    plain = url.rstrip("/")
    if plain.endswith((".html", ".htm")) or "://" not in plain:
        return False
    return bool(plain.endswith("/simple") or _PYTORCH_WHL.search(plain))


def is_pytorch_index(url: str) -> bool:
    """True for an index on download.pytorch.org."""
    return "download.pytorch.org" in url.lower()


def same_url(a: str, b: str) -> bool:
    """True when two index URLs are the same (case and trailing slashes ignored)."""
    return a.rstrip("/").lower() == b.rstrip("/").lower()
