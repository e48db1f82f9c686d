"""Must show (issue 5): `depaudit lint` flags the torch-cuda Dockerfile with the right IDs and passes
the ONNX Runtime one clean — on the project's own docker/Dockerfile.* files."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.lint import lint_dockerfile

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def _lint(name: str):
    path = DOCKER / f"Dockerfile.{name}"
    if not path.exists():
        pytest.skip(f"{path} not in this checkout")
    return lint_dockerfile(path)


def test_torch_cuda_is_flagged_for_torch_from_pypi():
    findings = _lint("torch-cuda")
    assert {f.rule for f in findings} == {"DA302"}
    (finding,) = findings
    assert finding.severity == "error" and finding.fixable
    assert "docker/requirements/torch-cuda.txt" in finding.message  # found through the COPY'd requirements


@pytest.mark.parametrize("name", ["onnxruntime", "torch-cpu", "tinygrad"])
def test_other_variants_pass_clean(name):
    assert _lint(name) == []
