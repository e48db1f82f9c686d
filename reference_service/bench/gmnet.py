"""The GMNet service's side of the bench: its variants, its input, its API and how answers are compared."""

from __future__ import annotations

import io
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from depaudit.errors import ToolError

VARIANTS = ("torch-cuda", "torch-cpu", "onnxruntime", "tinygrad")
REFERENCE_ORDER = ("torch-cuda", "torch-cpu")  # the torch reference: whichever of these ran
TAG_PREFIX = "depaudit-bench/gmnet"
GAINMAP_PATH = "/v1/gainmap"
ORT_BUDGET_BYTES = 250_000_000  # the ONNX Runtime image's CI budget
ORT_HEADROOM = 0.10  # kept free under that budget


def sample_png(width: int, height: int, seed: int = 7) -> bytes:
    """A deterministic photo-like 8-bit RGB PNG: a procedural outdoor scene (sky, sun, clouds, ground,
    glossy objects; ``reference_service.scenes``) as its SDR rendition, so gain maps have real content."""
    import numpy as np  # the `service` group: imported only when a bench runs (see the package docstring)
    from PIL import Image

    from reference_service.scenes import make_pair

    sdr = make_pair(seed, height, width, "outdoor").sdr
    out = io.BytesIO()
    Image.fromarray(np.rint(sdr * 255.0).astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Answer:
    """What the service answered for one input: the gain-map PNG and the floats in its headers."""

    png: bytes
    qmax: float
    gain_min: float = math.nan
    gain_max: float = math.nan


def post_gainmap(url: str, png: bytes, timeout: float) -> tuple[float, Answer]:
    """POST one PNG to the service; returns (seconds, answer). Raises ToolError on a non-200 answer."""
    request = urllib.request.Request(url + GAINMAP_PATH, data=png, method="POST", headers={"Content-Type": "image/png"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = resp.read()
            floats = (float(resp.headers.get(f"X-Gainmap-{h}", "nan")) for h in ("Qmax", "Min", "Max"))
            answer = Answer(body, *floats)
    except urllib.error.HTTPError as exc:
        raise ToolError(
            ["POST", url + GAINMAP_PATH],
            exc.read().decode(errors="replace"),
            what=f"POST {GAINMAP_PATH} answered {exc.code}",
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ToolError(["POST", url + GAINMAP_PATH], str(exc), what=f"POST {GAINMAP_PATH} failed: {exc}") from None
    return time.monotonic() - start, answer


def decode_levels(png: bytes) -> Any:
    """The gain-map PNG's integer samples (uint16 for 16-bit, uint8 for 8-bit) as a numpy array."""
    import numpy as np  # the `service` group: imported only when a bench runs (see the package docstring)
    from PIL import Image

    image = Image.open(io.BytesIO(png), formats=["PNG"])
    raw = np.asarray(image)
    return raw.astype(np.uint16 if raw.dtype != np.uint8 else np.uint8)


@dataclass
class AgreementResult:
    """A variant's gain-map PNG against the reference variant's for the same input."""

    size: str
    reference: str
    levels: int | None = None  # distinct sample values in the reference PNG (1 = a constant map)
    max_level_diff: int | None = None  # largest |difference| in PNG levels
    differing_pixels: int | None = None
    pixels: int | None = None
    psnr_db: float | None = None  # of the dequantised maps, peak 1.0; None when identical
    qmax_rel_err: float | None = None
    range_rel_err: float | None = None  # X-Gainmap-Min/-Max against the reference's, over its range
    identical: bool = False
    note: str | None = None


def _rel(a: float, b: float, scale: float) -> float | None:
    if not all(math.isfinite(x) for x in (a, b, scale)):
        return None
    return abs(a - b) / max(abs(scale), 1e-38)


def agreement(size: str, reference: str, ref: Answer, out: Answer) -> AgreementResult:
    """Compare two answers for the same input: PNG levels (max difference, pixels that differ, PSNR),
    qmax and the float gain range from the headers."""
    import numpy as np  # the `service` group: imported only when a bench runs (see the package docstring)

    a, b = decode_levels(ref.png), decode_levels(out.png)
    if a.shape != b.shape:
        return AgreementResult(size, reference, note=f"shape {b.shape} != reference {a.shape}")
    scale = 65535.0 if a.dtype == np.uint16 else 255.0
    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    mse = float(np.mean((diff / scale) ** 2))
    spread = ref.gain_max - ref.gain_min
    range_errors = [_rel(out.gain_min, ref.gain_min, spread), _rel(out.gain_max, ref.gain_max, spread)]
    levels = len(np.unique(a))
    return AgreementResult(
        size,
        reference,
        levels=levels,
        max_level_diff=int(diff.max()),
        differing_pixels=int(np.count_nonzero(diff)),
        pixels=int(diff.size),
        psnr_db=None if mse == 0 else 10 * math.log10(1.0 / mse),
        qmax_rel_err=_rel(out.qmax, ref.qmax, ref.qmax),
        range_rel_err=None if None in range_errors else max(range_errors),  # type: ignore[type-var]
        identical=mse == 0,
        note="reference gain map is constant: the PNG comparison says nothing" if levels < 2 else None,
    )


def targets(results: list[Any]) -> dict[str, Any]:
    """The issue's targets from the measurements: the ORT image within its 250 MB budget with 10 %
    headroom and at most 1/20 of torch-cuda; its cold build at least 5x faster. None when missing."""
    by = {r.variant: r for r in results}
    cuda, ort = by.get("torch-cuda"), by.get("onnxruntime")
    out: dict[str, Any] = {
        "ort_size_limit_bytes": ORT_BUDGET_BYTES,
        "ort_headroom_limit_bytes": int(ORT_BUDGET_BYTES * (1 - ORT_HEADROOM)),
    }
    if ort and ort.size:
        out["ort_size_bytes"] = ort.size
        out["ort_within_250MB"] = ort.size <= ORT_BUDGET_BYTES
        out["ort_headroom_10pct"] = ort.size <= out["ort_headroom_limit_bytes"]
    if cuda and ort and cuda.size and ort.size:
        out["size_ratio"] = round(cuda.size / ort.size, 2)
        out["ort_at_most_1_20th"] = ort.size * 20 <= cuda.size
    if cuda and ort and cuda.build_seconds and ort.build_seconds:
        out["build_speedup"] = round(cuda.build_seconds / ort.build_seconds, 2)
        out["ort_build_5x_faster"] = cuda.build_seconds >= 5 * ort.build_seconds
    return out
