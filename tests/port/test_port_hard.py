"""What real models do to `depaudit port`, one small model each: all-NaN outputs, noise drawn inside
forward (DA408), a graph onnx.checker rejects (DA409), an op no exporter translates (DA407 at its
line), a batch written as 1 with a dynamic batch asked (DA403), global pooling on dynamic sizes (no
DA407), dataclass outputs, and tied dynamic axes. Each runs the whole pipeline."""

from __future__ import annotations

import json

import onnx
import pytest
from port_helpers import MODELS, marker_line, shown

from depaudit.cli import main

pytestmark = pytest.mark.slow  # each case exports a model and runs torch and ONNX Runtime (3-10 s)


def _located(report, rule):
    return [(f.path, f.line) for f in report.findings if f.rule == rule]


# (rule, marker, model, twin, inputs, twin inputs, dynamic axes)
CAUGHT = [
    ("DA408", "DA408", "NoisyForward", "NoiseAsInput", ["x=1x3x8x8"], ["x=1x3x8x8", "noise=1x3x8x8"], []),
    ("DA409", "DA409", "RotaryCeilPool", "RotaryPool", ["x=1x2x5x6"], ["x=1x2x5x6"], []),
    ("DA407", "DA407-cummax", "CumulativeMax", "GlobalPool", ["x=1x3x8x8"], ["x=1x3x8x8"], []),
    ("DA403", "DA403-batch", "FixedBatch", "AnyBatch", ["x=1x3x4"], ["x=1x3x4"], ["x:0=batch"]),
]


@pytest.mark.parametrize("rule,marker,model,twin,inputs,twin_inputs,dynamic", CAUGHT, ids=[c[0] for c in CAUGHT])
def test_caught_at_the_line_and_quiet_on_the_twin(
    port_model, tmp_path, rule, marker, model, twin, inputs, twin_inputs, dynamic
):
    report = port_model(model, inputs, dynamic)
    assert _located(report, rule) == [(shown(MODELS), marker_line(marker))]
    assert not report.passed
    doc = json.loads((tmp_path / model / "port.json").read_text())
    assert rule in [f["rule"] for f in doc["findings"]] and doc["passed"] is False
    clean = port_model(twin, twin_inputs, dynamic)
    assert clean.findings == [] and clean.passed, [c.failures for c in clean.cases]


def test_all_nan_output_never_passes(port_model):
    report = port_model("NanOutput", ["x=1x3x8x8"])
    assert report.exported and not report.passed
    assert all(not c.passed for c in report.cases)
    assert all("192 of 192 values are NaN/inf in torch, 192 in ONNX Runtime" in c.failures[0] for c in report.cases)
    assert not any(case["exact"] for case in report.to_json()["cases"])


def test_random_forward_is_reported_before_comparing(port_model):
    report = port_model("NoisyForward", ["x=1x3x8x8"])
    assert report.determinism["deterministic"] is False
    assert report.determinism["random_ops"] == [f"{shown(MODELS)}:{marker_line('DA408')}"]
    assert all(c.failures[0].startswith("torch disagrees with itself on the same input") for c in report.cases)
    assert all(c.reference is None for c in report.cases)  # no float64 run judges a random model


def test_checker_rejection_keeps_the_export_and_exits_1_without_a_traceback(tmp_path, capsys):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exit_info:
        main(["port", f"{MODELS}:RotaryCeilPool", "-i", "x=1x2x5x6", "--out", str(out), "-f", "json"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 1 and "Traceback" not in captured.err + captured.out
    doc = json.loads(captured.out)
    assert doc["exported"] and doc["exporter"] == "dynamo" and (out / "model.onnx").is_file()
    finding = next(f for f in doc["findings"] if f["rule"] == "DA409")
    assert "Inferred shape and existing shape differ in dimension 2: (4) vs (3)" in finding["message"]
    assert "\x1b" not in json.dumps(doc)  # no ANSI codes anywhere in the report
    assert any("TorchScript exporter failed" in n and "aten::view_as_complex" in n for n in doc["notes"])
    assert json.loads((out / "port.json").read_text())["findings"] == doc["findings"]
    assert "export.log" in doc["files"] and (out / "export.log").is_file()


def test_refused_op_names_the_op_and_writes_port_json(port_model, tmp_path):
    report = port_model("CumulativeMax", ["x=1x3x8x8"])
    finding = next(f for f in report.findings if f.rule == "DA407")
    assert "aten.cummax" in finding.message and "custom_translation_table" in finding.message
    assert not report.exported and (tmp_path / "CumulativeMax" / "port.json").is_file()
    # the TorchScript exporter's graph dump (printed by its C++ side) is in export.log, said in one note
    assert "Torch IR graph at exception" in (tmp_path / "CumulativeMax" / "export.log").read_text()
    assert any(n.startswith("the TorchScript exporter printed") and "export.log" in n for n in report.notes)


def test_batch_one_example_gives_a_dynamic_batch(port_model, tmp_path):
    report = port_model("AnyBatch", ["x=1x3x4"], ["x:0=batch"])
    assert report.export_example == {"case": "noise-export", "shapes": [[2, 3, 4]]}
    assert {c.name: c.shapes[0][0] for c in report.cases}["noise-triple"] == 3
    model = onnx.load(str(tmp_path / "AnyBatch" / "model.onnx"))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_fixed_batch_is_said_in_one_sentence(port_model):
    report = port_model("FixedBatch", ["x=1x3x4"], ["x:0=batch"])
    assert report.static_axes == ["x:0"]
    note = next(n for n in report.notes if "exported static" in n)
    assert f"{shown(MODELS)}:{marker_line('DA403-batch')}" in note and note.count(". ") == 0


def test_global_pool_on_dynamic_sizes_is_no_finding(port_model):
    report = port_model("GlobalPool", ["x=1x3x16x16"], ["x:2=height", "x:3=width"])
    assert report.findings == [] and report.passed


def test_dataclass_outputs_are_named_by_their_fields(port_model, tmp_path):
    report = port_model("DataclassOutputs", ["x=1x3x12x12"])
    assert report.output_names == ["logits", "features"] and report.passed
    model = onnx.load(str(tmp_path / "DataclassOutputs" / "model.onnx"))
    assert [o.name for o in model.graph.output] == ["logits", "features"]


def test_tied_axes_grow_together(port_model, tmp_path):
    report = port_model("UpsampledSum", ["mel=1x8x10", "f0=1x1x20"], ["mel:2=frames:4..64", "f0:2=2*frames"])
    assert report.passed, [c.failures for c in report.cases]
    shapes = {c.name: c.shapes for c in report.cases}
    assert shapes["noise-plus1"] == [[1, 8, 11], [1, 1, 22]] and shapes["noise-max"] == [[1, 8, 64], [1, 1, 128]]
    model = onnx.load(str(tmp_path / "UpsampledSum" / "model.onnx"))
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input]
    assert dims == [[1, 8, "frames"], [1, 1, "2*frames"]]


def test_a_step_that_raises_still_writes_port_json(port_model, tmp_path, monkeypatch):
    """A fake, and the only one here: every failure torch, onnx and ONNX Runtime are known to raise is
    caught where it happens, so an unexpected one is made by replacing the verification step."""
    from depaudit.port import pipeline

    def broken(state):
        raise RuntimeError("\x1b[31mboom\x1b[0m")

    monkeypatch.setattr(pipeline, "_verify", broken)
    report = port_model("NoisyForward", ["x=1x3x8x8"])
    doc = json.loads((tmp_path / "NoisyForward" / "port.json").read_text())
    assert [f["rule"] for f in doc["findings"]] == ["DA408"]  # what was found before the failure is kept
    assert any(n.startswith("port stopped early: RuntimeError: boom") for n in doc["notes"])
    assert "Traceback" in (tmp_path / "NoisyForward" / "export.log").read_text()
    assert not report.passed
