"""Fixture for the `depaudit port` tests: run port on a model from hazard_models.py."""

from __future__ import annotations

import pytest
from port_helpers import MODELS

from depaudit.port import build_request, run_port


@pytest.fixture
def port_model(tmp_path):
    """port_model("ValueBranch", ["x=1x3x8x8"], dynamic=["x:3"]) -> PortReport (hand-over in tmp_path)."""

    def run(name: str, inputs: list[str], dynamic: list[str] | None = None, **options):
        out = tmp_path / name
        return run_port(build_request(f"{MODELS}:{name}", inputs, dynamic or [], out, **options))

    return run
