"""Pictures of what the service does: SDR input, predicted gain map, HDR preview, side by side (PNG).

    python -m training.pictures                 # ONNX Runtime, the bundled model; writes reports/pictures/

For a few held-out procedural scenes (never trained on; their true gain map is shown too) and for the
bundled example inputs (the verification goldens' images, ``reference_service.verify.CASES``), runs the
image through the service's own path (``server.make_predict``: thumbnail, padding, backend) and writes one
PNG per input with these panels, left to right:

1. the SDR input as sent;
2. the predicted gain map (the 8-bit PNG the service returns, ``?bits=8``);
3. for held-out scenes, the true gain map;
4. an HDR preview on an SDR screen: the recovered linear HDR (``scenes.reconstruct_hdr``) tone-mapped
   with extended Reinhard, white point = the HDR peak (8x SDR white), so highlights the SDR clipped
   show their recovered gradation and everything else is somewhat darker than in the SDR panel;
5. for held-out scenes, the true HDR through the same preview.

``reports/pictures.md`` lists them with qmax (in stops) and, for scenes, the HDR PSNR against the target.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from reference_service import scenes, verify
from reference_service.backends import load_backend
from reference_service.imaging import encode_gain_map
from reference_service.server import make_predict

REPO = Path(__file__).resolve().parents[1]
HELD_OUT_SCENES = ((9_100_001, "outdoor"), (9_100_002, "night"), (9_100_003, "indoor"), (9_100_004, "outdoor"))
SCENE_SIZE = (256, 384)  # height, width
LABEL_HEIGHT = 18


def hdr_preview(hdr: np.ndarray) -> np.ndarray:
    """8-bit view of linear HDR: extended Reinhard on luminance with white = PEAK, then gamma 1/2.2."""
    y = np.maximum(scenes.luminance(hdr), 1e-8)
    mapped = y * (1.0 + y / scenes.PEAK**2) / (1.0 + y)
    out = np.clip(hdr * (mapped / y)[..., None], 0.0, 1.0)
    return np.rint(np.power(out, 1.0 / scenes.GAMMA) * 255.0).astype(np.uint8)


def _gray(levels: np.ndarray) -> np.ndarray:
    return np.repeat(levels[..., None], 3, axis=2)


def _panel(image: np.ndarray, label: str) -> np.ndarray:
    canvas = Image.new("RGB", (image.shape[1], image.shape[0] + LABEL_HEIGHT), "white")
    canvas.paste(Image.fromarray(image), (0, LABEL_HEIGHT))
    ImageDraw.Draw(canvas).text((4, 3), label, fill="black")
    return np.asarray(canvas)


def side_by_side(panels: list[tuple[np.ndarray, str]]) -> bytes:
    """Labelled panels left to right, 4 px apart, as PNG bytes."""
    framed = [_panel(image, label) for image, label in panels]
    gap = np.full((framed[0].shape[0], 4, 3), 255, np.uint8)
    row = np.concatenate([part for image in framed for part in (image, gap)][:-1], axis=1)
    out = io.BytesIO()
    Image.fromarray(row).save(out, format="PNG", optimize=True)
    return out.getvalue()


def predicted_panels(predict, sdr: np.ndarray) -> tuple[list[tuple[np.ndarray, str]], np.ndarray, float]:
    """SDR, predicted gain map and HDR preview panels; returns them with the recovered HDR and qmax."""
    gain, qmax = predict(sdr)
    png = encode_gain_map(gain, qmax=qmax, bits=8)
    levels = np.asarray(Image.open(io.BytesIO(png)))
    hdr = scenes.reconstruct_hdr(sdr, gain, qmax)
    sdr8 = np.rint(sdr * 255).astype(np.uint8)
    stops = qmax * scenes.LOG2_PEAK
    return (
        [
            (sdr8, "SDR input"),
            (_gray(levels), f"predicted gain map (Qmax {stops:.2f} stops)"),
            (hdr_preview(hdr), "HDR preview (predicted)"),
        ],
        hdr,
        float(qmax),
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: write reports/pictures/*.png and reports/pictures.md."""
    parser = argparse.ArgumentParser(prog="python -m training.pictures", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="onnxruntime", choices=("onnxruntime", "tinygrad", "torch"))
    parser.add_argument("--report-dir", type=Path, default=REPO / "reports")
    args = parser.parse_args(argv)
    folder = args.report_dir / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    predict = make_predict(load_backend(args.backend))
    lines = [
        "# What the service returns: SDR in, gain map out, HDR recovered",
        "",
        f"Command: `python -m training.pictures {' '.join(argv if argv is not None else sys.argv[1:])}`"
        f" (backend {args.backend}). Panels: SDR input · predicted gain map (the service's 8-bit PNG) · "
        "[true gain map] · HDR preview (recovered linear HDR, extended-Reinhard tone map with white at 8x "
        "SDR white, gamma 2.2) · [true HDR, same preview]. Held-out scenes were never trained on.",
        "",
    ]
    for seed, kind in HELD_OUT_SCENES:
        pair = scenes.make_pair(seed, *SCENE_SIZE, kind)
        panels, hdr, _ = predicted_panels(predict, pair.sdr)
        true_levels = np.rint(pair.ngm * 255).astype(np.uint8)
        panels.insert(2, (_gray(true_levels), f"true gain map (Qmax {pair.qmax_stops:.2f} stops)"))
        panels.append((hdr_preview(pair.hdr), "HDR preview (true)"))
        name = f"scene-{kind}-{seed}.png"
        (folder / name).write_bytes(side_by_side(panels))
        lines += [
            f"**Held-out {kind} scene {seed}**: HDR PSNR {scenes.hdr_psnr(pair.hdr, hdr):.1f} dB against the "
            f"target (SDR shown as HDR: {scenes.hdr_psnr(pair.hdr, np.power(pair.sdr, scenes.GAMMA)):.1f} dB)",
            "",
            f"![{kind} scene](pictures/{name})",
            "",
        ]
    for case in verify.CASES:
        panels, _, _qmax = predicted_panels(predict, verify.make_case(case))
        name = f"example-{case}.png"
        (folder / name).write_bytes(side_by_side(panels))
        lines += [
            f"**Bundled example `{case}`** (a verification golden's input)",
            "",
            f"![{case}](pictures/{name})",
            "",
        ]
    (args.report_dir / "pictures.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
