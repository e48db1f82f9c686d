"""Decode request images, encode gain maps, and refuse hostile input before it costs memory.

Only PNG and JPEG are accepted, recognised by their magic bytes (the Content-Type header is checked
for plausibility but never trusted). The pixel count is read from the image header and refused
before any pixel is decoded, so a small file that claims 30000 x 30000 pixels (a decompression
bomb) is rejected without allocating its 2.7 GB of RGB samples.

Colour handling (documented in SERVER.md):
- EXIF orientation is applied, so the gain map matches the image as displayed.
- Grayscale is replicated to three channels; alpha is dropped (colour channels used as stored);
  palette, CMYK and bilevel images are converted to RGB by Pillow.
- 16-bit grayscale PNG keeps its precision (divided by 65535). Pillow reduces 16-bit RGB PNG to
  8 bits per channel on decode, so such images carry 8-bit precision into the model.
- ICC profiles are ignored: samples are fed to the model as stored.

Gain maps are encoded as single-channel PNG, 16-bit by default (value / 65535) or 8-bit
(value / 255), after clipping to [0, 1]; the PNG carries ``qmax`` in a ``tEXt`` chunk.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ACCEPTED_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/pjpeg", "application/octet-stream"})
GAIN_MAP_BITS = (8, 16)


class ImageError(Exception):
    """A request image the service refuses; carries the HTTP status and a stable error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check_content_type(content_type: str | None) -> None:
    """Raise ImageError(415) unless the media type is absent or one the service decodes."""
    if not content_type:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type not in ACCEPTED_CONTENT_TYPES:
        raise ImageError(
            415, "unsupported_media_type", f"Content-Type {media_type!r} is not accepted; send image/png or image/jpeg"
        )


def sniff_format(data: bytes) -> str | None:
    """Return "PNG" or "JPEG" from the leading magic bytes, or None."""
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    return None


def check_body_size(size: int, max_body_bytes: int) -> None:
    """Raise ImageError(413) when a body of ``size`` bytes exceeds the limit."""
    if size > max_body_bytes:
        raise ImageError(413, "body_too_large", f"request body exceeds the limit of {max_body_bytes} bytes")


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError(400, "corrupt_image", f"image header gives an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageError(
            413,
            "image_too_large",
            f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels} pixels",
        )


def open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Open ``data`` lazily (header only) and enforce type and pixel limits.

    Returns the unloaded Pillow image. Raises ImageError: 400 empty/corrupt header,
    415 not PNG/JPEG, 413 too many pixels.
    """
    if not data:
        raise ImageError(400, "empty_body", "request body is empty; send a PNG or JPEG image")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageError(415, "unsupported_image_type", "body is not a PNG or JPEG image (unrecognised leading bytes)")
    try:
        # Image.open parses the header only; formats= keeps every other decoder out of reach.
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (2 x Image.MAX_IMAGE_PIXELS) fired while reading the header.
        raise ImageError(413, "image_too_large", f"{exc} The service limit is {max_pixels} pixels.") from None
    except Exception as exc:
        raise ImageError(400, "corrupt_image", f"cannot read {fmt} header: {exc}") from None
    _check_pixels(image.size, max_pixels)
    return image


def _to_float_rgb(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        gray = np.asarray(image).astype(np.float32)
        gray = np.clip(gray, 0.0, 65535.0) / np.float32(65535.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        gray = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ("1", "L", "LA"):
        gray = np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode != "RGB":
        # P (with or without transparency), PA, RGBA, CMYK, YCbCr, LAB, ...: alpha is dropped.
        image = image.convert("RGBA").convert("RGB") if "A" in mode or mode == "P" else image.convert("RGB")
    return np.asarray(image, dtype=np.float32) / np.float32(255.0)


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode a PNG/JPEG body into float32 (H, W, 3) in [0, 1], display-oriented.

    Raises ImageError: 400 empty/corrupt/truncated, 413 too many pixels, 415 not PNG/JPEG.
    """
    image = open_checked(data, max_pixels)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
        array = _to_float_rgb(image)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(413, "image_too_large", "not enough memory to decode the image") from None
    except Exception as exc:
        raise ImageError(400, "corrupt_image", f"cannot decode {image.format} image data: {exc}") from None
    _check_pixels((array.shape[1], array.shape[0]), max_pixels)
    return np.ascontiguousarray(array, dtype=np.float32)


def encode_gain_map(gain_map: np.ndarray, *, qmax: float, bits: int = 16, compress_level: int = 1) -> bytes:
    """Encode a float (H, W) gain map as a grayscale PNG of ``bits`` (8 or 16) per sample.

    Values are clipped to [0, 1] and scaled to the full integer range. Raises ValueError on a
    wrong shape, an unsupported bit depth or non-finite values.
    """
    if bits not in GAIN_MAP_BITS:
        raise ValueError(f"bits must be one of {GAIN_MAP_BITS}, got {bits}")
    gain = np.asarray(gain_map)
    if gain.ndim != 2 or gain.size == 0:
        raise ValueError(f"gain map must be a non-empty 2-D array, got shape {gain.shape}")
    if not np.all(np.isfinite(gain)):
        raise ValueError("gain map contains non-finite values")
    scale = 65535.0 if bits == 16 else 255.0
    dtype = np.uint16 if bits == 16 else np.uint8
    quantised = np.rint(np.clip(gain.astype(np.float64), 0.0, 1.0) * scale).astype(dtype)
    info = PngImagePlugin.PngInfo()
    info.add_text("gmnet:qmax", repr(float(qmax)))
    info.add_text("gmnet:scale", f"value/{int(scale)}")
    out = io.BytesIO()
    Image.fromarray(quantised).save(out, format="PNG", pnginfo=info, compress_level=compress_level)
    return out.getvalue()


def decode_gain_map_png(data: bytes) -> tuple[np.ndarray, float]:
    """Inverse of :func:`encode_gain_map`: return (float32 gain map in [0, 1], qmax)."""
    image = Image.open(io.BytesIO(data), formats=["PNG"])
    image.load()
    raw = np.asarray(image)
    scale = 65535.0 if raw.dtype == np.uint16 or image.mode.startswith("I") else 255.0
    qmax = float(image.text.get("gmnet:qmax", "nan")) if hasattr(image, "text") else float("nan")
    return (raw.astype(np.float32) / np.float32(scale)), qmax
