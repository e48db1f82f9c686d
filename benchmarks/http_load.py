"""Load test of the GMNet HTTP service: hostile traffic mixed with real work, then latency/throughput.

Starts ``python -m reference_service`` (ONNX Runtime backend) on 127.0.0.1 with a free port, then:

1. Robustness: ``--requests`` requests (``--hostile`` of them hostile: empty body, truncated PNG,
   non-image bytes, a PNG header claiming 30000x30000, a body over the size limit), shuffled with a
   fixed seed and sent with ``--concurrency`` client threads. Legitimate requests alternate between
   ``POST /v1/gainmap`` and ``POST /v1/jobs``; the client thread that got a job accepted polls
   it until it finishes (as a real client would) before sending its next request.
   Must hold: every hostile request got a 4xx, no 5xx or dropped connection, every accepted job
   completed, ``/healthz`` answers 200 afterwards.
2. Latency (unless ``--no-latency``): HTTP round trip of ``POST /v1/gainmap`` at 256x256 and
   512x512, sequentially and with ``--latency-concurrency`` clients: p50/p95, throughput, and the
   server-side inference time from the ``X-Inference-Seconds`` header.

Writes JSON (``--json``) and markdown (``--markdown``); exits 1 when a robustness check fails.
Loopback only; every phase has a fixed request count and timeouts.

    python benchmarks/http_load.py --json reports/http_service.json --markdown reports/http_service.md
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
HOSTILE_KINDS = ("empty", "truncated_png", "non_image", "bomb_30000x30000", "oversized_body")


# -- inputs -----------------------------------------------------------------------------------
def picture(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), 0.5 + 0.5 * np.sin((x + y) / 9.0)], axis=2)
    return np.clip(base * 220 + rng.integers(0, 35, base.shape), 0, 255).astype(np.uint8)


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + _chunk(b"IEND", b"")
    )


def hostile_body(kind: str, max_body: int, seed: int) -> bytes:
    if kind == "empty":
        return b""
    if kind == "truncated_png":
        data = png(picture(96, 96, seed))
        return data[: len(data) // 3]
    if kind == "non_image":
        return random.Random(seed).randbytes(2048)
    if kind == "bomb_30000x30000":
        return bomb_png(30000, 30000)
    if kind == "oversized_body":
        return png(picture(16, 16, seed)) + b"\0" * max_body
    raise ValueError(kind)


# -- the server -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """The real service in a subprocess, logging into a temp file."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith("GMNET_")}
        full.update(
            PYTHONPATH=str(REPO),
            PYTHONDONTWRITEBYTECODE="1",
            HOST="127.0.0.1",
            PORT=str(self.port),
            GMNET_LOG_LEVEL="warning",
            **env,
        )
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (read by text() after stop(); lives as long as the server object)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference_service"], env=full, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO
        )

    def wait_ready(self, timeout: float = 120.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server not ready in time")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def text(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


# -- phase 1: robustness ----------------------------------------------------------------------
@dataclass
class Outcome:
    kind: str  # "legit_sync", "legit_job" or a HOSTILE_KINDS entry
    status: int | None  # None: transport error
    error: str = ""
    job_href: str = ""
    job_status: str = ""


@dataclass
class Robustness:
    requests: int
    hostile: int
    concurrency: int
    seconds: float = 0.0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    hostile_not_4xx: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    accepted_sync: int = 0
    accepted_jobs: int = 0
    jobs_completed: int = 0
    jobs_lost: int = 0
    rejected_429: int = 0
    healthz_after: int | None = None
    metrics_jobs_completed: float = 0.0
    failures: list[str] = field(default_factory=list)


def plan(requests: int, hostile: int, seed: int) -> list[str]:
    kinds = [HOSTILE_KINDS[i % len(HOSTILE_KINDS)] for i in range(hostile)]
    kinds += ["legit_sync" if i % 2 == 0 else "legit_job" for i in range(requests - hostile)]
    random.Random(seed).shuffle(kinds)
    return kinds


def send(client: httpx.Client, kind: str, index: int, max_body: int) -> Outcome:
    try:
        if kind in HOSTILE_KINDS:
            endpoint = "/v1/gainmap" if index % 2 == 0 else "/v1/jobs"
            response = client.post(
                endpoint, content=hostile_body(kind, max_body, index), headers={"content-type": "image/png"}
            )
            return Outcome(kind, response.status_code, response.json().get("error", ""))
        side = (48, 64, 96, 128)[index % 4]
        body = png(picture(side, side + 16, index))
        if kind == "legit_sync":
            response = client.post("/v1/gainmap", content=body, headers={"content-type": "image/png"})
            return Outcome(kind, response.status_code)
        response = client.post("/v1/jobs", content=body, headers={"content-type": "image/png"})
        outcome = Outcome(kind, response.status_code, response.json().get("error", ""))
        if response.status_code == 202:  # a client collects its job while others keep sending
            outcome.job_href = response.json()["href"]
            outcome.job_status = poll_job(client, outcome.job_href)
        return outcome
    except httpx.TransportError as exc:
        return Outcome(kind, None, error=f"{type(exc).__name__}: {exc}")


def poll_job(client: httpx.Client, href: str, timeout: float = 300.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(href)
        if response.status_code != 200:
            return f"http_{response.status_code}"
        status = response.json()["status"]
        if status in ("done", "failed"):
            return status
        time.sleep(0.1)
    return "timeout"


def metric_value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    return 0.0


def robustness(service: Service, args: argparse.Namespace) -> Robustness:
    kinds = plan(args.requests, args.hostile, args.seed)
    result = Robustness(args.requests, args.hostile, args.concurrency)
    limits = httpx.Limits(max_connections=args.concurrency)
    started = time.perf_counter()
    with httpx.Client(base_url=service.url, timeout=300, limits=limits) as client:
        with ThreadPoolExecutor(args.concurrency) as pool:
            outcomes = list(pool.map(lambda ik: send(client, ik[1], ik[0], args.max_body), enumerate(kinds)))
        result.seconds = time.perf_counter() - started
        result.healthz_after = client.get("/healthz").status_code
        metrics = client.get("/metrics").text
    result.metrics_jobs_completed = metric_value(metrics, 'gmnet_jobs_total{outcome="completed"}')
    for outcome in outcomes:
        tally = result.by_kind.setdefault(outcome.kind, {})
        key = str(outcome.status) if outcome.status is not None else "transport_error"
        tally[key] = tally.get(key, 0) + 1
        if outcome.status is None:
            result.transport_errors += 1
            result.failures.append(f"{outcome.kind}: {outcome.error}")
            continue
        if outcome.status >= 500:
            result.server_errors += 1
            result.failures.append(f"{outcome.kind}: HTTP {outcome.status}")
        if outcome.kind in HOSTILE_KINDS and not 400 <= outcome.status < 500:
            result.hostile_not_4xx += 1
            result.failures.append(f"hostile {outcome.kind} answered {outcome.status}")
        if outcome.status == 429:
            result.rejected_429 += 1
        if outcome.kind == "legit_sync" and outcome.status == 200:
            result.accepted_sync += 1
        if outcome.kind == "legit_job" and outcome.status == 202:
            result.accepted_jobs += 1
            if outcome.job_status == "done":
                result.jobs_completed += 1
            else:
                result.jobs_lost += 1
                result.failures.append(f"job {outcome.job_href} ended {outcome.job_status}")
        if outcome.kind.startswith("legit") and outcome.status not in (200, 202, 429):
            result.failures.append(f"{outcome.kind} answered {outcome.status}")
    if result.healthz_after != 200:
        result.failures.append(f"/healthz answered {result.healthz_after} afterwards")
    if result.metrics_jobs_completed < result.accepted_sync + result.accepted_jobs:
        result.failures.append("server counted fewer completed jobs than were accepted")
    return result


# -- phase 2: latency -------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def latency_cells(
    service: Service, args: argparse.Namespace, *, workers: int, client_counts: tuple[int, ...]
) -> list[dict]:
    cells = []
    for side in (256, 512):
        count = args.latency_requests if side == 256 else max(4, args.latency_requests // 2)
        for clients in client_counts:
            cell = latency_run(service, side, count, clients)
            cell["workers"] = workers
            cells.append(cell)
            print(
                f"latency {side}x{side} workers={workers} clients={clients}: p50 {cell['rtt_p50_ms']:.0f} ms",
                file=sys.stderr,
            )
    return cells


def latency_run(service: Service, side: int, requests: int, concurrency: int) -> dict:
    body = png(picture(side, side, side))
    limits = httpx.Limits(max_connections=concurrency)
    with httpx.Client(base_url=service.url, timeout=600, limits=limits) as client:
        for _ in range(2):  # warm-up: first runs allocate ORT's arena for this shape
            client.post("/v1/gainmap", content=body, headers={"content-type": "image/png"})

        def one(_: int) -> tuple[float, float, int]:
            t0 = time.perf_counter()
            response = client.post("/v1/gainmap", content=body, headers={"content-type": "image/png"})
            rtt = time.perf_counter() - t0
            return rtt, float(response.headers.get("x-inference-seconds", "nan")), response.status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            samples = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
    ok = [s for s in samples if s[2] == 200]
    rtts = [s[0] for s in ok]
    infer = [s[1] for s in ok]
    return {
        "size": f"{side}x{side}",
        "concurrency": concurrency,
        "requests": requests,
        "ok": len(ok),
        "wall_seconds": wall,
        "throughput_rps": len(ok) / wall,
        "rtt_p50_ms": percentile(rtts, 50) * 1000,
        "rtt_p95_ms": percentile(rtts, 95) * 1000,
        "inference_p50_ms": percentile(infer, 50) * 1000,
        "overhead_p50_ms": (percentile(rtts, 50) - percentile(infer, 50)) * 1000 if concurrency == 1 else None,
    }


# -- reporting --------------------------------------------------------------------------------
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kib = 0
    versions = {}
    for dist in ("uvicorn", "starlette", "h11", "onnxruntime", "numpy", "pillow", "httpx"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": cpu,
        "vcpus": os.cpu_count(),
        "mem_gib": round(mem_kib / 2**20, 1),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def _busy(report: dict) -> bool:
    """A 1-minute load average above the CPU count at the start or the end."""
    loads = [report["machine"]["loadavg_at_start"][0], report["loadavg_at_end"][0]]
    return max(loads) > (report["machine"]["vcpus"] or 1)


def markdown(report: dict) -> str:
    r = report["robustness"]
    m = report["machine"]
    lines = [
        "# GMNet HTTP service: load test and round-trip latency",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpu']}, {m['vcpus']} vCPU, {m['mem_gib']} GiB, {m['os']}, "
        f"Python {m['python']}; 1/5/15-min load average {m['loadavg_at_start']} at start, "
        f"{report['loadavg_at_end']} at end"
        + (" (other jobs shared the machine: provisional)  " if _busy(report) else " (below the CPU count: quiet)  "),
        "Stack: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + "  ",
        f"Server: `python -m reference_service`, backend onnxruntime, settings "
        f"`{report['server_env']}`; started in {report['startup_seconds']:.2f} s (to /healthz "
        f"200); SIGTERM at the end → exit code {report['shutdown_exit_code']}"
        + (
            f" (the GMNET_WORKERS={report['latency'][-1]['workers']} comparison server: "
            f"{report['compare_shutdown_exit_code']})"
            if "compare_shutdown_exit_code" in report
            else ""
        )
        + ".",
        "",
        "## Robustness (hostile traffic mixed with real work)",
        "",
        f"{r['requests']} requests, {r['hostile']} hostile, {r['concurrency']} concurrent clients, "
        f"{r['seconds']:.1f} s.",
        "",
        "| request kind | answers (status: count) |",
        "| --- | --- |",
    ]
    for kind, tally in sorted(r["by_kind"].items()):
        lines.append(f"| {kind} | " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())) + " |")
    lines += [
        "",
        f"- hostile requests not answered 4xx: **{r['hostile_not_4xx']}**",
        f"- 5xx answers: **{r['server_errors']}**; dropped connections: "
        f"**{r['transport_errors']}**; 429 (queue full): {r['rejected_429']}",
        f"- accepted synchronous requests: {r['accepted_sync']}; accepted async jobs: "
        f"{r['accepted_jobs']}, completed {r['jobs_completed']}, lost **{r['jobs_lost']}**",
        f"- `/healthz` afterwards: **{r['healthz_after']}**; server-side "
        f'`gmnet_jobs_total{{outcome="completed"}}` = {r["metrics_jobs_completed"]:.0f}',
        f"- verdict: **{'PASS' if not r['failures'] else 'FAIL'}**"
        + ("" if not r["failures"] else " — " + "; ".join(r["failures"][:5])),
        "",
    ]
    if report.get("latency"):
        lines += [
            "## Round-trip latency and throughput (`POST /v1/gainmap`, PNG in, 16-bit PNG out)",
            "",
            "| image | workers | clients | requests | RTT p50 (ms) | RTT p95 (ms) "
            "| server inference p50 (ms) | HTTP+codec overhead p50 (ms) | throughput (req/s) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in report["latency"]:
            overhead = f"{row['overhead_p50_ms']:.1f}" if row["overhead_p50_ms"] is not None else "—"
            lines.append(
                f"| {row['size']} | {row['workers']} | {row['concurrency']} "
                f"| {row['ok']}/{row['requests']} "
                f"| {row['rtt_p50_ms']:.0f} | {row['rtt_p95_ms']:.0f} "
                f"| {row['inference_p50_ms']:.0f} | {overhead} "
                f"| {row['throughput_rps']:.2f} |"
            )
        lines += [
            "",
            "Server inference = the service's predict() (thumbnail, even padding, the "
            "backend run, crop), from the X-Inference-Seconds header. Overhead = round trip "
            "minus that, with one client: upload, PNG decode, gain-map PNG encode, queue "
            "hand-off and HTTP. With one worker, concurrent clients queue behind a single "
            "inference, so round trips grow while throughput stays that of the backend; "
            "the workers=2 rows run two inferences at once on the same cores. Timings on "
            "this 2-vCPU machine drift between runs (see the load average above); "
            "compare rows of one run only.",
            "",
        ]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=240)
    parser.add_argument("--hostile", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--max-body",
        type=int,
        default=4_000_000,
        help="GMNET_MAX_BODY_BYTES for the server (the oversized body exceeds it)",
    )
    parser.add_argument("--queue-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--no-latency", action="store_true", help="skip phase 2")
    parser.add_argument(
        "--latency-requests", type=int, default=16, help="requests per (size, clients) cell; 512x512 uses half"
    )
    parser.add_argument("--latency-concurrency", type=int, default=4)
    parser.add_argument(
        "--compare-workers",
        type=int,
        default=2,
        help="also measure the concurrent cells with this many GMNET_WORKERS (1 to skip)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    if not 0 <= args.hostile <= args.requests:
        parser.error("--hostile must be between 0 and --requests")

    env = {"GMNET_MAX_BODY_BYTES": str(args.max_body), "GMNET_QUEUE_SIZE": str(args.queue_size), "GMNET_WORKERS": "1"}
    service = Service(env)
    report: dict = {
        "schema": 1,
        "command": "python benchmarks/http_load.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "server_env": " ".join(f"{k}={v}" for k, v in env.items()),
    }
    try:
        report["startup_seconds"] = service.wait_ready()
        print(f"server ready at {service.url}", file=sys.stderr)
        result = robustness(service, args)
        report["robustness"] = asdict(result)
        print(f"robustness: {len(result.failures)} failure(s)", file=sys.stderr)
        if not args.no_latency:
            report["latency"] = latency_cells(service, args, workers=1, client_counts=(1, args.latency_concurrency))
    finally:
        report["shutdown_exit_code"] = service.stop()
    if not args.no_latency and args.compare_workers > 1:
        # Same concurrent cells against a server with more inference threads (one run, side by
        # side): does a second worker add throughput on this CPU, or only contention?
        other = Service({**env, "GMNET_WORKERS": str(args.compare_workers)})
        try:
            other.wait_ready()
            report["latency"] += latency_cells(
                other, args, workers=args.compare_workers, client_counts=(args.latency_concurrency,)
            )
        finally:
            report["compare_shutdown_exit_code"] = other.stop()
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if report.get("compare_shutdown_exit_code", 0) != 0:
        report["robustness"]["failures"].append(
            f"comparison server exited {report['compare_shutdown_exit_code']} on SIGTERM"
        )
    if report["shutdown_exit_code"] != 0:
        report["robustness"]["failures"].append(f"server exited {report['shutdown_exit_code']} on SIGTERM")
    text = markdown(report)
    if args.json:
        write_atomic(args.json, json.dumps(report, indent=2) + "\n")
    if args.markdown:
        write_atomic(args.markdown, text + "\n")
    print(text)
    return 1 if report["robustness"]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
