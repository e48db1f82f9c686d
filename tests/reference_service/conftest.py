"""Shared fixtures for the GMNet model tests: goldens and each backend's outputs, computed once per session.

ONNX Runtime and tinygrad are runtime dependencies: if either cannot load, the tests that need it FAIL
(no skip). torch is dev-only: torch-backed tests skip with a reason when it is not installed.
"""

from __future__ import annotations

import pytest

from reference_service import verify
from reference_service.backends import load_backend

RUNTIME_BACKENDS = ("onnxruntime", "tinygrad")


@pytest.fixture(scope="session")
def goldens() -> dict[str, dict]:
    """All goldens; a missing or unreadable golden fails the test that asks for it."""
    try:
        return {case: verify.load_golden(case) for case in verify.CASES}
    except verify.GoldenError as exc:
        pytest.fail(f"golden problem: {exc}")


@pytest.fixture(scope="session")
def checkpoint_state() -> dict:
    """The bundled checkpoint parsed by the tinygrad reader (no torch); treat as read-only."""
    from reference_service.backends import DEFAULT_CHECKPOINT
    from reference_service.model_tinygrad import read_checkpoint

    return read_checkpoint(DEFAULT_CHECKPOINT)


_BACKENDS: dict[str, object] = {}
_OUTPUTS: dict[str, dict[str, tuple]] = {}


def get_backend(name: str):
    """Load backend ``name`` once per session; torch skips when absent, the runtime backends must load."""
    if name == "torch":
        pytest.importorskip("torch", reason="torch is a dev-only dependency; torch-vs-golden checks need it")
    if name not in _BACKENDS:
        _BACKENDS[name] = load_backend(name)
    return _BACKENDS[name]


@pytest.fixture(scope="session")
def backend_outputs(goldens):
    """Callable: backend name -> {case: (gain_map, qmax)} over the goldens' stored inputs (computed once)."""

    def outputs(name: str) -> dict[str, tuple]:
        if name not in _OUTPUTS:
            backend = get_backend(name)
            _OUTPUTS[name] = {case: backend.predict(g["image"], g["thumbnail"]) for case, g in goldens.items()}
        return _OUTPUTS[name]

    return outputs


@pytest.fixture(scope="session")
def shared_backend():
    """Callable: backend name -> the session's loaded backend (the same instance the golden checks use)."""
    return get_backend
