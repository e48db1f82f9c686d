"""Held-out evaluation of a GMNet checkpoint on procedural scenes it was never trained on.

    python -m training.evaluate                      # the bundled checkpoint; rewrites reports/training.md
    python -m training.evaluate --checkpoint G_realworld.pth --report-dir /tmp/eval

Scenes ``HELD_OUT_SEED_BASE + i`` (training uses other seeds) are rendered at ``--size`` and run through the
service's own path (``preprocess.to_thumbnail``, torch backend ``predict``). For each: the normalized gain
map's mean absolute error, the gain error in stops, qmax's error in stops, and the PSNR of the recovered
HDR (``scenes.reconstruct_hdr``) against the HDR target (linear, peak 8 = 0 dB reference), next to two
baselines: *identity* (the SDR image shown as HDR, no expansion: the floor) and *oracle* (the true gain map
through the same recovery: the ceiling set by the single-channel gain map and 8-bit SDR). Also the mean
predicted gain on highlight pixels (true gain over 1 stop) and on shadow pixels (true gain under 0.05 stop).
Renders ``reports/training.md`` and ``reports/training-loss.svg`` from ``reports/training.json`` (written by
``training.train_gmnet``) plus these figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from html import escape
from pathlib import Path

import numpy as np

from reference_service import scenes
from reference_service.backends import DEFAULT_CHECKPOINT, load_backend
from reference_service.preprocess import to_thumbnail
from reference_service.verify import machine, write_atomic
from training.seeds import HELD_OUT_SEED_BASE

REPO = Path(__file__).resolve().parents[1]


def scene_metrics(pair: scenes.ScenePair, ngm_pred: np.ndarray, qnet_pred: float) -> dict:
    """Agreement of a predicted (NGM, qmax) with one scene's truth, and the HDR it recovers."""
    ngm_pred = np.clip(ngm_pred, 0.0, 1.0)
    stops_pred = ngm_pred * qnet_pred * scenes.LOG2_PEAK
    hdr = scenes.reconstruct_hdr(pair.sdr, ngm_pred, qnet_pred)
    oracle = scenes.reconstruct_hdr(pair.sdr, pair.ngm, pair.qmax_net)
    identity = np.power(pair.sdr, scenes.GAMMA)
    highlights, shadows = pair.gain_stops > 1.0, pair.gain_stops < 0.05
    return {
        "kind": pair.kind,
        "ngm_mae": float(np.mean(np.abs(ngm_pred - pair.ngm))),
        "gain_mae_stops": float(np.mean(np.abs(stops_pred - pair.gain_stops))),
        "qmax_err_stops": float(abs(qnet_pred - pair.qmax_net) * scenes.LOG2_PEAK),
        "psnr_db": scenes.hdr_psnr(pair.hdr, hdr),
        "psnr_identity_db": scenes.hdr_psnr(pair.hdr, identity),
        "psnr_oracle_db": scenes.hdr_psnr(pair.hdr, oracle),
        "highlight_pixels": int(highlights.sum()),
        "pred_stops_highlights": float(stops_pred[highlights].mean()) if highlights.any() else None,
        "true_stops_highlights": float(pair.gain_stops[highlights].mean()) if highlights.any() else None,
        "pred_stops_shadows": float(stops_pred[shadows].mean()) if shadows.any() else None,
    }


def evaluate(checkpoint: Path, count: int, height: int, width: int) -> dict:
    """Run the torch backend on ``count`` held-out scenes; per-scene and mean figures."""
    backend = load_backend("torch", checkpoint=checkpoint)
    rows = []
    for i in range(count):
        pair = scenes.make_pair(HELD_OUT_SEED_BASE + i, height, width)
        ngm_pred, qnet_pred = backend.predict(pair.sdr, to_thumbnail(pair.sdr))
        rows.append({"seed": HELD_OUT_SEED_BASE + i, **scene_metrics(pair, ngm_pred, qnet_pred)})
    keys = [
        "ngm_mae",
        "gain_mae_stops",
        "qmax_err_stops",
        "psnr_db",
        "psnr_identity_db",
        "psnr_oracle_db",
        "pred_stops_highlights",
        "true_stops_highlights",
        "pred_stops_shadows",
    ]

    def mean(subset: list[dict], key: str) -> float | None:
        values = [r[key] for r in subset if r[key] is not None and np.isfinite(r[key])]
        return float(np.mean(values)) if values else None

    summary = {"all": {k: mean(rows, k) for k in keys} | {"scenes": len(rows)}}
    for kind in scenes.KINDS:
        subset = [r for r in rows if r["kind"] == kind]
        if subset:
            summary[kind] = {k: mean(subset, k) for k in keys} | {"scenes": len(subset)}
    digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    shown = checkpoint.relative_to(REPO) if checkpoint.is_absolute() and checkpoint.is_relative_to(REPO) else checkpoint
    return {
        "checkpoint": str(shown),
        "checkpoint_sha256": digest,
        "size": f"{width}x{height}",
        "scenes": rows,
        "summary": summary,
    }


def loss_svg(curve: list[dict]) -> str:
    """Training and held-out loss against step, log-scale y, as a small SVG line chart."""
    width, height, left, top, right, bottom = 640, 300, 60, 30, 20, 40
    steps = [p["step"] for p in curve]
    values = [v for p in curve for v in (p["train_loss"], p["held_out_loss"]) if v > 0]
    lo, hi = np.log10(min(values)), np.log10(max(values))
    lo, hi = np.floor(lo * 2) / 2, np.ceil(hi * 2) / 2 if hi > lo else lo + 0.5
    sx = lambda s: left + (width - left - right) * (s / max(steps))  # noqa: E731
    sy = lambda v: top + (height - top - bottom) * (hi - np.log10(v)) / (hi - lo)  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
        '<text x="8" y="18" font-size="13" font-weight="bold">GMNet training loss (log scale)</text>',
    ]
    for tick in np.arange(lo, hi + 1e-9, 0.5):
        y = sy(10**tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{10**tick:.3g}</text>'
        )
    for s in np.linspace(0, max(steps), 5):
        parts.append(f'<text x="{sx(s):.1f}" y="{height - bottom + 14}" text-anchor="middle">{int(s)}</text>')
    parts.append(f'<text x="{(left + width) / 2}" y="{height - 6}" text-anchor="middle">step</text>')
    for key, colour, label in (
        ("train_loss", "#4e79a7", "training (mean since last point)"),
        ("held_out_loss", "#e15759", "held-out scenes"),
    ):
        pts = " ".join(f"{sx(p['step']):.1f},{sy(max(p[key], 10**lo)):.1f}" for p in curve)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        y = top + (14 if key == "train_loss" else 28)
        parts.append(
            f'<line x1="{width - 230}" y1="{y - 4}" x2="{width - 210}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2"/><text x="{width - 205}" y="{y}">{escape(label)}</text>'
        )
    return "\n".join(parts) + "\n</svg>\n"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def render_markdown(training: dict | None, held_out: dict) -> str:
    """reports/training.md: how the weights were made and how they do on held-out scenes."""
    lines = ["# GMNet trained on procedural SDR → HDR scenes", ""]
    if training:
        m = training["machine"]
        cfg = training["config"]
        lines += [
            f"Command: `{training['command']}`  ",
            f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs; {training['precision']}; "
            f"{cfg['threads']} threads; load average {training['load_average_start']} at start, "
            f"mean 1-min load {training['load1_mean_during_training']} during training "
            "(shared machine: timings provisional).  ",
            f"Steps: {cfg['steps']} (one new scene each, {cfg['patches']} patches of {cfg['patch']}²), "
            f"Adam lr {cfg['lr']} → {cfg['lr_min']} (cosine, {cfg['warmup']} warm-up steps), seed "
            f"{cfg['seed']}. Training time {training['train_seconds'] / 60:.1f} min "
            f"({training['train_seconds'] / cfg['steps']:.2f} s per step).",
            "",
            "![loss curve](training-loss.svg)",
            "",
        ]
    s = held_out["summary"]
    lines += [
        f"## Held-out scenes ({s['all']['scenes']} scenes at {held_out['size']}, never trained on)",
        "",
        f"Command: `{held_out['command']}`  ",
        f"Checkpoint: `{held_out['checkpoint']}`",
        "",
        "| scenes | n | NGM MAE | gain MAE (stops) | qmax error (stops) | HDR PSNR (dB) | identity | oracle "
        "| predicted gain on highlights (true) | on shadows |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in s.items():
        lines.append(
            f"| {name} | {row['scenes']} | {_fmt(row['ngm_mae'])} | {_fmt(row['gain_mae_stops'])} | "
            f"{_fmt(row['qmax_err_stops'])} | {_fmt(row['psnr_db'], 1)} | {_fmt(row['psnr_identity_db'], 1)} | "
            f"{_fmt(row['psnr_oracle_db'], 1)} | {_fmt(row['pred_stops_highlights'], 2)} "
            f"({_fmt(row['true_stops_highlights'], 2)}) | {_fmt(row['pred_stops_shadows'], 2)} |"
        )
    lines += [
        "",
        "HDR PSNR is over linear HDR with the display peak (8x SDR white) as the signal. *Identity* shows "
        "the SDR image as HDR (no expansion); *oracle* applies the true gain map through the same recovery "
        "(`sdr^2.2 · 2^(NGM·Qmax)`), the best a single-channel gain map over 8-bit SDR can do. Gains are in "
        "stops (log2); highlights are pixels whose true gain exceeds 1 stop, shadows under 0.05 stop.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI: evaluate a checkpoint, write training.json's held_out part, training.md and the loss chart."""
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--size", default="384x256", help="WIDTHxHEIGHT of each held-out scene")
    parser.add_argument("--report-dir", type=Path, default=REPO / "reports")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    held_out = evaluate(args.checkpoint, args.scenes, height, width)
    held_out["command"] = "python -m training.evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
    held_out["machine"] = machine()
    path = args.report_dir / "training.json"
    training = json.loads(path.read_text()) if path.is_file() else None
    if training is not None:
        training["held_out"] = held_out
        write_atomic(path, json.dumps(training, indent=2) + "\n")
        if training.get("curve"):
            write_atomic(args.report_dir / "training-loss.svg", loss_svg(training["curve"]))
    else:
        write_atomic(args.report_dir / "held_out.json", json.dumps(held_out, indent=2) + "\n")
    text = render_markdown(training, held_out)
    write_atomic(args.report_dir / "training.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
