"""Helpers for the `depaudit port` tests: run port on a model from hazard_models.py and find the line
a finding must name (marked `# <- DA4NN` in that file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from depaudit.port import build_request, run_port

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


@pytest.fixture
def port_model(tmp_path):
    """port_model("ValueBranch", ["x=1x3x8x8"], dynamic=["x:3"]) -> PortReport (hand-over in tmp_path)."""

    def run(name: str, inputs: list[str], dynamic: list[str] | None = None, **options):
        out = tmp_path / name
        return run_port(build_request(f"{MODELS}:{name}", inputs, dynamic or [], out, **options))

    return run
