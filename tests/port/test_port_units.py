"""Torch-free parts of `depaudit port`: argument parsing, generated cases, metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from depaudit.errors import UsageError
from depaudit.port.cases import EXAMPLE, PATTERNS, make_cases, other_sizes, scaled_variants, size_one_dims, widened
from depaudit.port.messages import one_line, strip_ansi, usual_fix
from depaudit.port.metrics import Bars, agreement, data_range, distance_db, psnr, ssim, verdict
from depaudit.port.request import DimSpec, build_request, dynamic_dims, parse_dynamic, parse_input


def test_parse_input_shapes_and_dtypes():
    spec = parse_input("image=1x3x128x160")
    assert (spec.name, spec.shape, spec.dtype, spec.is_float) == ("image", (1, 3, 128, 160), "float32", True)
    tokens = parse_input("tokens=1,16:int64:0..1000")
    assert (tokens.shape, tokens.dtype, tokens.low, tokens.high, tokens.is_float) == ((1, 16), "int64", 0, 1000, False)


@pytest.mark.parametrize(
    "text",
    [
        "image",
        "=1x3",
        "1x=1x3",
        "x=1x0x3",
        "x=axb",
        "x=1x3:complex64",
        "x=1x3:float32:1..0",
        "x=1x3:float32:0..",
        "x=1x3:int64:5..5",
        "x=1x3:int64:0..9:extra",
    ],
)
def test_parse_input_rejects(text):
    with pytest.raises(UsageError, match="--input"):
        parse_input(text)


def test_parse_dynamic():
    inputs = (parse_input("image=1x3x8x8"),)
    assert parse_dynamic("image:2=height", inputs).dim == "height"
    assert parse_dynamic("image:-1", inputs).axis == 3
    assert parse_dynamic("image:-1", inputs).dim == "image_3"
    for bad in ("other:2", "image", "image:x", "image:4", "image:2=9bad"):
        with pytest.raises(UsageError, match="--dynamic"):
            parse_dynamic(bad, inputs)


def test_build_request_checks_the_whole_command():
    with pytest.raises(UsageError, match="at least one --input"):
        build_request("m.py:Net", [], [], Path("out"))
    with pytest.raises(UsageError, match="unique"):
        build_request("m.py:Net", ["x=1", "x=2"], [], Path("out"))
    with pytest.raises(UsageError, match="twice"):
        build_request("m.py:Net", ["x=1x2"], ["x:1", "x:-1"], Path("out"))
    with pytest.raises(UsageError, match="MODEL"):
        build_request("m.py", ["x=1"], [], Path("out"))


def test_cases_cover_patterns_and_extremes():
    inputs = (parse_input("image=1x3x16x16"), parse_input("ids=1x4:int64:0..50"))
    cases = make_cases(inputs)
    assert [c.name for c in cases] == list(PATTERNS) and len(cases) >= 4
    by = {c.name: c.arrays[0] for c in cases}
    assert by["dark"].max() <= 0.02 and by["bright"].min() >= 0.98
    assert np.abs(by["small"]).max() <= 1e-3 and by["small"].min() < 0 < by["small"].max()
    assert np.abs(by["large"]).max() > 100 and by["large"].min() < 0
    assert np.allclose(np.unique(by["checkerboard"]), [0.1, 0.9])
    ids = [c.arrays[1] for c in cases]
    assert all(a.dtype == np.int64 and a.min() >= 0 and a.max() < 50 for a in ids)
    again = make_cases(inputs)
    assert all(
        np.array_equal(a, b) for c, d in zip(cases, again, strict=True) for a, b in zip(c.arrays, d.arrays, strict=True)
    )


def test_dynamic_axes_add_cases_at_other_sizes():
    inputs = (parse_input("x=1x3x8x10"),)
    cases = make_cases(inputs, (parse_dynamic("x:3", inputs),))
    shapes = {c.name: c.arrays[0].shape for c in cases}
    assert shapes[f"{EXAMPLE}-plus1"] == (1, 3, 8, 11) and shapes[f"{EXAMPLE}-double"] == (1, 3, 8, 20)
    variants = scaled_variants(cases[2], inputs)
    assert {v.name.split("-", 1)[1] for v in variants} >= {"zeros", "negated", "big", "bignegative"}


def test_psnr_and_peak():
    ref = np.linspace(0, 1, 100)
    assert psnr(ref, ref, 1.0) == math.inf
    assert psnr(ref, ref + 1e-3, 1.0) == pytest.approx(60.0)
    assert data_range(np.full(4, -3.0)) == 3.0  # constant: its magnitude
    assert data_range(np.zeros(4)) == 1.0
    assert data_range(np.array([0.99, 0.991])) == pytest.approx(0.991)  # near-constant far from zero


def test_agreement_shapes_nan_and_ssim():
    rng = np.random.default_rng(0)
    ref = rng.random((1, 1, 32, 32)).astype(np.float32)
    same = agreement(ref, ref.copy())
    assert same.psnr_db == math.inf and same.ssim == pytest.approx(1.0) and same.max_abs_err == 0
    noisy = agreement(ref, ref + rng.normal(0, 0.05, ref.shape).astype(np.float32))
    assert 20 < noisy.psnr_db < 35 and noisy.ssim < 0.99
    assert not agreement(ref, ref[..., :31]).shape_ok
    nan = ref.copy()
    nan[0, 0, 0, 0] = np.nan
    assert not agreement(ref, nan).finite
    assert not agreement(nan, nan.copy()).finite  # the same NaN in both is still a NaN: never agreement
    assert agreement(np.ones(3), np.ones(3)).ssim is None  # not image-like
    assert ssim(ref[0, 0], ref[0, 0], 1.0) == pytest.approx(1.0)


def test_parse_dynamic_ranges_and_ties():
    inputs = (parse_input("mel=1x80x10"), parse_input("f0=1x1x20"))
    plain = parse_dynamic("mel:2=frames:2..512", inputs)
    assert (plain.dim, plain.low, plain.high, plain.is_root) == ("frames", 2, 512, True)
    assert parse_dynamic("mel:2=..64", inputs).high == 64 and parse_dynamic("mel:2=..64", inputs).dim == "mel_2"
    assert parse_dynamic("mel:2:8..", inputs).low == 8
    tied = parse_dynamic("f0:2=2*frames", inputs)
    assert (tied.dim, tied.scale, tied.offset, tied.is_root, tied.size(11)) == ("frames", 2, 0, False, 22)
    assert (
        parse_dynamic("f0:2=frames*2+1", inputs).size(10) == 21 and parse_dynamic("f0:2=frames-1", inputs).offset == -1
    )
    for bad in ("f0:2=2*frames:1..9", "mel:2=1..1", "mel:2=5..3", "mel:2=x..", "f0:2=2*frames*3", "mel:2=0*frames"):
        with pytest.raises(UsageError, match="--dynamic"):
            parse_dynamic(bad, inputs)


def test_dynamic_dims_must_agree_with_the_example():
    inputs = ["mel=1x80x10", "f0=1x1x20", "x=2x3"]
    request = build_request("m.py:Net", inputs, ["mel:2=frames:4..64", "f0:2=2*frames"], Path("out"))
    assert request.dims == {"frames": DimSpec("frames", 10, 4, 64)}
    for dynamic, message in (
        (["f0:2=2*frames"], "not a dynamic axis of any input"),
        (["mel:2=frames", "f0:2=3*frames"], "the example has 20 there, not 30"),
        (["mel:2=frames", "x:1=frames"], "frames is 10 on another axis but 3 here"),
        (["mel:2=frames:1..5"], "outside its range"),
        (["mel:2=n:1..50", "f0:2=n:1..60"], "n is 10 on another axis but 20 here"),
        (["mel:0=b:1..4", "x:0=b:1..8"], "b is 1 on another axis but 2 here"),
    ):
        with pytest.raises(UsageError, match=message):
            build_request("m.py:Net", inputs, dynamic, Path("out"))


def test_float_inputs_take_a_value_range_and_cases_stay_inside():
    spec = parse_input("audio=1x1x64:float32:-1..1")
    assert spec.float_range == (-1.0, 1.0)
    cases = make_cases((spec,))
    assert all(c.arrays[0].min() >= -1 and c.arrays[0].max() <= 1 for c in cases)
    large = next(c.arrays[0] for c in cases if c.name == "large")
    assert set(np.unique(large)) == {-1.0, 1.0}  # the two ends
    assert all(v.arrays[0].min() >= -1 and v.arrays[0].max() <= 1 for v in scaled_variants(cases[0], (spec,)))


def test_size_one_dimension_grows_to_2_and_3_and_the_export_example_repeats_the_users():
    inputs = (parse_input("x=1x3x4"), parse_input("y=1x2"))
    dynamic = (parse_dynamic("x:0=batch", inputs), parse_dynamic("y:0=batch", inputs))
    assert [(label, sizes) for label, sizes in other_sizes(dynamic_dims(inputs, dynamic))] == [
        ("plus1", {"batch": 2}),
        ("triple", {"batch": 3}),
    ]
    assert size_one_dims(inputs, dynamic) == ["batch"]
    example = make_cases(inputs, dynamic)[PATTERNS.index(EXAMPLE)]
    wide = widened(example, inputs, dynamic, ["batch"])
    assert [a.shape for a in wide.arrays] == [(2, 3, 4), (2, 2)]
    assert np.array_equal(wide.arrays[0][1], example.arrays[0][0])  # a copy of the user's values


def test_range_ends_become_cases():
    inputs = (parse_input("x=1x3x16"),)
    dims = dynamic_dims(inputs, (parse_dynamic("x:2=n:8..40", inputs),))
    assert [s["n"] for _, s in other_sizes(dims)] == [17, 32, 8, 40]


def test_verdict_relative_to_torch_and_non_finite_counts():
    bars = Bars(100.0, relative=True, margin=6.0)
    close = agreement(np.ones(4), np.ones(4) + 1e-4)  # 80 dB: below the bar
    assert verdict("y", close, torch_to_ref=82.0, ort_to_ref=79.0, bars=bars) is None  # 3 dB worse than torch: ok
    worse = verdict("y", close, torch_to_ref=90.0, ort_to_ref=79.0, bars=bars)
    assert "from float64, ONNX Runtime is 79.0 dB and torch float32 90.0 dB, more than 6 dB worse" in worse
    assert "no float64 reference" in verdict("y", close, None, None, bars)
    floored = Bars(100.0, relative=True, margin=6.0, floor=78.0)  # 79 dB from float64 is enough, whatever torch did
    assert verdict("y", close, torch_to_ref=90.0, ort_to_ref=79.0, bars=floored) is None
    assert verdict("y", close, 82.0, 79.0, Bars(70.0, relative=False, margin=6.0)) is None  # 80 dB >= a 70 dB bar
    absolute = verdict("y", close, torch_to_ref=82.0, ort_to_ref=95.0, bars=Bars(90.0, relative=False, margin=6.0))
    assert absolute.startswith("y: PSNR 80.0 dB against torch float32 < 90 dB")  # --min-psnr: absolute only
    nan = np.full(5, np.nan)
    both = agreement(nan, nan.copy())
    assert (both.nonfinite_golden, both.nonfinite_test, both.psnr_db) == (5, 5, -math.inf)
    assert verdict("y", both, None, None, bars) == "y: 5 of 5 values are NaN/inf in torch, 5 in ONNX Runtime"
    one = agreement(np.ones(3), np.array([1.0, np.inf, 1.0]))
    assert "0 of 3 values are NaN/inf in torch, 1 in ONNX Runtime" in verdict("y", one, None, None, bars)
    assert distance_db(np.ones(3), np.ones(3)) == math.inf


def test_messages_lose_ansi_and_keep_every_line():
    text = "\x1b[96m[ONNXRuntimeError] : 2 : INVALID_ARGUMENT\x1b[0m : Got invalid dimensions for input: image\n index: 0 Got: 2 Expected: 1\n"
    assert one_line(text) == (
        "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: image index: 0 Got: 2 Expected: 1"
    )
    assert strip_ansi("a\x1b[1;31mb\x1b[mc\x07") == "abc"
    assert one_line("x" * 50, limit=10) == "xxxxxxxxxx ... (40 more characters)"
    assert "two real tensors" in usual_fix("aten.view_as_complex", "torchscript")
    assert "custom_translation_table" in usual_fix("aten.cummax", "dynamo")
