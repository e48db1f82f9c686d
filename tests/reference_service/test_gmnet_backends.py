"""The backends contract (what the server codes against) and the model-side preprocessing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reference_service.backends import (
    BACKENDS,
    Backend,
    check_inputs,
    ensure_tinygrad_cache_usable,
    load_backend,
    physical_cores,
)
from reference_service.preprocess import crop_to, pad_to_even, to_thumbnail

REPO = Path(__file__).resolve().parents[2]


def test_backend_names_and_unknown_name():
    assert BACKENDS == ("onnxruntime", "tinygrad", "torch")
    with pytest.raises(ValueError, match="onnxruntime, tinygrad, torch"):
        load_backend("tensorflow")


def test_missing_onnx_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.onnx"):
        load_backend("onnxruntime", onnx_path=tmp_path / "nope.onnx")


def test_loaded_backend_satisfies_protocol():
    backend = load_backend("onnxruntime")
    assert isinstance(backend, Backend) and backend.name == "onnxruntime"


@pytest.mark.parametrize(
    "shape,thumb,match",
    [
        ((31, 32, 3), (256, 256, 3), "even"),
        ((32, 32), (256, 256, 3), r"\(H, W, 3\)"),
        ((8, 8, 3), (256, 256, 3), "at least 16x16"),
        ((32, 32, 3), (128, 128, 3), "thumbnail"),
    ],
)
def test_check_inputs_rejects_bad_shapes(shape, thumb, match):
    with pytest.raises(ValueError, match=match):
        check_inputs(np.zeros(shape, np.float32), np.zeros(thumb, np.float32))


def test_importing_the_contract_loads_no_runtime():
    code = (
        "import sys\nimport reference_service.backends, reference_service.preprocess, reference_service.verify\n"
        "print(sorted(m for m in ('torch', 'tinygrad', 'onnxruntime') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_physical_cores_is_within_cpu_count():
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)


def test_thumbnail_shape_range_and_determinism():
    rng = np.random.default_rng(0)
    image = rng.random((100, 60, 3), dtype=np.float32)
    thumb = to_thumbnail(image)
    assert thumb.shape == (256, 256, 3) and thumb.dtype == np.float32
    assert thumb.min() >= 0.0 and thumb.max() <= 1.0
    np.testing.assert_array_equal(thumb, to_thumbnail(image.copy()))
    # a constant image stays constant; channels are resized independently
    flat = np.zeros((40, 50, 3), np.float32)
    flat[..., 1] = 0.25
    t = to_thumbnail(flat)
    assert np.allclose(t[..., 0], 0) and np.allclose(t[..., 1], 0.25, atol=1e-6)


def test_thumbnail_is_bicubic_not_nearest():
    ramp = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 64, axis=0).repeat(3, axis=2)
    row = to_thumbnail(ramp)[128, :, 0]
    assert np.unique(np.round(row, 6)).size > 200  # upsampling a ramp gives (nearly) all-distinct values
    assert np.all(np.diff(row[8:-8]) > 0)


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 4), np.float32), np.zeros((0, 4, 3), np.float32)]
)
def test_thumbnail_rejects_bad_arrays(bad):
    with pytest.raises(ValueError):
        to_thumbnail(bad)


@pytest.mark.parametrize("h,w", [(31, 32), (32, 31), (31, 31), (32, 32)])
def test_pad_to_even_and_crop_roundtrip(h, w):
    image = np.arange(h * w * 3, dtype=np.float32).reshape(h, w, 3)
    padded, size = pad_to_even(image)
    assert size == (h, w) and padded.shape[0] % 2 == 0 and padded.shape[1] % 2 == 0
    assert padded.shape[:2] == (h + h % 2, w + w % 2)
    np.testing.assert_array_equal(crop_to(padded, size), image)
    if h % 2:
        np.testing.assert_array_equal(padded[-1, :w], image[-1])  # edge replication
    if (h, w) == (32, 32):
        assert padded is image


def test_crop_to_rejects_growing():
    with pytest.raises(ValueError):
        crop_to(np.zeros((4, 4)), (5, 4))


def test_tinygrad_cache_is_disabled_when_its_folder_is_unwritable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder would go")
    env = {"XDG_CACHE_HOME": str(blocker / "sub")}
    assert ensure_tinygrad_cache_usable(env) is False and env["CACHELEVEL"] == "0"
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert ensure_tinygrad_cache_usable(env) is True and "CACHELEVEL" not in env
    assert (tmp_path / "cache" / "tinygrad").is_dir()
    env = {"CACHELEVEL": "0", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert ensure_tinygrad_cache_usable(env) is False
