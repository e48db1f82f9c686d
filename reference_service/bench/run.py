"""Build every variant, measure it, run them all, then time them side by side in interleaved rounds.

Phases:

1. **Build and measure**, one variant at a time: a cold ``docker build --no-cache`` (timed; each ``Step N/M``
   reported as progress), its builder stages removed at once (the legacy builder leaves them as dangling
   images), the image measured from one ``docker save`` pass (bytes read reported as progress).
2. **Start** each built variant's container alone and time ``docker run`` → first 200 from ``/healthz``.
3. **Warm up**: one request per variant and input size; that answer is kept for the agreement check.
4. **Rounds**: ``requests`` rounds; in each, every input size is sent to every variant once, the order of
   the variants rotated from round to round, so a busy minute on a shared machine falls on all of them
   rather than on whichever ran then. A variant stops getting a size once its samples for it exceed the
   per-size time budget (one sample at least).

The 1-minute load average is recorded at every phase and with every timed request; when it exceeds the
number of logical CPUs the run warns and the report is marked provisional. A variant that fails is
reported with its error and the others go on; everything built and run is removed at the end unless
``keep`` (then only the final, tagged images stay).
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from depaudit.errors import DepauditError, ToolError, UsageError
from depaudit.images import engine
from depaudit.images.lookups import PredictOptions, predict_dockerfile
from depaudit.images.measure import measure_image
from depaudit.model import ImageMeasurement
from reference_service.bench.build import build_image, remove_images
from reference_service.bench.container import running_container, wait_ready
from reference_service.bench.gmnet import (
    REFERENCE_ORDER,
    TAG_PREFIX,
    VARIANTS,
    AgreementResult,
    Answer,
    agreement,
    post_gainmap,
    sample_png,
    targets,
)
from reference_service.bench.machine import load_average, machine_description, overloaded
from reference_service.bench.wheel_index import serve_wheel_index

Progress = Callable[[str], None]
DEFAULT_SIZES = ((256, 256), (512, 512), (1024, 768))
DEFAULT_WHEEL_DIRS = (Path("/opt/wheels"),)
PROGRESS_EVERY_SECONDS = 5.0


@dataclass
class LatencyResult:
    """Latency of POST /v1/gainmap at one input size: the timed requests after one warm-up."""

    size: str
    requests: int
    p50_ms: float | None
    p95_ms: float | None
    mean_ms: float | None
    warmup_ms: float | None
    samples_ms: list[float] = field(default_factory=list)
    load1: list[float] = field(default_factory=list)  # 1-minute load average at each sample
    error: str | None = None


@dataclass
class VariantResult:
    """Everything measured for one variant."""

    variant: str
    image: str
    dockerfile: str
    build_seconds: float | None = None
    size: int | None = None
    compressed_size: int | None = None
    accelerator_bytes: int | None = None
    layers: int | None = None
    python_packages: list[tuple[str, int]] = field(default_factory=list)
    builder_stages_removed: int = 0
    predicted_size: int | None = None  # `depaudit image predict` before the build (None: it failed)
    predicted_complete: bool | None = None
    predict_seconds: float | None = None
    ready_seconds: float | None = None
    latency: list[LatencyResult] = field(default_factory=list)
    agreement: list[AgreementResult] = field(default_factory=list)
    error: str | None = None


@dataclass
class BenchConfig:
    """What to build and how hard to measure it."""

    repo: Path
    variants: Sequence[str] = VARIANTS
    base_image: str = "python:3.11-slim"
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES
    requests: int = 5
    size_budget_seconds: float = 90.0
    request_timeout: float = 600.0
    ready_timeout: float = 300.0
    torch_index_url: str | None = None
    wheel_dirs: Sequence[Path] = DEFAULT_WHEEL_DIRS
    keep: bool = False
    measure_compressed: bool = True
    network_host: bool = True
    command: str = "python -m reference_service.bench"  # the command line, as the report shows it


class LoadLog:
    """Samples of the load average by phase; warns the first time it exceeds the CPU count."""

    def __init__(self, say: Progress, cpus: int | None = None) -> None:
        self.say, self.cpus = say, cpus or os.cpu_count() or 1
        self.samples: list[dict[str, Any]] = []
        self._warned: set[str] = set()

    def sample(self, phase: str) -> float:
        """Record the load now under ``phase``; returns the 1-minute figure."""
        load = load_average()
        self.samples.append({"phase": phase, "time": round(time.time(), 1), "load": load})
        if overloaded(load[0], self.cpus) and not self._warned:
            self._warned.add(phase)
            self.say(
                f"warning: load average {load[0]:.1f} exceeds the {self.cpus} logical CPUs ({phase}); "
                "timings are inflated and the report is marked provisional"
            )
        return load[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every sample, the maximum 1-minute figure and whether it exceeded the CPU count."""
        peak = max((s["load"][0] for s in self.samples), default=0.0)
        return {"cpus": self.cpus, "max_load1": peak, "overloaded": peak > self.cpus, "samples": self.samples}


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100]); with few samples p95 sits near the maximum."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def round_order(variants: Sequence[str], round_index: int) -> list[str]:
    """The variants rotated by ``round_index``: each variant leads one round in turn."""
    if not variants:
        return []
    shift = round_index % len(variants)
    return list(variants[shift:]) + list(variants[:shift])


class _ProgressReader:
    """A read-only stream that reports how many bytes passed through, at most every few seconds."""

    def __init__(self, source: IO[bytes], total: int | None, label: str, say: Progress) -> None:
        self.source, self.total, self.label, self.say = source, total, label, say
        self.count, self._last = 0, time.monotonic()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.count += len(data)
        if time.monotonic() - self._last >= PROGRESS_EVERY_SECONDS:
            self._last = time.monotonic()
            of = f" of about {self.total / 1e6:,.0f} MB" if self.total else ""
            self.say(f"{self.label}: docker save: {self.count / 1e6:,.0f} MB read{of}")
        return data


def measure_with_progress(ref: str, *, compressed: bool, top: int, say: Progress, label: str) -> ImageMeasurement:
    """``measure.measure_image`` with progress while ``docker save`` streams. Raises ToolError."""

    def progress(stream: IO[bytes], size: int) -> IO[bytes]:
        return cast(IO[bytes], _ProgressReader(stream, size, label, say))  # it has the read() tarfile uses

    return measure_image(ref, compressed=compressed, top=top, wrap=progress)


def _build_argv(cfg: BenchConfig, variant: str, tag: str, index_url: str | None) -> list[str]:
    dockerfile = cfg.repo / "docker" / f"Dockerfile.{variant}"
    if not dockerfile.is_file():
        raise UsageError(f"{dockerfile}: no such Dockerfile (variants: {', '.join(VARIANTS)})")
    argv = [
        "build",
        "--no-cache",
        "--force-rm",
        "--pull=false",
        "--build-arg",
        f"BASE_IMAGE={cfg.base_image}",
        "-f",
        str(dockerfile),
        "-t",
        tag,
    ]
    if cfg.network_host:
        argv += ["--network", "host"]
    if index_url and variant == "torch-cpu":
        argv += ["--build-arg", f"TORCH_INDEX_URL={index_url}"]
    return [*argv, str(cfg.repo)]


def build_and_measure(
    cfg: BenchConfig, result: VariantResult, log_dir: Path, index_url: str | None, say: Progress
) -> None:
    """Phase 1 for one variant; failures land in ``result.error``."""
    variant = result.variant
    predict_variant(cfg, result, index_url, say)
    try:
        say(f"{variant}: docker build --no-cache")
        built = build_image(
            _build_argv(cfg, variant, result.image, index_url),
            log_dir / f"build-{variant}.log",
            label=variant,
            progress=say,
        )
        result.build_seconds = round(built.seconds, 1)
        result.builder_stages_removed = len(remove_images(built.builder_stages))
        say(
            f"{variant}: built in {built.seconds:.1f} s; removed {result.builder_stages_removed} builder "
            "stage(s); measuring the image"
        )
        m = measure_with_progress(result.image, compressed=cfg.measure_compressed, top=10, say=say, label=variant)
        result.size, result.compressed_size, result.accelerator_bytes = m.size, m.compressed_size, m.accelerator_bytes
        result.layers, result.python_packages = len(m.layers), list(m.python_packages)
    except ToolError as exc:
        result.error = str(exc).splitlines()[0]
        say(f"{variant}: failed: {result.error}")


def predict_variant(cfg: BenchConfig, result: VariantResult, index_url: str | None, say: Progress) -> None:
    """`depaudit image predict` of the variant's Dockerfile with the build's arguments, before it is built
    (its error goes to the log, never to the variant: the bench measures the build either way)."""
    args = {"BASE_IMAGE": cfg.base_image, **({"TORCH_INDEX_URL": index_url} if index_url else {})}
    options = PredictOptions(wheel_dirs=tuple(cfg.wheel_dirs), allow_hosts=("127.0.0.1",) if index_url else ())
    started = time.monotonic()
    try:
        prediction = predict_dockerfile(
            cfg.repo / result.dockerfile, context=cfg.repo, build_args=args, options=options
        )
    except DepauditError as exc:
        say(f"{result.variant}: prediction failed: {str(exc).splitlines()[0]}")
        return
    result.predict_seconds = round(time.monotonic() - started, 1)
    result.predicted_size, result.predicted_complete = prediction.size, prediction.complete
    say(f"{result.variant}: predicted {prediction.size} bytes in {result.predict_seconds} s")


def _start(cfg: BenchConfig, stack: ExitStack, result: VariantResult, say: Progress) -> str | None:
    """Phase 2 for one variant: its container, started alone; returns its URL (None on failure)."""
    name = f"depaudit-bench-{result.variant}"
    try:
        url, started = stack.enter_context(running_container(result.image, name))
        result.ready_seconds = round(wait_ready(url, started, cfg.ready_timeout, name), 2)
        say(f"{result.variant}: ready in {result.ready_seconds:.1f} s")
        return url
    except ToolError as exc:
        result.error = str(exc).splitlines()[0]
        say(f"{result.variant}: failed to start: {result.error}")
        return None


def _warm_up(
    cfg: BenchConfig,
    urls: dict[str, str],
    results: dict[str, VariantResult],
    inputs: dict[tuple[int, int], bytes],
    say: Progress,
) -> dict[str, dict[str, Answer]]:
    """Phase 3: one untimed request per variant and size; returns the answers."""
    answers: dict[str, dict[str, Answer]] = {}
    for size, png in inputs.items():
        label = f"{size[0]}x{size[1]}"
        for variant in list(urls):
            try:
                seconds, answer = post_gainmap(urls[variant], png, cfg.request_timeout)
            except ToolError as exc:
                results[variant].latency.append(
                    LatencyResult(label, 0, None, None, None, None, error=str(exc).splitlines()[0])
                )
                continue
            answers.setdefault(variant, {})[label] = answer
            results[variant].latency.append(LatencyResult(label, 0, None, None, None, round(seconds * 1000, 1)))
            say(f"{variant}: {label}: warm-up {seconds * 1000:,.0f} ms")
    return answers


def _rounds(
    cfg: BenchConfig,
    urls: dict[str, str],
    results: dict[str, VariantResult],
    inputs: dict[tuple[int, int], bytes],
    load: LoadLog,
    say: Progress,
) -> None:
    """Phase 4: interleaved timed requests."""
    spent: dict[tuple[str, str], float] = {}
    for r in range(cfg.requests):
        for size, png in inputs.items():
            label = f"{size[0]}x{size[1]}"
            for variant in round_order(list(urls), r):
                lat = next(x for x in results[variant].latency if x.size == label)
                if lat.error or (lat.samples_ms and spent.get((variant, label), 0.0) >= cfg.size_budget_seconds):
                    continue
                try:
                    seconds, _ = post_gainmap(urls[variant], png, cfg.request_timeout)
                except ToolError as exc:
                    lat.error = str(exc).splitlines()[0]
                    continue
                spent[(variant, label)] = spent.get((variant, label), 0.0) + seconds
                lat.samples_ms.append(round(seconds * 1000, 1))
                lat.load1.append(load_average()[0])
        load.sample(f"round {r + 1}")
        say(f"round {r + 1}/{cfg.requests} done")


def _summarise(results: dict[str, VariantResult]) -> None:
    for result in results.values():
        for lat in result.latency:
            lat.requests = len(lat.samples_ms)
            if lat.samples_ms:
                lat.p50_ms = round(percentile(lat.samples_ms, 50), 1)
                lat.p95_ms = round(percentile(lat.samples_ms, 95), 1)
                lat.mean_ms = round(statistics.fmean(lat.samples_ms), 1)


def _add_agreement(results: dict[str, VariantResult], answers: dict[str, dict[str, Answer]]) -> None:
    reference = next((v for v in REFERENCE_ORDER if v in answers), None)
    if reference is None:
        return
    for variant, by_size in answers.items():
        for size, answer in by_size.items():
            ref = answers[reference].get(size)
            if ref is not None:
                results[variant].agreement.append(agreement(size, reference, ref, answer))


def _preflight(cfg: BenchConfig) -> None:
    unknown = [v for v in cfg.variants if v not in VARIANTS]
    if unknown:
        raise UsageError(f"unknown variant(s): {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    engine.require_engine()
    if not engine.image_exists(cfg.base_image):
        raise ToolError(
            ["docker", "image", "inspect", cfg.base_image],
            "",
            what=f"base image {cfg.base_image} is not on this engine (no registry here: build "
            "it with docker/base/build-base.sh, or pass --base-image)",
        )


@dataclass
class _Run:
    results: dict[str, VariantResult]
    index_url: str | None = None


def _phases(cfg: BenchConfig, run: _Run, stack: ExitStack, tmp: Path, load: LoadLog, say: Progress) -> None:
    inputs = {size: sample_png(*size) for size in cfg.sizes}
    run.index_url = cfg.torch_index_url
    if run.index_url is None and "torch-cpu" in cfg.variants:
        run.index_url = stack.enter_context(serve_wheel_index(cfg.wheel_dirs))
        say(f"serving {', '.join(map(str, cfg.wheel_dirs))} as the CPU index at {run.index_url}")
    for result in run.results.values():
        build_and_measure(cfg, result, tmp, run.index_url, say)
        load.sample(f"built {result.variant}")
    urls = {}
    for result in run.results.values():
        if result.error is None and (url := _start(cfg, stack, result, say)) is not None:
            urls[result.variant] = url
    load.sample("containers ready")
    answers = _warm_up(cfg, urls, run.results, inputs, say)
    _rounds(cfg, urls, run.results, inputs, load, say)
    _summarise(run.results)
    _add_agreement(run.results, answers)


def run_bench(cfg: BenchConfig, say: Progress = lambda message: None) -> dict[str, Any]:
    """Run the bench (see the module docstring); returns the report dict (schema 1).

    Raises ToolError when no engine answers or the base image is missing, UsageError for an unknown variant.
    """
    _preflight(cfg)
    run = _Run({v: VariantResult(v, f"{TAG_PREFIX}:{v}", f"docker/Dockerfile.{v}") for v in cfg.variants})
    load = LoadLog(say)
    load.sample("start")
    started = time.time()
    try:
        with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="depaudit-bench-") as tmp:
            _phases(cfg, run, stack, Path(tmp), load, say)
    finally:
        if not cfg.keep:
            removed = remove_images([r.image for r in run.results.values()])
            say(f"removed {len(removed)} image(s) built by this run")
    load.sample("end")
    return report_dict(cfg, list(run.results.values()), started, time.time(), run.index_url, load)


def report_dict(
    cfg: BenchConfig, results: list[VariantResult], started: float, ended: float, index_url: str | None, load: LoadLog
) -> dict[str, Any]:
    """The JSON report (schema 1; ``depaudit gate --bench-report`` reads its latency rows)."""
    machine = machine_description()
    machine["load_average"] = {
        "start": load.samples[0]["load"] if load.samples else None,
        "end": load.samples[-1]["load"] if load.samples else None,
    }
    return {
        "schema": 1,
        "command": cfg.command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_seconds": round(ended - started, 1),
        "machine": machine,
        "load": load.to_dict(),
        "provisional": load.to_dict()["overloaded"],
        "base_image": cfg.base_image,
        "torch_index_url": index_url,
        "settings": {
            "rounds": cfg.requests,
            "size_budget_seconds": cfg.size_budget_seconds,
            "sizes": [f"{w}x{h}" for w, h in cfg.sizes],
            "interleaved": True,
        },
        "variants": [asdict(r) for r in results],
        "targets": targets(results),
    }
