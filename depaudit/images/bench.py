"""`depaudit bench`: build the reference service's image variants from scratch and measure them.

For each variant (docker/Dockerfile.<variant>): a cold `docker build --no-cache` (timed), the image's
size on disk and compressed (measure.py), the container's start-to-ready time (`docker run` until
GET /healthz answers 200), HTTP latency of POST /v1/gainmap at several image sizes (bounded request
counts and a time budget per size), and how its gain maps agree with the torch reference variant's
for the same input PNG. Everything it builds and runs is removed at the end unless `keep` is set.
"""

from __future__ import annotations

import io
import math
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from depaudit.errors import ToolError, UsageError
from depaudit.images import engine
from depaudit.process import run_logged, run_tool

VARIANTS = ("torch-cuda", "torch-cpu", "onnxruntime", "tinygrad")
REFERENCE_ORDER = ("torch-cuda", "torch-cpu")  # the torch reference: whichever of these ran
DEFAULT_SIZES = ((256, 256), (512, 512), (1024, 768))
DEFAULT_WHEEL_DIRS = (Path("/opt/wheels"),)
TAG_PREFIX = "depaudit-bench/gmnet"
Progress = Callable[[str], None]


@dataclass
class LatencyResult:
    """Latency of POST /v1/gainmap at one input size: timed requests after one warm-up."""

    size: str
    requests: int
    p50_ms: float | None
    p95_ms: float | None
    mean_ms: float | None
    warmup_ms: float | None
    samples_ms: list[float] = field(default_factory=list)
    error: str | None = None


@dataclass
class AgreementResult:
    """A variant's gain map against the reference variant's for the same input PNG."""

    size: str
    reference: str
    psnr_db: float | None  # PSNR of the dequantised PNG gain maps, peak 1.0; None when identical
    max_abs_err: float | None
    qmax_rel_err: float | None
    note: str | None = None
    identical: bool = False
    # the float gain map's min and max (X-Gainmap-Min/-Max headers, full precision) against the
    # reference's, relative to the reference's range: a check the clipped PNG cannot make
    range_rel_err: float | None = None


@dataclass
class VariantResult:
    variant: str
    image: str
    dockerfile: str
    build_seconds: float | None = None
    size: int | None = None
    compressed_size: int | None = None
    accelerator_bytes: int | None = None
    layers: int | None = None
    python_packages: list[tuple[str, int]] = field(default_factory=list)
    ready_seconds: float | None = None
    latency: list[LatencyResult] = field(default_factory=list)
    agreement: list[AgreementResult] = field(default_factory=list)
    error: str | None = None


@dataclass
class BenchConfig:
    repo: Path
    variants: Sequence[str] = VARIANTS
    base_image: str = "python:3.11-slim"
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES
    requests: int = 5
    size_budget_seconds: float = 90.0
    request_timeout: float = 600.0
    ready_timeout: float = 300.0
    build_timeout_seconds: float = 3600.0  # a cold torch-cuda build took 205-324 s here
    torch_index_url: str | None = None
    wheel_dirs: Sequence[Path] = DEFAULT_WHEEL_DIRS
    keep: bool = False
    measure_compressed: bool = True
    network_host: bool = True


# ---------------------------------------------------------------- inputs and statistics

def sample_png(width: int, height: int, seed: int = 7) -> bytes:
    """A deterministic photo-like RGB PNG: sky gradient, a horizon, a sun disc, textured ground."""
    import numpy as np
    from PIL import Image

    yy, xx = np.meshgrid(np.linspace(0, 1, height), np.linspace(0, 1, width), indexing="ij")
    noise = np.random.default_rng(seed).random((height, width))
    horizon = 0.55 + 0.08 * np.sin(6.0 * xx)
    sky = np.stack([0.35 + 0.4 * yy, 0.55 + 0.3 * yy, np.full_like(yy, 0.95)], axis=2)
    ground = np.stack([0.2 + 0.25 * noise, 0.4 + 0.2 * noise, 0.1 + 0.1 * noise], axis=2)
    img = np.where((yy < horizon)[..., None], sky, ground)
    img = np.where((((yy - 0.2) ** 2 + (xx - 0.75) ** 2) < 0.01)[..., None], 1.0, img)
    out = io.BytesIO()
    Image.fromarray((np.clip(img, 0, 1) * 255).round().astype("uint8")).save(out, format="PNG")
    return out.getvalue()


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]); with few samples p95 sits near the maximum."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def decode_gain_map(png: bytes):
    """The service's gain-map PNG as float64 in [0, 1] (16-bit or 8-bit grayscale)."""
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png), formats=["PNG"])
    raw = np.asarray(image)
    scale = 65535.0 if raw.dtype == np.uint16 or image.mode.startswith("I") else 255.0
    return raw.astype(np.float64) / scale


@dataclass(frozen=True)
class Answer:
    """What the service answered for one input: the gain-map PNG and the floats in its headers."""

    png: bytes
    qmax: float
    gain_min: float = math.nan
    gain_max: float = math.nan


def _rel(a: float, b: float, scale: float) -> float | None:
    if not all(math.isfinite(x) for x in (a, b, scale)):
        return None
    return abs(a - b) / max(abs(scale), 1e-38)


def agreement(size: str, reference: str, ref: Answer, out: Answer) -> AgreementResult:
    """Compare two answers for the same input: the PNGs (PSNR, peak 1.0), qmax, the gain range."""
    import numpy as np

    a, b = decode_gain_map(ref.png), decode_gain_map(out.png)
    if a.shape != b.shape:
        return AgreementResult(size, reference, None, None, None, f"shape {b.shape} != reference {a.shape}")
    mse = float(np.mean((a - b) ** 2))
    psnr = None if mse == 0 else 10 * math.log10(1.0 / mse)
    q_rel = _rel(out.qmax, ref.qmax, ref.qmax)
    spread = ref.gain_max - ref.gain_min
    range_errors = [_rel(out.gain_min, ref.gain_min, spread), _rel(out.gain_max, ref.gain_max, spread)]
    range_rel = None if None in range_errors else max(range_errors)  # type: ignore[type-var]
    note = None
    if float(np.ptp(a)) == 0:
        note = "reference gain map is constant"
    return AgreementResult(size, reference, psnr, float(np.max(np.abs(a - b))), q_rel, note, identical=mse == 0,
                           range_rel_err=range_rel)


# ---------------------------------------------------------------- docker steps

_STEP = re.compile(r"^Step \d+/\d+ : (\w+)")
_ARROW = re.compile(r"^ ---> ([0-9a-f]{12,64})\s*$")


def stage_images(build_log: str) -> list[str]:
    """Image ids a legacy-builder log shows as the last step of each stage (the intermediate
    builder stages stay behind as untagged images; removing them frees their layers)."""
    ids: list[str] = []
    current: str | None = None
    step_keyword = None
    for line in build_log.splitlines():
        step = _STEP.match(line)
        if step:
            if step.group(1).upper() == "FROM" and current is not None:
                ids.append(current)
                current = None
            step_keyword = step.group(1).upper()
            continue
        arrow = _ARROW.match(line)
        if arrow and step_keyword != "FROM":
            current = arrow.group(1)
    if current is not None:
        ids.append(current)
    return ids


def build_variant(cfg: BenchConfig, variant: str, tag: str, log_dir: Path, index_url: str | None) -> tuple[float, list[str]]:
    """Cold-build one variant; returns (seconds, image ids of its stages). Raises ToolError."""
    dockerfile = cfg.repo / "docker" / f"Dockerfile.{variant}"
    if not dockerfile.is_file():
        raise UsageError(f"{dockerfile}: no such Dockerfile (variants: {', '.join(VARIANTS)})")
    argv = [engine.docker_command(), "build", "--no-cache", "--force-rm", "--pull=false",
            "--build-arg", f"BASE_IMAGE={cfg.base_image}", "-f", str(dockerfile), "-t", tag]
    if cfg.network_host:
        argv += ["--network", "host"]
    if index_url and variant == "torch-cpu":
        argv += ["--build-arg", f"TORCH_INDEX_URL={index_url}"]
    argv.append(str(cfg.repo))
    log_path = log_dir / f"build-{variant}.log"
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    start = time.monotonic()
    with log_path.open("wb") as log:
        code = run_logged(argv, log, timeout=cfg.build_timeout_seconds, env=env)
    seconds = time.monotonic() - start
    text = log_path.read_text(errors="replace")
    if code != 0:
        raise ToolError(argv, text[-4000:], what=f"docker build of {variant} failed (log: {log_path})")
    return seconds, stage_images(text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_container(image: str, name: str) -> Iterator[tuple[str, float]]:
    """Run the service container (read-only root, tmpfs /tmp, published on 127.0.0.1); yields
    (base URL, seconds from `docker run` to the first 200 from /healthz is measured by the caller).
    The container is removed on exit, whatever happened."""
    port = _free_port()
    engine.run_docker(["rm", "-f", name], timeout=60) if _exists(name) else None
    started = time.monotonic()
    engine.run_docker(["run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp",
                       "-p", f"127.0.0.1:{port}:8000", image], timeout=120)
    try:
        yield f"http://127.0.0.1:{port}", started
    finally:
        try:
            engine.run_docker(["rm", "-f", name], timeout=120)
        except ToolError:
            pass


def _exists(name: str) -> bool:
    try:
        engine.run_docker(["container", "inspect", "--format", "{{.Id}}", name], timeout=30)
        return True
    except ToolError:
        return False


def wait_ready(url: str, started: float, timeout: float, container: str) -> float:
    """Poll GET /healthz until 200; returns seconds since `started`. Raises ToolError on timeout or
    when the container exits first."""
    deadline = started + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        state = engine.run_docker(["container", "inspect", "--format", "{{.State.Status}}", container], timeout=30)
        if state.strip() not in ("running", "created"):
            logs = _logs(container)
            raise ToolError(["docker", "run", container], logs, what=f"container {container} exited before ready")
        time.sleep(0.1)
    raise ToolError(["docker", "run", container], _logs(container),
                    what=f"container {container} not ready after {timeout:g} s")


def _logs(container: str) -> str:
    try:
        done = run_tool([engine.docker_command(), "logs", "--tail", "30", container], timeout=30, check=False)
        return done.stdout + done.stderr
    except (OSError, ToolError):
        return ""


def post_gainmap(url: str, png: bytes, timeout: float) -> tuple[float, Answer]:
    """POST one PNG; returns (seconds, answer). Raises ToolError on a non-200 answer."""
    request = urllib.request.Request(url + "/v1/gainmap", data=png, method="POST",
                                     headers={"Content-Type": "image/png"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = resp.read()
            answer = Answer(body, *(float(resp.headers.get(f"X-Gainmap-{h}", "nan")) for h in ("Qmax", "Min", "Max")))
    except urllib.error.HTTPError as exc:
        raise ToolError(["POST", url + "/v1/gainmap"], exc.read().decode(errors="replace"),
                        what=f"POST /v1/gainmap answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ToolError(["POST", url + "/v1/gainmap"], str(exc), what=f"POST /v1/gainmap failed: {exc}") from None
    return time.monotonic() - start, answer


def measure_latency(cfg: BenchConfig, url: str, size: tuple[int, int], png: bytes) -> tuple[LatencyResult, Answer | None]:
    """One warm-up request, then up to cfg.requests timed ones within cfg.size_budget_seconds (at
    least one). Returns the result and the first answer (for the agreement check)."""
    label = f"{size[0]}x{size[1]}"
    try:
        warm, answer = post_gainmap(url, png, cfg.request_timeout)
    except ToolError as exc:
        return LatencyResult(label, 0, None, None, None, None, error=str(exc).splitlines()[0]), None
    samples: list[float] = []
    budget_end = time.monotonic() + cfg.size_budget_seconds
    while len(samples) < cfg.requests and (not samples or time.monotonic() < budget_end):
        try:
            seconds, _ = post_gainmap(url, png, cfg.request_timeout)
        except ToolError as exc:
            return LatencyResult(label, len(samples), None, None, None, warm * 1000, error=str(exc).splitlines()[0]), answer
        samples.append(seconds * 1000)
    return LatencyResult(label, len(samples), percentile(samples, 50), percentile(samples, 95),
                         statistics.fmean(samples), warm * 1000, [round(s, 1) for s in samples]), answer


def remove_images(ids: Sequence[str]) -> None:
    """Remove the images a build made (final tag and builder stages); ignore ones already gone."""
    for image in ids:
        try:
            engine.run_docker(["rmi", image], timeout=600)
        except ToolError:
            pass


# ---------------------------------------------------------------- the run

def run_variant(cfg: BenchConfig, variant: str, log_dir: Path, index_url: str | None, inputs: dict,
                answers: dict, say: Progress) -> VariantResult:
    """Build, measure, run and time one variant; removes what it made unless cfg.keep."""
    from depaudit.images.measure import measure_image

    tag = f"{TAG_PREFIX}:{variant}"
    result = VariantResult(variant, tag, f"docker/Dockerfile.{variant}")
    made: list[str] = []
    try:
        say(f"{variant}: docker build --no-cache")
        result.build_seconds, stages = build_variant(cfg, variant, tag, log_dir, index_url)
        made = stages[:-1] + [tag]
        say(f"{variant}: built in {result.build_seconds:.1f} s; measuring the image")
        m = measure_image(tag, compressed=cfg.measure_compressed, top=10)
        result.size, result.compressed_size, result.accelerator_bytes = m.size, m.compressed_size, m.accelerator_bytes
        result.layers, result.python_packages = len(m.layers), list(m.python_packages)
        with running_container(tag, f"depaudit-bench-{variant}") as (url, started):
            result.ready_seconds = wait_ready(url, started, cfg.ready_timeout, f"depaudit-bench-{variant}")
            say(f"{variant}: ready in {result.ready_seconds:.1f} s")
            for size in cfg.sizes:
                latency, answer = measure_latency(cfg, url, size, inputs[size])
                result.latency.append(latency)
                say(f"{variant}: {latency.size}: p50 {latency.p50_ms} ms over {latency.requests} requests"
                    + (f" ({latency.error})" if latency.error else ""))
                if answer is not None:
                    answers.setdefault(variant, {})[latency.size] = answer
    except ToolError as exc:
        result.error = str(exc).splitlines()[0]
        say(f"{variant}: failed: {result.error}")
    finally:
        if not cfg.keep and made:
            remove_images(made)
    return result


def run_bench(cfg: BenchConfig, say: Progress = lambda message: None) -> dict:
    """Run every variant in cfg.variants, one after the other; returns the report dict (schema 1).
    Raises ToolError when no engine answers, UsageError for an unknown variant."""
    unknown = [v for v in cfg.variants if v not in VARIANTS]
    if unknown:
        raise UsageError(f"unknown variant(s): {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    engine.require_engine()
    if not engine.image_exists(cfg.base_image):
        raise ToolError(["docker", "image", "inspect", cfg.base_image], "",
                        what=f"base image {cfg.base_image} is not on this engine (no registry here: build "
                             "it with docker/base/build-base.sh, or pass --base-image)")
    inputs = {size: sample_png(*size) for size in cfg.sizes}
    answers: dict[str, dict[str, Answer]] = {}
    results: list[VariantResult] = []
    started = time.time()
    load_start = os.getloadavg()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="depaudit-bench-") as tmp:
        index_url = cfg.torch_index_url
        if index_url is None and "torch-cpu" in cfg.variants:
            from depaudit.images.wheel_index import serve_wheel_index

            index_url = stack.enter_context(serve_wheel_index(cfg.wheel_dirs))
            say(f"serving {', '.join(map(str, cfg.wheel_dirs))} as the CPU index at {index_url}")
        for variant in cfg.variants:
            results.append(run_variant(cfg, variant, Path(tmp), index_url, inputs, answers, say))
    _add_agreement(results, answers)
    report = report_dict(cfg, results, started, time.time(), index_url)
    # other jobs on a shared machine slow every timing; say how busy it was
    report["machine"]["load_average"] = {"start": [round(x, 2) for x in load_start],
                                         "end": [round(x, 2) for x in os.getloadavg()]}
    return report


def _add_agreement(results: list[VariantResult], answers: dict) -> None:
    reference = next((v for v in REFERENCE_ORDER if v in answers), None)
    if reference is None:
        return
    for result in results:
        for size, answer in answers.get(result.variant, {}).items():
            ref = answers[reference].get(size)
            if ref is not None:
                result.agreement.append(agreement(size, reference, ref, answer))


def machine_description() -> dict:
    """The machine the figures come from: CPU model and count, memory, OS, Python, Docker engine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    os_name = platform.platform()
    try:
        fields = dict(l.split("=", 1) for l in Path("/etc/os-release").read_text().splitlines() if "=" in l)
        os_name = fields.get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    try:
        server = engine.run_docker(["version", "--format", "{{.Server.Version}}"], timeout=30).strip()
    except ToolError:
        server = None
    return {"cpu": cpu, "vcpus": os.cpu_count(), "memory_gib": memory, "os": os_name,
            "python": platform.python_version(), "docker_engine": server}


def report_dict(cfg: BenchConfig, results: list[VariantResult], started: float, ended: float,
                index_url: str | None) -> dict:
    return {
        "schema": 1,
        "command": "depaudit " + " ".join(sys.argv[1:]) if sys.argv and "depaudit" in sys.argv[0] else " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_seconds": round(ended - started, 1),
        "machine": machine_description(),
        "base_image": cfg.base_image,
        "torch_index_url": index_url,
        "settings": {"requests_per_size": cfg.requests, "size_budget_seconds": cfg.size_budget_seconds,
                     "sizes": [f"{w}x{h}" for w, h in cfg.sizes]},
        "variants": [asdict(r) for r in results],
        "targets": targets(results),
    }


def targets(results: list[VariantResult]) -> dict:
    """The issue's targets, computed from the measurements: ORT image <= 1/20 of torch-cuda and
    <= 250 MB; ORT cold build >= 5x faster than torch-cuda. None when a figure is missing."""
    by = {r.variant: r for r in results}
    cuda, ort = by.get("torch-cuda"), by.get("onnxruntime")
    out: dict = {"ort_size_limit_bytes": 250_000_000}
    if ort and ort.size:
        out["ort_size_bytes"] = ort.size
        out["ort_within_250MB"] = ort.size <= 250_000_000
    if cuda and ort and cuda.size and ort.size:
        out["size_ratio"] = round(cuda.size / ort.size, 2)
        out["ort_at_most_1_20th"] = ort.size * 20 <= cuda.size
    if cuda and ort and cuda.build_seconds and ort.build_seconds:
        out["build_speedup"] = round(cuda.build_seconds / ort.build_seconds, 2)
        out["ort_build_5x_faster"] = cuda.build_seconds >= 5 * ort.build_seconds
    return out
