"""The procedural SDR -> HDR pairs the bundled weights are trained and judged on (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from reference_service import scenes


@pytest.mark.parametrize("kind", scenes.KINDS)
def test_pairs_are_deterministic_and_well_formed(kind):
    a, b = scenes.make_pair(123, 96, 128, kind), scenes.make_pair(123, 96, 128, kind)
    np.testing.assert_array_equal(a.sdr, b.sdr)
    np.testing.assert_array_equal(a.gain_stops, b.gain_stops)
    assert a.kind == kind and a.sdr.shape == (96, 128, 3) and a.hdr.shape == (96, 128, 3)
    assert a.sdr.dtype == np.float32 and a.sdr.min() >= 0 and a.sdr.max() <= 1
    assert np.allclose(a.sdr * 255, np.rint(a.sdr * 255), atol=1e-4)  # 8-bit levels
    assert a.hdr.min() >= 0 and a.hdr.max() <= scenes.PEAK
    assert a.gain_stops.min() >= 0 and a.gain_stops.max() <= scenes.LOG2_PEAK
    assert a.qmax_stops == pytest.approx(float(a.gain_stops.max()))
    assert a.ngm.max() == pytest.approx(1.0) or a.qmax_stops == 0
    assert not np.array_equal(a.sdr, scenes.make_pair(124, 96, 128, kind).sdr)


def test_shadows_gain_little_and_highlights_up_to_three_stops():
    gains_low, gains_high = [], []
    for seed in range(12):
        pair = scenes.make_pair(seed, 128, 192)
        y = scenes.luminance(np.power(pair.sdr, scenes.GAMMA))
        gains_low.append(pair.gain_stops[y < 0.3])
        gains_high.append(pair.gain_stops[y > 0.99])
    low, high = np.concatenate(gains_low), np.concatenate(gains_high)
    assert np.percentile(low, 99) < 0.05  # below the knee both renditions agree
    assert high.mean() > 1.0 and high.max() > 2.5  # clipped SDR highlights: up to log2(8) = 3 stops


def test_the_gain_map_is_the_papers_log_ratio_and_recovers_the_hdr():
    pair = scenes.make_pair(7, 128, 192, "outdoor")
    y_sdr = scenes.luminance(np.power(pair.sdr, scenes.GAMMA))
    y_hdr = scenes.luminance(pair.hdr)
    unclipped = (pair.gain_stops > 0) & (pair.gain_stops < scenes.LOG2_PEAK - 1e-3)  # G is clipped to [0, 3]
    # G = log2((Y_hdr + k) / (Y_sdr + k)), with Y_sdr from the decoded 8-bit SDR
    np.testing.assert_allclose(
        ((y_sdr + scenes.OFFSET) * np.exp2(pair.gain_stops))[unclipped], (y_hdr + scenes.OFFSET)[unclipped], rtol=1e-4
    )
    recovered = scenes.reconstruct_hdr(pair.sdr, pair.ngm, pair.qmax_net)
    assert scenes.hdr_psnr(pair.hdr, recovered) > scenes.hdr_psnr(pair.hdr, np.power(pair.sdr, scenes.GAMMA)) + 5


def test_tone_curve_is_identity_below_the_knee_and_bounded_above():
    y = np.linspace(0, 100, 10001, dtype=np.float32)
    for ceiling in (1.0, scenes.PEAK):
        out = scenes.tone_curve(y, 0.7, ceiling)
        assert np.array_equal(out[y < 0.7], y[y < 0.7]) and out.max() <= ceiling and np.all(np.diff(out) >= 0)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="outdoor, night, indoor"):
        scenes.make_pair(1, 32, 32, "underwater")
