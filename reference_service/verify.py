"""Goldens and agreement metrics: every backend against the PyTorch reference.

Five inputs (gradient, checkerboard, portrait, landscape, and ``scene``: a procedural photo-like outdoor
scene from ``reference_service.scenes``) were run through the torch model into
``reference_service/goldens/<case>.npz`` (image, thumbnail, gain_map, qmax). The goldens ARE the torch
reference, so ``python -m reference_service.verify --json`` works without torch installed. Regenerate them
only with torch present: ``python -m reference_service.verify --regenerate``.

Metrics per backend and case:

* **What the service returns**: each gain map encoded exactly as the service encodes it
  (``imaging.encode_gain_map``: clipped to [0, 1], 8-bit and 16-bit PNG), decoded back to integer levels
  and compared level by level with the golden's encoding: the largest difference and the number of pixels
  that differ, next to how many distinct levels the golden's PNG holds (a map with few levels would make
  "identical PNGs" vacuous).
* Float agreement (gain maps as float64): PSNR in dB with ``data_range`` = the golden's peak-to-peak range,
  SSIM with an 11x11 gaussian window (sigma 1.5), K1=0.01, K2=0.03, same ``data_range``, max |error|
  (absolute and relative to the range), and qmax relative error.

Bars: both PNGs within 1 level of the golden's everywhere; PSNR >= 100 dB, SSIM >= 0.9999, ``allclose``
with atol 1e-3 both absolute and relative to the range, qmax relative error <= 1e-4, outputs finite,
correctly shaped and not constant. Exit status: 0 all bars met, 1 a bar failed, 3 a golden is missing or
unreadable, 4 no backend could run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reference_service.backends import BACKENDS, DEFAULT_CHECKPOINT, Backend, available_backends, load_backend
from reference_service.imaging import encode_gain_map
from reference_service.preprocess import to_thumbnail
from reference_service.scenes import make_pair

GOLDENS = Path(__file__).resolve().parent / "goldens"
Golden = dict[str, np.ndarray]  # one golden .npz: image, thumbnail, gain_map, qmax
CASES: dict[str, tuple[int, int]] = {
    "gradient": (128, 128),
    "checkerboard": (128, 128),
    "portrait": (128, 96),
    "landscape": (96, 128),
    "scene": (160, 240),
}
SCENE_SEED = 424242  # the ``scene`` case: scenes.make_pair(SCENE_SEED, 160, 240, "outdoor")
PSNR_MIN_DB = 100.0
SSIM_MIN = 0.9999
ATOL = 1e-3
QMAX_RTOL = 1e-4
PNG_MAX_LEVEL_DIFF = 1
EXIT_OK, EXIT_BAR_FAILED, EXIT_GOLDEN, EXIT_NO_BACKEND = 0, 1, 3, 4


class GoldenError(Exception):
    """A golden file is missing or unreadable (message names the file)."""


# ----------------------------------------------------------------------------- synthetic inputs
def make_case(name: str) -> np.ndarray:
    """Deterministic synthetic float32 (H, W, 3) image in [0, 1] for case ``name``. Raises ``KeyError``."""
    h, w = CASES[name]
    if name == "scene":
        return make_pair(SCENE_SEED, h, w, "outdoor").sdr
    yy, xx = np.meshgrid(np.linspace(0.0, 1.0, h), np.linspace(0.0, 1.0, w), indexing="ij")
    if name == "gradient":
        img = np.stack([xx, yy, 0.5 * (xx + yy)], axis=2)
    elif name == "checkerboard":
        cells = ((np.arange(h)[:, None] // 16 + np.arange(w)[None, :] // 16) % 2).astype(np.float64)
        img = np.stack([0.1 + 0.8 * cells, 0.9 - 0.8 * cells, np.full((h, w), 0.5)], axis=2)
    elif name == "portrait":
        # a bright elliptical "face" over a vertical gradient background, with a little seeded texture
        face = ((yy - 0.45) / 0.3) ** 2 + ((xx - 0.5) / 0.28) ** 2 < 1.0
        noise = np.random.default_rng(3).random((h, w))
        img = np.stack(
            [0.2 + 0.6 * face + 0.1 * yy, 0.15 + 0.45 * face + 0.05 * noise, 0.3 * (1 - yy) + 0.3 * face], axis=2
        )
    elif name == "landscape":
        # sky gradient above a sinusoidal horizon, a sun disc, textured ground
        horizon = 0.55 + 0.08 * np.sin(6.0 * xx)
        sky, sun = yy < horizon, (yy - 0.2) ** 2 + (xx - 0.75) ** 2 < 0.01
        noise = np.random.default_rng(4).random((h, w))
        img = np.where(
            sky[..., None],
            np.stack([0.4 + 0.4 * yy, 0.6 + 0.3 * yy, np.full((h, w), 0.95)], axis=2),
            np.stack([0.2 + 0.2 * noise, 0.45 + 0.2 * noise, 0.1 + 0.1 * noise], axis=2),
        )
        img = np.where(sun[..., None], 1.0, img)
    else:
        raise KeyError(name)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- metrics
def psnr(reference: np.ndarray, test: np.ndarray, data_range: float | None = None) -> float:
    """PSNR in dB of ``test`` against ``reference``; ``data_range`` defaults to the reference's peak-to-peak.

    Returns ``inf`` for identical arrays. Raises ``ValueError`` on shape mismatch or a zero range.
    """
    ref, tst = _pair(reference, test)
    rng = float(np.ptp(ref)) if data_range is None else float(data_range)
    if rng <= 0:
        raise ValueError("data_range must be positive (reference is constant)")
    mse = float(np.mean((ref - tst) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(rng * rng / mse)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D gaussian of ``size`` taps."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter2(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D array with ``taps`` along both axes."""
    k = len(taps)
    rows = sum(taps[i] * image[i : image.shape[0] - k + 1 + i, :] for i in range(k))
    return sum(taps[i] * rows[:, i : rows.shape[1] - k + 1 + i] for i in range(k))


def ssim(
    reference: np.ndarray,
    test: np.ndarray,
    data_range: float | None = None,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean SSIM (Wang et al. 2004) of two 2-D arrays with gaussian weights over the valid region."""
    ref, tst = _pair(reference, test)
    if ref.ndim != 2 or min(ref.shape) < window:
        raise ValueError(f"ssim needs 2-D arrays of at least {window}x{window}, got {ref.shape}")
    rng = float(np.ptp(ref)) if data_range is None else float(data_range)
    c1, c2 = (k1 * rng) ** 2, (k2 * rng) ** 2
    taps = gaussian_window(window, sigma)
    mu_x, mu_y = _filter2(ref, taps), _filter2(tst, taps)
    sxx = _filter2(ref * ref, taps) - mu_x * mu_x
    syy = _filter2(tst * tst, taps) - mu_y * mu_y
    sxy = _filter2(ref * tst, taps) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, tst = np.asarray(reference, dtype=np.float64), np.asarray(test, dtype=np.float64)
    if ref.shape != tst.shape:
        raise ValueError(f"shape mismatch: reference {ref.shape} vs test {tst.shape}")
    return ref, tst


def png_levels(gain_map: np.ndarray, qmax: float, bits: int) -> np.ndarray:
    """The integer samples of the PNG the service returns for ``gain_map`` at ``bits`` (8 or 16)."""
    png = encode_gain_map(np.asarray(gain_map, dtype=np.float32), qmax=qmax, bits=bits)
    return np.asarray(Image.open(io.BytesIO(png), formats=["PNG"])).astype(np.int64)


@dataclass
class PngAgreement:
    """One backend's service PNG against the golden's at one bit depth."""

    bits: int
    levels: int  # distinct values in the golden's PNG
    max_level_diff: int
    differing_pixels: int
    pixels: int


def png_agreement(
    golden_map: np.ndarray, golden_qmax: float, gain_map: np.ndarray, qmax: float, bits: int
) -> PngAgreement:
    """Compare the PNGs the service would return for the golden and for ``gain_map``."""
    ref, out = png_levels(golden_map, golden_qmax, bits), png_levels(gain_map, qmax, bits)
    diff = np.abs(ref - out)
    return PngAgreement(bits, int(np.unique(ref).size), int(diff.max()), int(np.count_nonzero(diff)), int(diff.size))


@dataclass
class CaseResult:
    """Agreement of one backend with one golden."""

    case: str
    shape: list[int]
    psnr_db: float
    ssim: float
    max_abs_err: float
    max_rel_err: float
    qmax: float
    qmax_golden: float
    qmax_rel_err: float
    seconds: float
    failures: list[str]
    png: list[PngAgreement] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def compare(case: str, golden: Golden, gain_map: np.ndarray, qmax: float, seconds: float = 0.0) -> CaseResult:
    """Measure ``gain_map``/``qmax`` against ``golden`` and list every bar it misses."""
    ref = np.asarray(golden["gain_map"], dtype=np.float64)
    failures = []
    if gain_map.shape != ref.shape:
        failures.append(f"shape {gain_map.shape} != golden {ref.shape}")
        return CaseResult(
            case,
            list(gain_map.shape),
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            float(qmax),
            float(golden["qmax"]),
            float("nan"),
            seconds,
            failures,
        )
    out = np.asarray(gain_map, dtype=np.float64)
    rng = float(np.ptp(ref))
    err = np.abs(out - ref)
    p, s = psnr(ref, out, rng), ssim(ref, out, rng)
    q_ref = float(golden["qmax"])
    q_rel = abs(float(qmax) - q_ref) / max(abs(q_ref), float(np.finfo(np.float32).tiny))
    if not np.all(np.isfinite(out)):
        failures.append("non-finite values")
    if float(np.ptp(out)) <= 0:
        failures.append("constant output")
    if p < PSNR_MIN_DB:
        failures.append(f"PSNR {p:.1f} dB < {PSNR_MIN_DB}")
    if s < SSIM_MIN:
        failures.append(f"SSIM {s:.6f} < {SSIM_MIN}")
    if not np.allclose(out, ref, rtol=0, atol=ATOL):
        failures.append(f"max |err| {err.max():.3g} > atol {ATOL}")
    if err.max() / rng > ATOL:
        failures.append(f"max |err|/range {err.max() / rng:.3g} > {ATOL}")
    if not np.isfinite(q_rel) or q_rel > QMAX_RTOL:
        failures.append(f"qmax relative error {q_rel:.3g} > {QMAX_RTOL}")
    pngs = [png_agreement(golden["gain_map"], q_ref, gain_map, float(qmax), bits) for bits in (8, 16)]
    if pngs[1].levels < 2:
        failures.append("golden's 16-bit PNG is constant: a PNG comparison would say nothing")
    for png in pngs:
        if png.max_level_diff > PNG_MAX_LEVEL_DIFF:
            failures.append(
                f"{png.bits}-bit PNG differs by {png.max_level_diff} levels (> {PNG_MAX_LEVEL_DIFF}) "
                f"at {png.differing_pixels} pixels"
            )
    return CaseResult(
        case,
        list(out.shape),
        p,
        s,
        float(err.max()),
        float(err.max() / rng),
        float(qmax),
        q_ref,
        float(q_rel),
        seconds,
        failures,
        pngs,
    )


# ----------------------------------------------------------------------------- goldens
def golden_path(case: str, directory: Path = GOLDENS) -> Path:
    """Path of the golden for ``case``."""
    return directory / f"{case}.npz"


def load_golden(case: str, directory: Path = GOLDENS) -> Golden:
    """Load one golden as a dict of arrays. Raises :class:`GoldenError` naming the file if missing/invalid."""
    path = golden_path(case, directory)
    if not path.is_file():
        raise GoldenError(
            f"{path}: golden missing (regenerate with torch: python -m reference_service.verify --regenerate)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            golden = {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile/ValueError/OSError for corrupt files
        raise GoldenError(f"{path}: unreadable golden ({type(exc).__name__}: {exc})") from exc
    missing = {"image", "thumbnail", "gain_map", "qmax"} - golden.keys()
    if missing:
        raise GoldenError(f"{path}: golden lacks {sorted(missing)}")
    h, w = CASES[case]
    if golden["image"].shape != (h, w, 3) or golden["gain_map"].shape != (h, w):
        raise GoldenError(
            f"{path}: golden shapes {golden['image'].shape}/{golden['gain_map'].shape} do not match case {h}x{w}"
        )
    return golden


def regenerate_goldens(directory: Path = GOLDENS, checkpoint: Path | None = None) -> list[Path]:
    """Run every case through the torch reference and write ``<case>.npz`` atomically (needs torch)."""
    backend = load_backend("torch", checkpoint=checkpoint)
    ckpt = Path(checkpoint or DEFAULT_CHECKPOINT)
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    import torch  # a dev dependency: verification itself runs without it

    written = []
    directory.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        image = make_case(case)
        thumb = to_thumbnail(image)
        gain_map, qmax = backend.predict(image, thumb)
        fd, tmp = tempfile.mkstemp(prefix=case, suffix=".npz", dir=directory)
        os.close(fd)
        try:
            np.savez_compressed(
                tmp,
                image=image,
                thumbnail=thumb,
                gain_map=gain_map,
                qmax=np.float64(qmax),
                checkpoint_sha256=np.str_(digest),
                torch_version=np.str_(torch.__version__),
            )
            os.chmod(tmp, 0o644)
            os.replace(tmp, golden_path(case, directory))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(golden_path(case, directory))
    return written


# ----------------------------------------------------------------------------- running
def verify_backend(backend: Backend, goldens: dict[str, Golden]) -> list[CaseResult]:
    """Run ``backend`` on each golden's stored image and thumbnail; compare."""
    results = []
    for case, golden in goldens.items():
        start = time.perf_counter()
        gain_map, qmax = backend.predict(golden["image"], golden["thumbnail"])
        results.append(compare(case, golden, gain_map, qmax, time.perf_counter() - start))
    return results


def run(backends: list[str] | None = None, directory: Path = GOLDENS) -> dict[str, Any]:
    """Verify ``backends`` (default: every installed one) and return the JSON-ready report.

    Raises :class:`GoldenError` when a golden is missing or unreadable.
    """
    goldens = {case: load_golden(case, directory) for case in CASES}
    installed = available_backends()
    report: dict[str, Any] = {
        "schema": 1,
        "bars": {
            "psnr_min_db": PSNR_MIN_DB,
            "ssim_min": SSIM_MIN,
            "atol": ATOL,
            "qmax_rtol": QMAX_RTOL,
            "png_max_level_diff": PNG_MAX_LEVEL_DIFF,
        },
        "checkpoint_sha256": str(goldens["gradient"].get("checkpoint_sha256", "")),
        "machine": machine(),
        "backends": {},
    }
    for name in backends or list(BACKENDS):
        entry: dict[str, Any] = {"available": name in installed}
        if name in installed:
            try:
                start = time.perf_counter()
                backend = load_backend(name)
                entry["load_seconds"] = round(time.perf_counter() - start, 3)
                results = verify_backend(backend, goldens)
                entry["cases"] = {r.case: {**asdict(r), "passed": r.passed} for r in results}
                entry["passed"] = all(r.passed for r in results)
            except Exception as exc:  # a backend that cannot load or run is a failure, reported as data
                entry.update(passed=False, error=f"{type(exc).__name__}: {exc}")
        report["backends"][name] = entry
    ran = [e for e in report["backends"].values() if e["available"]]
    report["passed"] = bool(ran) and all(e["passed"] for e in ran)
    return report


def machine() -> dict[str, Any]:
    """Facts about this machine for reports."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "mem_gib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _png_cell(r: dict[str, Any], bits: int) -> str:
    png = next((p for p in r.get("png") or () if p["bits"] == bits), None)
    if png is None:
        return "-"
    return f"{png['max_level_diff']} / {png['differing_pixels']:,} of {png['pixels']:,} ({png['levels']:,} levels)"


def render_markdown(report: dict[str, Any], command: str) -> str:
    """Markdown table of ``report`` (as returned by :func:`run`)."""
    m = report["machine"]
    lines = [
        "# GMNet backend verification vs the torch reference",
        "",
        f"Command: `{command}`  ",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['mem_gib']} GiB, "
        f"Python {m['python']}, {m['platform']}  ",
        f"Goldens: torch outputs of checkpoint sha256 `{report.get('checkpoint_sha256', '')[:16]}…`.  ",
        f"Bars: the service's 8-bit and 16-bit gain-map PNGs within {PNG_MAX_LEVEL_DIFF} level of the golden's "
        f"everywhere; PSNR >= {PSNR_MIN_DB} dB and SSIM >= {SSIM_MIN} (both with data_range = golden "
        f"peak-to-peak), allclose atol {ATOL} (absolute and relative to range), qmax relative error <= {QMAX_RTOL}.",
        "",
        "PNG columns: largest level difference / pixels that differ (distinct levels in the golden's PNG).",
        "",
        "| backend | case | shape | 8-bit PNG | 16-bit PNG | PSNR (dB) | SSIM | max abs err | max err / range | "
        "qmax rel err | pass |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, entry in report["backends"].items():
        if not entry["available"]:
            lines.append(f"| {name} | - | - | - | - | - | - | - | - | - | not installed |")
            continue
        if "error" in entry:
            lines.append(f"| {name} | - | - | - | - | - | - | - | - | - | FAILED: {entry['error']} |")
            continue
        for case, r in entry["cases"].items():
            lines.append(
                f"| {name} | {case} | {r['shape'][0]}x{r['shape'][1]} | {_png_cell(r, 8)} | {_png_cell(r, 16)} | "
                f"{r['psnr_db']:.1f} | {r['ssim']:.10f} | {r['max_abs_err']:.3g} | {r['max_rel_err']:.3g} | "
                f"{r['qmax_rel_err']:.3g} | {'yes' if r['passed'] else 'NO: ' + '; '.join(r['failures'])} |"
            )
    lines += ["", f"Overall: {'PASS' if report['passed'] else 'FAIL'}", ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """CLI: verify installed backends against the goldens (or regenerate them)."""
    parser = argparse.ArgumentParser(
        prog="python -m reference_service.verify", description="Compare GMNet backends with the torch goldens."
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument(
        "--backend",
        action="append",
        choices=("onnxruntime", "tinygrad", "torch"),
        help="backend to verify (repeatable; default: all installed)",
    )
    parser.add_argument("--regenerate", action="store_true", help="rewrite the goldens with torch (dev only)")
    parser.add_argument("--report-dir", type=Path, help="also write verification.md and verification.json here")
    parser.add_argument("--goldens", type=Path, default=GOLDENS, help="golden directory (default: the bundled goldens)")
    args = parser.parse_args(argv)
    if args.regenerate:
        try:
            for path in regenerate_goldens(args.goldens):
                print(f"wrote {path}", file=sys.stderr)
        except ImportError as exc:
            print(f"error: --regenerate needs torch ({exc})", file=sys.stderr)
            return EXIT_NO_BACKEND
    try:
        report = run(args.backend, args.goldens)
    except GoldenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_GOLDEN
    command = "python -m reference_service.verify " + " ".join(argv if argv is not None else sys.argv[1:])
    report["command"] = command.strip()
    if args.report_dir:
        write_atomic(args.report_dir / "verification.json", json.dumps(report, indent=2) + "\n")
        write_atomic(args.report_dir / "verification.md", render_markdown(report, report["command"]))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_markdown(report, report["command"]))
    if not any(e["available"] for e in report["backends"].values()):
        return EXIT_NO_BACKEND
    return EXIT_OK if report["passed"] else EXIT_BAR_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
