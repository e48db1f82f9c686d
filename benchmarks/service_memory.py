"""Memory of the running service per backend: resident set before, after each large request, and peak.

    python benchmarks/service_memory.py                       # 2048x2048, two requests, every backend
    python benchmarks/service_memory.py --size 1024x1024 --backend onnxruntime

Starts ``python -m reference_service`` once per backend (the real server, on 127.0.0.1), posts the same
photo-like PNG ``--requests`` times and reads ``/proc/PID/status`` (VmRSS, VmHWM) after each answer.
Writes ``reports/service_memory.md`` and ``.json`` (with the machine and load average). What it shows
is whether memory used by one request is returned to the system afterwards, not a latency.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "reference_service"))

from gmnet_server_fixtures import start_service, vm_rss_kib  # noqa: E402

from reference_service.verify import machine, write_atomic  # noqa: E402

BACKENDS = ("onnxruntime", "torch", "tinygrad")


def sample_png(width: int, height: int) -> bytes:
    """A photo-like RGB PNG (sky, sun, ground with texture)."""
    yy, xx = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    noise = np.random.default_rng(7).random((height, width))
    sky = np.stack([0.35 + 0.4 * yy, 0.55 + 0.3 * yy, np.full_like(yy, 0.95)], axis=2)
    ground = np.stack([0.2 + 0.25 * noise, 0.4 + 0.2 * noise, 0.1 + 0.1 * noise], axis=2)
    img = np.where((yy < 0.55 + 0.08 * np.sin(6 * xx))[..., None], sky, ground)
    img = np.where((((yy - 0.2) ** 2 + (xx - 0.75) ** 2) < 0.01)[..., None], 1.0, img)
    out = io.BytesIO()
    Image.fromarray((np.clip(img, 0, 1) * 255).round().astype("uint8")).save(out, format="PNG")
    return out.getvalue()


def measure(backend: str, png: bytes, requests: int) -> dict:
    """Start the service on ``backend``, post ``png`` ``requests`` times; RSS figures in MiB."""
    mib = lambda kib: round(kib / 1024, 1)  # noqa: E731
    with start_service(GMNET_BACKEND=backend, GMNET_MAX_PIXELS=str(4096 * 4096)) as srv:
        pid = srv.proc.pid
        entry: dict = {"backend": backend, "ready_rss_mib": mib(vm_rss_kib(pid)), "requests": []}
        for _ in range(requests):
            started = time.monotonic()
            response = httpx.post(
                srv.url + "/v1/gainmap", content=png, headers={"content-type": "image/png"}, timeout=3600
            )
            response.raise_for_status()
            time.sleep(1.0)  # let worker threads settle before reading the figure
            entry["requests"].append(
                {
                    "seconds": round(time.monotonic() - started, 1),
                    "rss_after_mib": mib(vm_rss_kib(pid)),
                    "peak_mib": mib(vm_rss_kib(pid, "VmHWM")),
                }
            )
    return entry


def render(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Service memory per backend",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['mem_gib']} GiB; load average "
        f"{report['load_start']} at start, {report.get('load_end', '-')} at end.  ",
        f"Input: one {report['size']} photo-like PNG, posted {report['requests']} times to "
        "`POST /v1/gainmap`; resident set (VmRSS) read 1 s after each answer, peak = VmHWM.",
        "",
        "| backend | ready | " + " | ".join(f"after request {i + 1}" for i in range(report["requests"])) + " | peak |",
        "| --- | ---: | " + " | ".join("---:" for _ in range(report["requests"])) + " | ---: |",
    ]
    for e in report["backends"]:
        if "error" in e:
            lines.append(f"| {e['backend']} | failed: {e['error']} |")
            continue
        after = " | ".join(f"{r['rss_after_mib']:,.0f} MiB" for r in e["requests"])
        lines.append(
            f"| {e['backend']} | {e['ready_rss_mib']:,.0f} MiB | {after} | {e['requests'][-1]['peak_mib']:,.0f} MiB |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=BACKENDS)
    parser.add_argument("--size", default="2048x2048")
    parser.add_argument("--requests", type=int, default=2)
    parser.add_argument("--report-dir", type=Path, default=REPO / "reports")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    png = sample_png(width, height)
    report = {
        "schema": 1,
        "command": "python benchmarks/service_memory.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine(),
        "size": args.size,
        "requests": args.requests,
        "load_start": list(os.getloadavg()),
        "backends": [],
    }
    for backend in args.backend or BACKENDS:
        try:
            report["backends"].append(measure(backend, png, args.requests))
        except Exception as exc:
            report["backends"].append({"backend": backend, "error": f"{type(exc).__name__}: {exc}"[:300]})
        print(render(report), file=sys.stderr)
    report["load_end"] = list(os.getloadavg())
    write_atomic(args.report_dir / "service_memory.json", json.dumps(report, indent=2) + "\n")
    write_atomic(args.report_dir / "service_memory.md", render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
