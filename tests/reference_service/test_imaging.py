"""reference_service.imaging: decoding, limits against hostile images, gain-map PNG encoding."""

from __future__ import annotations

import io
import resource
import time

import numpy as np
import pytest
from gmnet_server_fixtures import bomb_png, jpeg_bytes, png_bytes, rgb_array, truncated
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from reference_service import imaging
from reference_service.imaging import ImageError

MAX = 4096 * 4096


def refused(data: bytes, max_pixels: int = MAX) -> ImageError:
    with pytest.raises(ImageError) as info:
        imaging.decode_image(data, max_pixels)
    return info.value


# -- decoding ---------------------------------------------------------------------------------
def test_png_rgb_decodes_exactly_to_float32_unit_range():
    src = rgb_array(37, 21)
    out = imaging.decode_image(png_bytes(src), MAX)
    assert out.dtype == np.float32 and out.shape == (21, 37, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, src.astype(np.float32) / 255.0)


def test_jpeg_decodes_to_pillows_samples():
    src = rgb_array(64, 48)
    data = jpeg_bytes(src, quality=95)
    out = imaging.decode_image(data, MAX)
    assert out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, np.asarray(Image.open(io.BytesIO(data))) / np.float32(255))
    assert np.abs(out - src / 255.0).mean() < 0.1  # and it is the picture we encoded


def test_grayscale_is_replicated_to_three_channels():
    gray = rgb_array(20, 18)[:, :, 0]
    out = imaging.decode_image(png_bytes(gray), MAX)
    assert out.shape == (18, 20, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray / np.float32(255.0))


def test_sixteen_bit_grayscale_keeps_its_precision():
    gray16 = (np.arange(40 * 30, dtype=np.uint32).reshape(30, 40) * 53 % 65536).astype(np.uint16)
    data = png_bytes(gray16)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    out = imaging.decode_image(data, MAX)
    np.testing.assert_allclose(out[:, :, 1], gray16 / 65535.0, rtol=0, atol=1e-7)
    # 8-bit quantisation would lose this: neighbouring 16-bit codes must stay distinct
    assert len(np.unique(out[:, :, 0])) == len(np.unique(gray16))


def test_rgba_drops_alpha_and_keeps_colour():
    src = rgb_array(16, 16)
    rgba = np.dstack([src, np.linspace(0, 255, 256).reshape(16, 16).astype(np.uint8)])
    out = imaging.decode_image(png_bytes(rgba), MAX)
    np.testing.assert_array_equal(out, src / np.float32(255.0))


def test_palette_png_is_converted_to_rgb():
    src = Image.fromarray(rgb_array(24, 24)).quantize(colors=16)
    data = io.BytesIO()
    src.save(data, format="PNG")
    out = imaging.decode_image(data.getvalue(), MAX)
    np.testing.assert_array_equal(out, np.asarray(src.convert("RGB")) / np.float32(255.0))


def test_exif_orientation_is_applied():
    src = rgb_array(40, 24)  # landscape as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = jpeg_bytes(src, exif=exif.tobytes())
    out = imaging.decode_image(data, MAX)
    assert out.shape == (40, 24, 3)  # displayed as portrait
    stored = np.asarray(Image.open(io.BytesIO(data))) / np.float32(255)
    np.testing.assert_array_equal(out, np.rot90(stored, k=-1))


def test_cmyk_jpeg_is_converted_to_rgb():
    image = Image.fromarray(rgb_array(32, 16)).convert("CMYK")
    data = io.BytesIO()
    image.save(data, format="JPEG", quality=95)
    out = imaging.decode_image(data.getvalue(), MAX)
    assert out.shape == (16, 32, 3) and out.min() >= 0.0 and out.max() <= 1.0


@settings(max_examples=25, deadline=None)
@given(
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    mode=st.sampled_from(["RGB", "L", "RGBA", "LA", "P", "I;16", "1"]),
    fmt=st.sampled_from(["PNG", "JPEG"]),
)
def test_any_supported_mode_decodes_to_unit_float_rgb(width, height, mode, fmt):
    if fmt == "JPEG" and mode not in ("RGB", "L"):
        mode = "RGB"
    base = Image.fromarray(rgb_array(width, height, seed=width * 41 + height))
    image = base.convert("I;16") if mode == "I;16" else base.convert(mode)
    data = io.BytesIO()
    image.save(data, format=fmt)
    out = imaging.decode_image(data.getvalue(), MAX)
    assert out.shape == (height, width, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


# -- refusals ---------------------------------------------------------------------------------
def test_empty_body_is_400():
    err = refused(b"")
    assert (err.status, err.code) == (400, "empty_body")


@pytest.mark.parametrize(
    "data", [b"hello world, not an image", b"GIF89a" + b"\0" * 40, b"BM" + b"\0" * 60, b"\x00" * 100]
)
def test_non_png_jpeg_bytes_are_415(data):
    err = refused(data)
    assert (err.status, err.code) == (415, "unsupported_image_type")


def test_a_real_gif_is_415():
    out = io.BytesIO()
    Image.fromarray(rgb_array(8, 8)).save(out, format="GIF")
    assert refused(out.getvalue()).status == 415


@pytest.mark.parametrize("keep", [0.02, 0.3, 0.9])
def test_truncated_png_is_400(keep):
    data = png_bytes(rgb_array(64, 64))
    err = refused(truncated(data, keep))
    assert (err.status, err.code) == (400, "corrupt_image")


def test_truncated_jpeg_is_400():
    err = refused(truncated(jpeg_bytes(rgb_array(64, 64)), 0.5))
    assert (err.status, err.code) == (400, "corrupt_image")


def test_png_with_a_broken_crc_is_400():
    data = bytearray(png_bytes(rgb_array(16, 16)))
    data[29] ^= 0xFF  # inside the IHDR CRC
    assert refused(bytes(data)).status == 400


def test_bomb_header_is_refused_before_any_pixel_is_decoded():
    data = bomb_png(30000, 30000)
    assert len(data) < 200
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    err = refused(data)
    elapsed = time.perf_counter() - started
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert (err.status, err.code) == (413, "image_too_large")
    assert "30000x30000" in err.message or "900000000 pixels" in err.message
    # decoding would allocate 2.7 GB (uint8 RGB); the process peak must not move by 100 MB
    assert peak_after - peak_before < 100 * 1024
    assert elapsed < 1.0


def test_bomb_below_pillows_guard_is_refused_by_the_service_limit():
    # 12000 x 7000 = 84 M pixels: under Pillow's own 2 x 89 M guard, over the service limit.
    err = refused(bomb_png(12000, 7000), max_pixels=MAX)
    assert (err.status, err.code) == (413, "image_too_large")
    assert "12000x7000" in err.message


def test_pixel_limit_is_inclusive():
    ok = png_bytes(rgb_array(10, 10))
    assert imaging.decode_image(ok, 100).shape == (10, 10, 3)
    err = refused(png_bytes(rgb_array(10, 11)), max_pixels=100)
    assert (err.status, err.code) == (413, "image_too_large")


def test_pillow_bomb_error_is_also_413_when_the_configured_limit_is_higher():
    # Above 2 x Image.MAX_IMAGE_PIXELS Pillow refuses in Image.open itself; still a clean 413.
    limit = Image.MAX_IMAGE_PIXELS or 89_478_485
    side = int((2 * limit) ** 0.5) + 10
    err = refused(bomb_png(side, side), max_pixels=10**12)
    assert err.status == 413


@pytest.mark.parametrize(
    "content_type",
    [None, "", "image/png", "image/jpeg", "image/png; charset=binary", "application/octet-stream", "IMAGE/PNG"],
)
def test_accepted_content_types(content_type):
    imaging.check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "image/gif", "multipart/form-data; boundary=x"]
)
def test_refused_content_types_are_415(content_type):
    with pytest.raises(ImageError) as info:
        imaging.check_content_type(content_type)
    assert info.value.status == 415


def test_body_size_limit_is_inclusive():
    imaging.check_body_size(1000, 1000)
    with pytest.raises(ImageError) as info:
        imaging.check_body_size(1001, 1000)
    assert (info.value.status, info.value.code) == (413, "body_too_large")


# -- encoding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("bits,step", [(16, 1 / 65535), (8, 1 / 255)])
def test_gain_map_png_round_trips_within_half_a_code(bits, step):
    rng = np.random.default_rng(3)
    gain = rng.random((23, 31)).astype(np.float32)
    data = imaging.encode_gain_map(gain, qmax=2.5, bits=bits)
    back, qmax = imaging.decode_gain_map_png(data)
    assert back.shape == gain.shape and qmax == 2.5
    assert np.abs(back - gain).max() <= step / 2 + 1e-7
    image = Image.open(io.BytesIO(data))
    assert image.mode == ("I;16" if bits == 16 else "L")


def test_gain_map_is_clipped_to_unit_range():
    gain = np.array([[-0.5, 0.0, 0.25], [1.0, 1.5, 0.5]], dtype=np.float32)
    back, _ = imaging.decode_gain_map_png(imaging.encode_gain_map(gain, qmax=1.0))
    np.testing.assert_allclose(back, np.clip(gain, 0, 1), atol=1e-5)


@pytest.mark.parametrize(
    "gain,bits",
    [
        (np.full((4, 4), np.nan, np.float32), 16),
        (np.zeros((4, 4, 1), np.float32), 16),
        (np.zeros((0, 4), np.float32), 16),
        (np.zeros((4, 4), np.float32), 12),
    ],
)
def test_encode_refuses_bad_gain_maps(gain, bits):
    with pytest.raises(ValueError):
        imaging.encode_gain_map(gain, qmax=1.0, bits=bits)
