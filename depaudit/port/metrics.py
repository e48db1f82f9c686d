"""Agreement metrics between a golden (torch) output and a runtime's output, and the verdict on them
(numpy only).

PSNR is relative to the output's own scale: the peak is the larger of the golden's peak-to-peak range
and its largest magnitude (1.0 when it is all zeros). Peak-to-peak alone would judge an untrained
network's tiny outputs fairly but would fail a near-constant output far from zero on float32 rounding
alone (an adaptive pool of a bright image: values ~0.99, range ~1e-3, rounding ~1e-6 -> 72 dB);
a fixed peak of 1.0 would make any runtime look perfect on outputs of magnitude 1e-14.
Identical arrays give PSNR = inf. A NaN or infinity in either output is never agreement: it is counted,
and the figures cover the values finite in both.

The verdict on one output: ONNX Runtime within `bar` dB of torch float32 passes outright. Below that,
with a float64 torch reference, it passes when its distance from the reference is no worse than torch
float32's own distance by more than `margin` dB: ONNX Runtime computes in float32 too, in another order,
so it cannot be asked to match torch's rounding better than torch matches the true value. It also passes
when it is within `floor` dB of the reference whatever torch's own distance: an RMS error of 3e-5 of the
output's scale (90 dB) is as close as float32 arithmetic in another order reliably gets on a deep
network (timm's mobilenetv3 on +/-1e3 inputs: torch float32 119 dB from float64, ONNX Runtime 95 dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SSIM_WINDOW = 11


@dataclass(frozen=True)
class Agreement:
    """How one output of one case agrees with its golden. `ssim` is None for outputs that are not image-like.
    `nonfinite_golden`/`nonfinite_test` count NaN/inf values; the figures cover the values finite in both."""

    psnr_db: float
    ssim: float | None
    max_abs_err: float
    max_rel_err: float
    finite: bool
    shape_ok: bool
    nonfinite_golden: int = 0
    nonfinite_test: int = 0
    size: int = 0


def data_range(golden: np.ndarray) -> float:
    """The peak used by PSNR/SSIM: max(peak-to-peak, largest magnitude), else 1.0 for an all-zero golden."""
    ref = np.asarray(golden, dtype=np.float64)
    if ref.size == 0:
        return 1.0
    peak = max(float(np.ptp(ref)), float(np.max(np.abs(ref))))
    return peak if peak > 0 else 1.0


def psnr(golden: np.ndarray, test: np.ndarray, peak: float) -> float:
    """PSNR in dB of `test` against `golden` with the given peak; inf when they are identical."""
    mse = float(np.mean((np.asarray(golden, np.float64) - np.asarray(test, np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def _gaussian(size: int = SSIM_WINDOW, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    out: np.ndarray = g / g.sum()
    return out


def _valid_filter(plane: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D array with `taps` along both axes."""
    k = len(taps)
    rows = np.zeros((plane.shape[0] - k + 1, plane.shape[1]))
    for i in range(k):
        rows += taps[i] * plane[i : plane.shape[0] - k + 1 + i, :]
    out = np.zeros((rows.shape[0], rows.shape[1] - k + 1))
    for i in range(k):
        out += taps[i] * rows[:, i : rows.shape[1] - k + 1 + i]
    return out


def is_image_like(shape: tuple[int, ...]) -> bool:
    """True when the last two axes can hold an SSIM window (outputs such as N x C x H x W maps)."""
    return len(shape) >= 2 and min(shape[-2:]) >= SSIM_WINDOW


def ssim(golden: np.ndarray, test: np.ndarray, peak: float) -> float:
    """Mean SSIM (gaussian 11x11, sigma 1.5, K1 0.01, K2 0.03) over the planes of the last two axes."""
    ref = np.asarray(golden, np.float64).reshape(-1, *golden.shape[-2:])
    out = np.asarray(test, np.float64).reshape(-1, *test.shape[-2:])
    c1, c2, taps = (0.01 * peak) ** 2, (0.03 * peak) ** 2, _gaussian()
    scores = []
    for x, y in zip(ref, out, strict=True):
        mx, my = _valid_filter(x, taps), _valid_filter(y, taps)
        sxx = _valid_filter(x * x, taps) - mx * mx
        syy = _valid_filter(y * y, taps) - my * my
        sxy = _valid_filter(x * y, taps) - mx * my
        num = (2 * mx * my + c1) * (2 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        scores.append(float(np.mean(num / den)))
    return float(np.mean(scores))


def _nonfinite(array: np.ndarray) -> np.ndarray:
    return ~np.isfinite(array) if array.dtype.kind in "fc" else np.zeros(array.shape, dtype=bool)


def agreement(golden: np.ndarray, test: np.ndarray) -> Agreement:
    """Compare one output with its golden. A shape mismatch fails with PSNR -inf; NaN/inf values in
    either are counted (never agreement) and the figures cover the values finite in both (PSNR -inf
    when there are none)."""
    golden, test = np.asarray(golden), np.asarray(test)
    bad_ref, bad_out = _nonfinite(golden), _nonfinite(test)
    counts = (int(bad_ref.sum()), int(bad_out.sum()), int(golden.size))
    if golden.shape != test.shape:
        return Agreement(-math.inf, None, math.inf, math.inf, not (counts[0] or counts[1]), False, *counts)
    finite = not (counts[0] or counts[1])
    mask = ~bad_ref & ~bad_out
    if not mask.any():
        nothing = golden.size == 0
        return Agreement(
            math.inf if nothing else -math.inf,
            None,
            0.0 if nothing else math.inf,
            0.0 if nothing else math.inf,
            finite,
            True,
            *counts,
        )
    ref, out = golden.astype(np.float64), test.astype(np.float64)
    peak = data_range(ref[mask])
    err = np.abs(ref[mask] - out[mask])
    p = psnr(ref[mask], out[mask], peak)
    s = ssim(np.where(mask, ref, 0.0), np.where(mask, out, 0.0), peak) if is_image_like(ref.shape) else None
    return Agreement(p, s, float(err.max()), float(err.max() / peak), finite, True, *counts)


def distance_db(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR of `test` against a (float64) `reference`, the reference's scale as the peak, over the
    values finite in both (-inf when shapes differ or none is)."""
    reference, test = np.asarray(reference, np.float64), np.asarray(test, np.float64)
    if reference.shape != test.shape:
        return -math.inf
    mask = np.isfinite(reference) & np.isfinite(test)
    if not mask.any():
        return -math.inf
    return psnr(reference[mask], test[mask], data_range(reference[mask]))


@dataclass(frozen=True)
class Bars:
    """How outputs are judged: `bar` dB against torch float32 passes outright; when `relative`, an
    output below it passes if ONNX Runtime is at most `margin` dB further from float64 than torch is,
    or at least `floor` dB from float64."""

    bar: float
    relative: bool
    margin: float
    floor: float = math.inf


def verdict(
    name: str, agree: Agreement, torch_to_ref: float | None, ort_to_ref: float | None, bars: Bars
) -> str | None:
    """None when the output passes, else the one-line reason."""
    if not agree.shape_ok:
        return f"{name}: shape differs from torch's"
    if not agree.finite:
        return (
            f"{name}: {agree.nonfinite_golden} of {agree.size} values are NaN/inf in torch, "
            f"{agree.nonfinite_test} in ONNX Runtime"
        )
    if agree.psnr_db >= bars.bar:
        return None
    relative = torch_to_ref is not None and ort_to_ref is not None
    if bars.relative and relative and ort_to_ref >= min(torch_to_ref - bars.margin, bars.floor):  # type: ignore[operator]
        return None
    reason = f"{name}: PSNR {agree.psnr_db:.1f} dB against torch float32 < {bars.bar:g} dB"
    if relative:
        floor = f" and under {bars.floor:g} dB" if math.isfinite(bars.floor) else ""
        worse = f", more than {bars.margin:g} dB worse{floor}" if bars.relative else ""
        reason += f"; from float64, ONNX Runtime is {ort_to_ref:.1f} dB and torch float32 {torch_to_ref:.1f} dB{worse}"
    elif bars.relative:
        reason += "; no float64 reference to judge against"
    return reason
