"""A photo-like scene through every backend, as the service answers it: a gain map with real content
(many PNG levels, highlights boosted far more than shadows) and the 8-bit and 16-bit PNGs of every backend
within one level of each other.

The scene is a procedural outdoor picture (sky, sun, clouds, textured ground, glossy spheres; never seen in
training: training uses other seeds) with its true gain map, so "highlights" are the pixels whose true gain
exceeds one stop and "shadows" those under 0.05 stop. torch (dev-only) joins when installed.
"""

from __future__ import annotations

import importlib.util
import io
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from reference_service.imaging import encode_gain_map
from reference_service.scenes import LOG2_PEAK, make_pair
from reference_service.server import make_predict

SCENE = make_pair(31337, 192, 288, "outdoor")
BACKENDS = ["onnxruntime", "tinygrad"] + (["torch"] if importlib.util.find_spec("torch") else [])


@pytest.fixture(scope="module")
def answers(shared_backend) -> dict[str, tuple[np.ndarray, float]]:
    return {name: make_predict(shared_backend(name))(SCENE.sdr) for name in BACKENDS}


def levels(gain: np.ndarray, qmax: float, bits: int) -> np.ndarray:
    png = encode_gain_map(gain, qmax=qmax, bits=bits)
    return np.asarray(Image.open(io.BytesIO(png), formats=["PNG"])).astype(np.int64)


def test_the_scene_has_highlights_and_shadows():
    assert (SCENE.gain_stops > 1.0).sum() > 200 and (SCENE.gain_stops < 0.05).sum() > 10_000


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_gain_map_has_real_content(answers, backend):
    gain, qmax = answers[backend]
    assert np.unique(levels(gain, qmax, 16)).size > 1000
    assert np.unique(levels(gain, qmax, 8)).size > 50
    assert 0.5 < qmax < 1.2  # Qmax / log2(PEAK): the scene has a sun, so close to 3 stops


@pytest.mark.parametrize("backend", BACKENDS)
def test_highlights_are_boosted_more_than_shadows(answers, backend):
    gain, qmax = answers[backend]
    stops = np.clip(gain, 0, 1) * qmax * LOG2_PEAK
    highlights = stops[SCENE.gain_stops > 1.0].mean()
    shadows = stops[SCENE.gain_stops < 0.05].mean()
    assert highlights > 1.0 and shadows < 0.3 and highlights > shadows + 1.0, (highlights, shadows)


@pytest.mark.parametrize("pair", list(combinations(BACKENDS, 2)), ids="-".join)
@pytest.mark.parametrize("bits", [8, 16])
def test_every_backend_returns_the_same_png_within_one_level(answers, pair, bits):
    (ga, qa), (gb, qb) = answers[pair[0]], answers[pair[1]]
    diff = np.abs(levels(ga, qa, bits) - levels(gb, qb, bits))
    assert diff.max() <= 1, (
        f"{pair}: {bits}-bit PNGs differ by up to {diff.max()} levels at {np.count_nonzero(diff)} pixels"
    )
