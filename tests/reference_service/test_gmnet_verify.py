"""Every backend against the torch goldens, plus the metrics and the verify CLI themselves.

ONNX Runtime and tinygrad checks never skip: a missing golden or runtime fails. Only the torch backend
(dev-only) skips when torch is absent. Named test_gmnet_verify.py to avoid basename clashes in tests/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reference_service import verify
from reference_service.preprocess import to_thumbnail

REPO = Path(__file__).resolve().parents[2]
ALL_BACKENDS = ("onnxruntime", "tinygrad", "torch")
CASES = tuple(verify.CASES)


# ------------------------------------------------------------------ goldens themselves
def test_every_golden_exists_and_is_valid(goldens):
    assert set(goldens) == {"gradient", "checkerboard", "portrait", "landscape", "scene"}
    for case, golden in goldens.items():
        h, w = verify.CASES[case]
        assert h % 2 == 0 and w % 2 == 0
        assert golden["gain_map"].dtype == np.float32 and golden["gain_map"].shape == (h, w)
        assert np.ptp(golden["gain_map"]) > 0, f"{case}: degenerate golden"
    assert verify.CASES["portrait"][0] > verify.CASES["portrait"][1]
    assert verify.CASES["landscape"][0] < verify.CASES["landscape"][1]


@pytest.mark.parametrize("case", CASES)
def test_golden_inputs_are_reproduced_by_the_generators(goldens, case):
    image = verify.make_case(case)
    np.testing.assert_array_equal(image, goldens[case]["image"])
    np.testing.assert_allclose(to_thumbnail(image), goldens[case]["thumbnail"], atol=1e-6)


def test_missing_golden_is_a_failure_not_a_skip(tmp_path):
    with pytest.raises(verify.GoldenError, match=r"gradient\.npz"):
        verify.load_golden("gradient", tmp_path)


def test_corrupt_golden_names_the_file(tmp_path):
    (tmp_path / "portrait.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(verify.GoldenError, match=r"portrait\.npz"):
        verify.load_golden("portrait", tmp_path)


# ------------------------------------------------------------------ backend x case agreement
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_backend_matches_golden(backend_outputs, goldens, backend, case):
    gain_map, qmax = backend_outputs(backend)[case]
    golden = goldens[case]
    ref = golden["gain_map"].astype(np.float64)
    rng = float(np.ptp(ref))
    np.testing.assert_allclose(gain_map, ref, rtol=0, atol=verify.ATOL)
    np.testing.assert_allclose(gain_map / rng, ref / rng, rtol=0, atol=verify.ATOL)  # at the output's own scale
    assert verify.psnr(ref, gain_map) >= verify.PSNR_MIN_DB
    assert verify.ssim(ref, gain_map) >= verify.SSIM_MIN
    assert np.max(np.abs(gain_map - ref)) / rng <= 1e-5
    assert qmax == pytest.approx(float(golden["qmax"]), rel=verify.QMAX_RTOL)
    result = verify.compare(case, golden, gain_map, qmax)
    assert result.passed, result.failures


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_backend_output_invariants(backend_outputs, goldens, backend, case):
    gain_map, qmax = backend_outputs(backend)[case]
    assert gain_map.dtype == np.float32 and gain_map.shape == verify.CASES[case]
    assert isinstance(qmax, float) and np.isfinite(qmax)
    assert np.isfinite(gain_map).all()
    # non-degenerate: varies across the image, not a handful of values, same scale as the reference
    assert np.ptp(gain_map) > 0 and np.unique(gain_map).size > gain_map.size // 10
    assert np.ptp(gain_map) == pytest.approx(np.ptp(goldens[case]["gain_map"]), rel=1e-3)
    # bounded: the normalized gain map lives in [0, 1]; far outside it would mean a broken layer
    assert gain_map.min() > -0.5 and gain_map.max() < 1.5


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_the_service_pngs_match_the_goldens_within_one_level(backend_outputs, goldens, backend):
    for case, golden in goldens.items():
        gain_map, qmax = backend_outputs(backend)[case]
        for bits in (8, 16):
            png = verify.png_agreement(golden["gain_map"], float(golden["qmax"]), gain_map, qmax, bits)
            assert png.max_level_diff <= 1, (case, bits, png)
            assert png.levels > (20 if bits == 8 else 500), (case, bits, png)  # real content, not a flat map


def test_a_png_off_by_two_levels_fails_the_bar(goldens):
    golden = goldens["scene"]
    off = golden["gain_map"] + np.float32(2.5 / 65535)
    result = verify.compare("scene", golden, off, float(golden["qmax"]))
    assert any("16-bit PNG differs by" in f for f in result.failures)


def test_different_inputs_give_different_maps(backend_outputs):
    outputs = backend_outputs("onnxruntime")
    a, b = outputs["gradient"][0], outputs["checkerboard"][0]
    assert not np.allclose(a, b, rtol=0, atol=1e-3 * np.ptp(a))


def test_torch_reproduces_goldens_when_regenerated(tmp_path, goldens):
    pytest.importorskip("torch", reason="regenerating goldens needs torch (dev-only)")
    verify.regenerate_goldens(tmp_path)
    for case in CASES:
        fresh = verify.load_golden(case, tmp_path)
        np.testing.assert_array_equal(fresh["image"], goldens[case]["image"])
        assert verify.psnr(goldens[case]["gain_map"], fresh["gain_map"]) >= 120.0
        assert float(fresh["qmax"]) == pytest.approx(float(goldens[case]["qmax"]), rel=1e-5)


# ------------------------------------------------------------------ metrics
def test_psnr_of_known_error():
    ref = np.linspace(0.0, 2.0, 1000).reshape(20, 50)
    test = ref + 0.02 * np.where(np.arange(1000).reshape(20, 50) % 2, 1, -1)  # MSE = 4e-4, range 2
    assert verify.psnr(ref, test) == pytest.approx(10 * np.log10(4 / 4e-4), abs=1e-9)
    assert verify.psnr(ref, ref) == float("inf")
    with pytest.raises(ValueError):
        verify.psnr(ref, ref[:, :10])
    with pytest.raises(ValueError):
        verify.psnr(np.ones((4, 4)), np.ones((4, 4)))


def test_ssim_properties():
    rng = np.random.default_rng(0)
    ref = np.cumsum(rng.standard_normal((64, 64)), axis=1)
    assert verify.ssim(ref, ref) == pytest.approx(1.0, abs=1e-12)
    noisy = ref + rng.standard_normal(ref.shape) * 0.05 * np.ptp(ref)
    noisier = ref + rng.standard_normal(ref.shape) * 0.2 * np.ptp(ref)
    assert verify.ssim(ref, noisier) < verify.ssim(ref, noisy) < 0.99
    # scale invariance with range-relative constants
    assert verify.ssim(ref * 1e-14, noisy * 1e-14) == pytest.approx(verify.ssim(ref, noisy), rel=1e-6)
    # a structure-destroying change scores low
    assert verify.ssim(ref, ref[::-1].copy()) < 0.5


def test_gaussian_window_is_normalised_and_symmetric():
    g = verify.gaussian_window(11, 1.5)
    assert g.sum() == pytest.approx(1.0) and np.allclose(g, g[::-1]) and g.argmax() == 5


def test_compare_flags_a_perturbed_output(goldens):
    golden = goldens["portrait"]
    bad = golden["gain_map"].copy()
    bad[10:20, 10:20] += 0.05 * np.ptp(bad)
    result = verify.compare("portrait", golden, bad, float(golden["qmax"]) * 1.01)
    assert not result.passed
    assert any("PSNR" in f for f in result.failures) and any("qmax" in f for f in result.failures)
    shape = verify.compare("portrait", golden, bad[:-2], float(golden["qmax"]))
    assert not shape.passed and "shape" in shape.failures[0]


# ------------------------------------------------------------------ CLI
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reference_service.verify", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_cli_json_reports_each_backend():
    proc = _cli("--json", "--backend", "onnxruntime")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["schema"] == 1 and report["passed"] is True
    cases = report["backends"]["onnxruntime"]["cases"]
    assert set(cases) == set(CASES)
    assert all(c["psnr_db"] >= 100 and c["ssim"] >= 0.9999 for c in cases.values())


def test_cli_missing_golden_exits_3_with_one_line(tmp_path):
    proc = _cli("--json", "--backend", "onnxruntime", "--goldens", str(tmp_path))
    assert proc.returncode == 3
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "gradient.npz" in proc.stderr
