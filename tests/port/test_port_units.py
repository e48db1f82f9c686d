"""Torch-free parts of `depaudit port`: argument parsing, generated cases, metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from depaudit.errors import UsageError
from depaudit.port.cases import EXAMPLE, PATTERNS, make_cases, scaled_variants
from depaudit.port.metrics import agreement, data_range, psnr, ssim
from depaudit.port.request import build_request, parse_dynamic, parse_input


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
    assert agreement(nan, nan.copy()).psnr_db == math.inf  # the same NaN in both agrees
    assert agreement(np.ones(3), np.ones(3)).ssim is None  # not image-like
    assert ssim(ref[0, 0], ref[0, 0], 1.0) == pytest.approx(1.0)
