"""Recognising package index URLs: which ones serve CUDA/ROCm builds, and URL equality. Shared by the
fixers and the rules, and kept free of heavy imports (tomlkit) so `depaudit scan` start-up stays lean."""

from __future__ import annotations

import re

_CUDA_URL = re.compile(r"/(cu\d{2,3}|rocm[\d.]*|xpu)/?$|/whl/(nightly/)?(cu\d{2,3}|rocm[\d.]*)\b")
_CUDA_NAME = re.compile(r"(^|[-_])(cu\d{2,3}|cuda\d*|rocm[\d.]*|gpu)($|[-_])")


def is_cuda_index(url: str | None, name: str | None = None) -> bool:
    """True for an index URL or name that serves CUDA/ROCm builds (`.../whl/cu124`, `pytorch-cu121`)."""
    return bool((url and _CUDA_URL.search(url.rstrip("/") + "/")) or (name and _CUDA_NAME.search(name)))


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()
