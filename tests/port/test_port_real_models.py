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


# (model, inputs, dynamic axes): models nobody here designed, as teams have them. The benchmark
# (benchmarks/port_examples.py) runs the whole corpus, static and dynamic; the suite runs these.
CORPUS = [
    ("timm_models.py:efficientnet_b0", ["image=1x3x64x64"], ["image:0=batch"]),
    ("timm_models.py:vit_small", ["image=1x3x64x64"], ["image:0=batch"]),
    ("gpt.py:gpt", ["tokens=1x16:int64:0..512"], ["tokens:1=sequence"]),
    ("audio.py:segmentation", ["audio=1x1x4000:float32:-1..1"], ["audio:2=samples:2000..32000"]),
]


@pytest.mark.parametrize("model,inputs,dynamic", CORPUS, ids=[c[0].partition(":")[2] for c in CORPUS])
def test_corpus_passes_with_its_dynamic_axis(tmp_path, model, inputs, dynamic):
    report = run_port(build_request(f"{EXAMPLES}/{model}", inputs, dynamic, tmp_path))
    assert report.passed, (report.findings, report.notes, [(c.name, c.failures) for c in report.cases if c.failures])
    assert report.static_axes == [] and len(report.cases) >= 9  # 7 patterns + 2 other sizes (+ range ends)
    assert all(c.passed for c in report.cases)
    if model.endswith("efficientnet_b0"):
        # at 64x64, ONNX Runtime is ~93 dB from torch float32 on the +/-1e3 input: below 100 dB, so a float64
        # reference decides, and ONNX Runtime is as close to it as torch float32 is (within 6 dB)
        large = next(c for c in report.cases if c.name == "large")
        (logits,) = large.outputs
        assert large.reference == "float64" and logits.psnr_db < 100
        assert logits.ort_to_reference_db >= logits.torch_to_reference_db - 6


def test_noise_inside_forward_is_named_at_its_line(tmp_path):
    report = run_port(build_request(f"{EXAMPLES}/noisy.py:SineSource", ["f0=1x1x64"], [], tmp_path))
    line = next(n for n, t in enumerate((EXAMPLES / "noisy.py").read_text().splitlines(), 1) if "# <- DA408" in t)
    assert [(f.rule, f.line) for f in report.findings] == [("DA408", line)]
    assert report.determinism["deterministic"] is False and not report.passed
    clean = run_port(
        build_request(
            f"{EXAMPLES}/noisy.py:SineSourceNoiseInput", ["f0=1x1x64", "noise=1x512x4"], [], tmp_path / "clean"
        )
    )
    assert clean.passed and clean.findings == []
