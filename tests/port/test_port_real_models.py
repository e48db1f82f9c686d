"""Real architectures through `depaudit port` (random init: equivalence does not need trained weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.port import build_request, run_port

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples" / "port"
pytestmark = pytest.mark.slow  # each exports a real network and runs 7-9 cases in torch and ONNX Runtime (10-40 s)


def test_monai_resnet18(tmp_path):
    report = run_port(build_request(f"{EXAMPLES}/real_models.py:resnet18", ["image=1x3x64x64"], [], tmp_path))
    assert report.exporter == "dynamo" and report.findings == []
    assert len(report.cases) == 7 and all(c.psnr_db >= 120 for c in report.cases), [
        (c.name, c.psnr_db) for c in report.cases
    ]
    assert report.passed


def test_transformer_encoder_with_dynamic_sequence_length(tmp_path):
    report = run_port(
        build_request(f"{EXAMPLES}/real_models.py:encoder", ["tokens=1x16x64"], ["tokens:1=sequence"], tmp_path)
    )
    assert report.exporter == "dynamo" and report.findings == []
    names = {c.name: c for c in report.cases}
    assert names["noise-plus1"].shapes == [[1, 17, 64]] and names["noise-double"].shapes == [[1, 32, 64]]
    assert all(c.psnr_db >= 120 for c in report.cases), [(c.name, c.psnr_db) for c in report.cases]
    assert report.passed
