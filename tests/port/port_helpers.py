"""Shared helpers of the `depaudit port` tests (a uniquely named module: every test folder has a
conftest.py, so `from conftest import ...` would depend on collection order)."""

from __future__ import annotations

import os
from pathlib import Path

MODELS = Path(__file__).resolve().with_name("hazard_models.py")


def shown(path: Path) -> str:
    """How port names a file in findings: relative to the working directory when below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def marker_line(tag: str, path: Path = MODELS) -> int:
    """The 1-based line of `path` carrying `# <- TAG` (exactly that tag)."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# <- {tag}"):
            return number
    raise AssertionError(f"no '# <- {tag}' marker in {path}")
