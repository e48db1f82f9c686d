"""GMNet latency per backend, side by side in one run: ``python benchmarks/backend_latency.py``.

For each size (default 256x256, 512x512, 1024x768 = W x H) every backend is warmed up, then timed for
``--repeats`` rounds, interleaved (round r runs every backend once before round r+1) so drift on a shared
machine hits all backends alike. Reports median/min/max wall time of ``Backend.predict`` (model only; the
thumbnail is made once beforehand), achieved GFLOP/s from an analytic count of convolution work, the share of
this machine's measured FP32 peak (best of a few numpy float32 matmuls) and the ratio to torch eager.

The input is a procedural photo-like scene (``reference_service.scenes``), so the outputs mean something:
each backend's first output is compared with torch's (PSNR with peak 1.0 over the gain map clipped to
[0, 1] as the service's PNG holds it, and max |error|); the INT8 model (``onnxruntime-int8``, made by
``python -m training.quantize_int8``) is also compared with FP32 ONNX Runtime. The tinygrad backend applies
the shipped BEAM table when there is one (its kernel count is in the report).

Writes ``reports/backend_latency.md`` and ``reports/backend_latency.json`` (atomically) with the command and
machine. Work count: 2 * (C_in / groups) * k * k * C_out * H_out * W_out FLOPs per convolution (one
multiply-add = 2 FLOPs), summed over GMNet's 63 convolutions plus the per-image depthwise one; biases,
activations, pooling and elementwise products are ignored (< 0.1 %).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import statistics
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from reference_service.preprocess import to_thumbnail  # noqa: E402
from reference_service.verify import machine, write_atomic  # noqa: E402

SIZES = ((256, 256), (512, 512), (1024, 768))  # (width, height)


def conv_flops(c_in: int, c_out: int, k: int, h_out: int, w_out: int, groups: int = 1) -> int:
    """FLOPs of one convolution layer (2 per multiply-add)."""
    return 2 * (c_in // groups) * k * k * c_out * h_out * w_out


def gmnet_flops(height: int, width: int, nf: int = 64, thumb: int = 256) -> int:
    """Analytic convolution FLOPs of GMNet (out_nc=1) for an input of ``height`` x ``width``."""
    total = 0
    # global branch on the 256x256 thumbnail
    t2, t4 = thumb // 2, thumb // 4
    total += conv_flops(3, 16, 3, t2, t2) + 2 * conv_flops(16, 16, 3, t2, t2)  # down1
    total += conv_flops(16, nf, 3, t4, t4) + 2 * conv_flops(nf, nf, 3, t4, t4)  # down2
    total += 10 * conv_flops(nf, nf, 3, t4, t4)  # res_y: 5 blocks x 2 convs
    for size, out in ((3, nf), (1, nf), (1, 1)):  # sq_ker, sq_chn, sq_qmax (1x1 convs on pooled maps)
        total += (
            conv_flops(nf, 2 * nf, 1, size, size)
            + conv_flops(2 * nf, nf, 1, size, size)
            + conv_flops(nf, out, 1, size, size)
        )
    # local branch at half resolution, then back to full
    h2, w2 = height // 2, width // 2
    total += conv_flops(3, nf, 3, h2, w2) + 2 * conv_flops(nf, nf, 3, h2, w2)  # down_x
    total += 30 * conv_flops(nf, nf, 3, h2, w2)  # res1, res2, res3: 15 blocks x 2 convs
    total += conv_flops(nf, nf, 3, h2, w2, groups=nf)  # dynamic depthwise
    total += conv_flops(nf, nf, 3, h2, w2) + conv_flops(nf, 1, 3, h2, w2)  # mask_est
    total += conv_flops(nf, 4 * nf, 3, h2, w2)  # upconv
    total += conv_flops(nf, nf, 3, height, width) + conv_flops(nf, 1, 3, height, width)  # HRconv, conv_last
    return total


def measure_peak(n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of a float32 ``n`` x ``n`` numpy matmul (BLAS), a practical FP32 peak for this machine."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


INT8_ONNX = REPO / "reference_service" / "assets" / "gmnet_int8.onnx"
BACKEND_CHOICES = ("onnxruntime", "onnxruntime-int8", "tinygrad", "torch")


def load(name: str):
    """A backend by benchmark name (``onnxruntime-int8`` = ONNX Runtime on the INT8 model)."""
    from reference_service.backends import OnnxRuntimeBackend, load_backend

    if name == "onnxruntime-int8":
        backend = OnnxRuntimeBackend(INT8_ONNX)
        backend.name = name
        return backend
    return load_backend(name)


def agreement(reference: np.ndarray, output: np.ndarray) -> dict:
    """PSNR (peak 1.0) and max |error| of gain maps clipped to [0, 1], as the service's PNG holds them."""
    a, b = np.clip(reference, 0, 1).astype(np.float64), np.clip(output, 0, 1).astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    return {
        "psnr_db": float("inf") if mse == 0 else 10 * np.log10(1.0 / mse),
        "max_abs_err": float(np.abs(a - b).max()),
    }


def bench(backend_names: list[str], sizes, repeats: int, warmup: int, peaks: list[float]) -> list[dict]:
    """Interleaved timings; returns one row per (size, backend). Appends a peak measurement after each size."""
    from reference_service.scenes import make_pair

    backends, load_s = {}, {}
    for name in backend_names:
        start = time.perf_counter()
        backends[name] = load(name)
        load_s[name] = time.perf_counter() - start
    rows = []
    for width, height in sizes:
        image = make_pair(width * height, height, width, "outdoor").sdr
        thumb = to_thumbnail(image)
        first, outputs = {}, {}
        for name, backend in backends.items():
            for i in range(warmup):
                start = time.perf_counter()
                outputs.setdefault(name, backend.predict(image, thumb)[0])
                t = time.perf_counter() - start
                if i == 0:
                    first[name] = t
            print(f"  warmed {name} at {width}x{height} (first call {first[name]:.2f} s)", file=sys.stderr, flush=True)
        times: dict[str, list[float]] = {name: [] for name in backends}
        cpu: dict[str, list[float]] = {name: [] for name in backends}
        for r in range(repeats):
            for name, backend in backends.items():
                cpu_start = time.process_time()  # every thread of this process: how many cores a call used
                times[name].append(_timed(partial(backend.predict, image, thumb)))
                cpu[name].append(time.process_time() - cpu_start)
            print(
                f"  round {r + 1}/{repeats} at {width}x{height}: "
                + ", ".join(f"{n} {t[-1] * 1000:.0f} ms" for n, t in times.items()),
                file=sys.stderr,
                flush=True,
            )
        peaks.append(measure_peak())
        flops = gmnet_flops(height, width)
        for name in backends:
            row = {
                "size": f"{width}x{height}",
                "width": width,
                "height": height,
                "backend": name,
                "median_ms": statistics.median(times[name]) * 1000,
                "min_ms": min(times[name]) * 1000,
                "max_ms": max(times[name]) * 1000,
                "first_call_s": first[name],
                "load_s": load_s[name],
                "runs": len(times[name]),
                "gflop": flops / 1e9,
                "load1": os.getloadavg()[0],
                "gflops_per_s": flops / statistics.median(times[name]) / 1e9,
                "cores_used": sum(cpu[name]) / sum(times[name]),
                "beam_kernels": getattr(backends[name], "beam_kernels", None),
            }
            if "torch" in outputs and name != "torch":
                row["vs_torch"] = agreement(outputs["torch"], outputs[name])
            if name == "onnxruntime-int8" and "onnxruntime" in outputs:
                row["vs_fp32"] = agreement(outputs["onnxruntime"], outputs[name])
            rows.append(row)
    return rows


def add_ratios(rows: list[dict], peak: float) -> None:
    """Add share of peak and ratio to torch's median at the same size (when torch ran)."""
    torch_ms = {r["size"]: r["median_ms"] for r in rows if r["backend"] == "torch"}
    for r in rows:
        r["peak_share"] = r["gflops_per_s"] / peak
        r["ratio_vs_torch"] = r["median_ms"] / torch_ms[r["size"]] if r["size"] in torch_ms else None


def render(report: dict) -> str:
    """Markdown report."""
    m = report["machine"]
    busiest = max(
        [report["loadavg_before"][0], report["loadavg_after"][0]] + [r.get("load1", 0) for r in report["rows"]]
    )
    banner = []
    if busiest > (m.get("logical_cpus") or 1):
        banner = [
            f"> **Provisional.** The 1-minute load average reached {busiest:.1f} on {m.get('logical_cpus')} logical "
            "CPUs during this run: other work shared the machine. Rerun on a quiet machine for figures to quote.",
            "",
        ]
    lines = [
        "# GMNet backend latency",
        "",
        *banner,
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['mem_gib']} GiB, Python {m['python']}, {m['platform']}  ",
        f"Versions: {', '.join(f'{k} {v}' for k, v in report['versions'].items())}  ",
        f"Environment: {report['env'] or 'no tuning variables set'}  ",
        f"Run: started {report['started_utc']}, {report['duration_s'] / 60:.1f} min; 1/5/15-min load average "
        f"{'/'.join(f'{v:.1f}' for v in report['loadavg_before'])} before, "
        f"{'/'.join(f'{v:.1f}' for v in report['loadavg_after'])} after "
        f"({'other jobs shared the CPUs' if banner else 'below the CPU count: a quiet machine'})  ",
        f"Measured FP32 peak (numpy float32 {report['peak_matrix']}x{report['peak_matrix']} matmul, best of 5, sampled "
        f"before the run and after each size: {', '.join(f'{p:.1f}' for p in report['peak_samples'])}): "
        f"{report['peak_gflops']:.1f} GFLOP/s (the best sample)  ",
        f"Timing: {report['warmup']} warm-up call(s), then {report['repeats']} interleaved rounds; median of "
        f"`Backend.predict` wall time; cores = CPU time of the whole process / wall time over the timed calls.",
        "",
        "| size (WxH) | GFLOP | backend | median ms | min ms | max ms | cores | GFLOP/s | % of peak | x torch "
        "| first call s | PSNR vs torch dB | max err vs torch | PSNR vs FP32 dB | max err vs FP32 |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["rows"]:
        ratio = f"{r['ratio_vs_torch']:.2f}" if r["ratio_vs_torch"] is not None else "-"
        cells = []
        for key in ("vs_torch", "vs_fp32"):
            agree = r.get(key)
            cells += ["-", "-"] if not agree else [f"{agree['psnr_db']:.1f}", f"{agree['max_abs_err']:.2e}"]
        lines.append(
            f"| {r['size']} | {r['gflop']:.1f} | {r['backend']} | {r['median_ms']:.0f} | {r['min_ms']:.0f} | "
            f"{r['max_ms']:.0f} | {_cores(r)} | {r['gflops_per_s']:.1f} | {100 * r['peak_share']:.1f} | {ratio} | "
            f"{r['first_call_s']:.1f} | " + " | ".join(cells) + " |"
        )
    if any(r["backend"] == "onnxruntime-int8" for r in report["rows"]):
        lines += [
            "",
            "INT8 rows count the same FP32-equivalent convolution work, done with 8-bit VNNI/AMX arithmetic, "
            "so their share of the FP32 matmul peak can exceed 100 %.",
        ]
    beam = sorted({r["beam_kernels"] for r in report["rows"] if r["backend"] == "tinygrad" and r.get("beam_kernels")})
    if any(r["backend"] == "tinygrad" for r in report["rows"]):
        lines += [
            "",
            f"tinygrad applied the shipped BEAM table ({', '.join(map(str, beam))} kernel schedules, searched "
            "offline by `benchmarks/tinygrad_beam.py`; kernels it does not hold use tinygrad's heuristics)."
            if beam
            else "tinygrad ran with its heuristic kernel schedules (no BEAM table applied).",
        ]
    targets = report.get("targets")
    if targets:
        lines += [
            "",
            "Targets: ONNX Runtime <= 0.8x torch at 512x512; tinygrad <= 3x torch; INT8 shipped only if "
            ">= 1.5x faster than FP32 at 512x512 with >= 40 dB PSNR against FP32.",
            "",
        ]
        lines += [f"- {t}" for t in targets]
    lines.append("")
    return "\n".join(lines)


def _cores(row: dict) -> str:
    """CPU time / wall time of the timed calls (reports written before it was measured show "-")."""
    return f"{row['cores_used']:.2f}" if row.get("cores_used") is not None else "-"


def check_targets(rows: list[dict]) -> list[str]:
    """Human lines saying whether each latency target was met in this run."""
    out = []
    for r in rows:
        if r["ratio_vs_torch"] is None:
            continue
        if r["backend"] == "onnxruntime" and r["size"] == "512x512":
            out.append(
                f"onnxruntime at 512x512: {r['ratio_vs_torch']:.2f}x torch -> {'met' if r['ratio_vs_torch'] <= 0.8 else 'NOT met'}"
            )
        if r["backend"] == "tinygrad":
            out.append(
                f"tinygrad at {r['size']}: {r['ratio_vs_torch']:.2f}x torch -> {'met' if r['ratio_vs_torch'] <= 3 else 'NOT met'}"
            )
    by = {(r["backend"], r["size"]): r for r in rows}
    int8, fp32 = by.get(("onnxruntime-int8", "512x512")), by.get(("onnxruntime", "512x512"))
    if int8 and fp32 and int8.get("vs_fp32"):
        speedup, psnr = fp32["median_ms"] / int8["median_ms"], int8["vs_fp32"]["psnr_db"]
        ship = speedup >= 1.5 and psnr >= 40
        out.append(
            f"INT8 at 512x512: {speedup:.2f}x faster than FP32, PSNR {psnr:.1f} dB vs FP32 -> "
            f"{'ship as opt-in (>= 1.5x and >= 40 dB)' if ship else 'do not ship (needs >= 1.5x and >= 40 dB)'}"
        )
    return out


def versions() -> dict:
    """Installed runtime versions (without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("numpy", "onnxruntime", "tinygrad", "torch"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=BACKEND_CHOICES)
    parser.add_argument("--size", action="append", help="WxH (repeatable; default 256x256 512x512 1024x768)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--warmup", type=int, default=2, help="warm-up calls per backend and size (tinygrad's JIT captures on call 2)"
    )
    parser.add_argument("--output-dir", type=Path, default=REPO / "reports")
    parser.add_argument("--name", default="backend_latency", help="report file stem")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (median of >= 5)")
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.size] if args.size else list(SIZES)
    names = args.backend or ["torch", "onnxruntime"] + (["onnxruntime-int8"] if INT8_ONNX.is_file() else []) + [
        "tinygrad"
    ]
    peaks = [measure_peak()]
    load_before = os.getloadavg()
    started = time.time()
    rows = bench(names, sizes, args.repeats, args.warmup, peaks)
    load_after = os.getloadavg()
    peak = max(peaks)  # the machine is shared: the best sample is the closest to its real peak
    print(f"FP32 peak samples (numpy matmul): {', '.join(f'{p:.1f}' for p in peaks)} GFLOP/s", file=sys.stderr)
    add_ratios(rows, peak)
    env = " ".join(
        f"{k}={os.environ[k]}"
        for k in ("BEAM", "WINO", "CACHELEVEL", "OMP_NUM_THREADS", "PARALLEL", "GMNET_TINYGRAD_BEAM")
        if k in os.environ
    )
    command = "python benchmarks/backend_latency.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    report = {
        "schema": 1,
        "command": (env + " " + command.strip()).strip(),
        "machine": machine(),
        "versions": versions(),
        "env": env,
        "peak_gflops": peak,
        "peak_samples": peaks,
        "peak_matrix": 2048,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "rows": rows,
        "targets": check_targets(rows),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }
    write_atomic(args.output_dir / f"{args.name}.json", json.dumps(report, indent=2) + "\n")
    text = render(report)
    write_atomic(args.output_dir / f"{args.name}.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
