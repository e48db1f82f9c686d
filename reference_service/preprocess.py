"""Model-side preprocessing shared by every backend: thumbnail and even-size padding (numpy + Pillow only).

* :func:`to_thumbnail` resizes a float32 (H, W, 3) image in [0, 1] to the 256x256x3 thumbnail GMNet's
  global branch expects, with Pillow's bicubic filter applied per channel in float mode ("F"), so no
  8-bit quantisation happens and the result is deterministic for a given Pillow version.
* :func:`pad_to_even` pads odd heights/widths by one row/column (edge replication) because GMNet needs
  even H and W; :func:`crop_to` undoes it on the gain map.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

THUMBNAIL_SIZE = 256


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise ValueError(f"expected an (H, W, 3) array, got shape {shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected a non-empty image, got shape {image.shape}")


def to_thumbnail(image: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """Return the bicubic ``size`` x ``size`` x 3 float32 thumbnail of ``image`` (float (H, W, 3) in [0,1]).

    Values are clipped to [0, 1] after resampling (bicubic overshoots near edges). Raises ``ValueError``
    for anything that is not a non-empty (H, W, 3) array.
    """
    _check_image(image)
    src = np.ascontiguousarray(image, dtype=np.float32)
    channels = []
    for c in range(3):
        plane = Image.fromarray(np.ascontiguousarray(src[:, :, c]), mode="F")
        channels.append(np.asarray(plane.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32))
    thumb = np.stack(channels, axis=2)
    return np.clip(thumb, 0.0, 1.0, out=thumb)


def pad_to_even(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad ``image`` (H, W, ...) at the bottom/right by edge replication to even H and W.

    Returns ``(padded, (h, w))`` where ``(h, w)`` is the original size for :func:`crop_to`. An already
    even image is returned as is (no copy).
    """
    h, w = image.shape[:2]
    pad_h, pad_w = h % 2, w % 2
    if not pad_h and not pad_w:
        return image, (h, w)
    pad = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, mode="edge"), (h, w)


def crop_to(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop the first two axes of ``array`` back to ``size`` = (h, w) (the inverse of :func:`pad_to_even`)."""
    h, w = size
    if array.shape[0] < h or array.shape[1] < w:
        raise ValueError(f"cannot crop {array.shape[:2]} to {(h, w)}")
    return array[:h, :w]
