"""Predicted vs built: `depaudit image predict` against real `docker build`s, and `depaudit image scan` on
what was built.

For each Dockerfile (the four reference images in docker/ and the real-world-style fixtures in
tests/fixtures/images/), on the stand-in base image:

1. `depaudit image predict` (the CLI, JSON), cold (an empty depaudit cache: every wheel listing and
   Debian package fetched) and warm (the same cache again): predicted size, accelerator bytes, seconds;
2. `docker build --no-cache` with the legacy builder (timed), the built size from `docker image inspect`;
3. `depaudit image scan` of the built image (streamed from `docker save`): accelerator bytes by package and
   file, wasted bytes, per-package bytes;
4. the images (and builder stages) removed.

The error is (predicted - built) / built. torch-cpu installs torch from a PEP 503 index served on
127.0.0.1 from /opt/wheels (download.pytorch.org is unreachable here), given to both the build and the
prediction as TORCH_INDEX_URL. The 1-minute load is recorded before every case; timings from a loaded
machine are provisional. Writes reports/image_predict.md and .json.

    python benchmarks/image_predict.py --base-image depaudit/python:3.11-slim
    python benchmarks/image_predict.py --only onnxruntime --only uv-sync --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "images"


@dataclass(frozen=True)
class Case:
    name: str
    dockerfile: Path
    context: Path
    pattern: str
    local_index: bool = False


CASES = (
    Case("torch-cuda", REPO / "docker/Dockerfile.torch-cuda", REPO, "reference: torch from PyPI (CUDA build)"),
    Case("torch-cpu", REPO / "docker/Dockerfile.torch-cpu", REPO, "reference: torch from the CPU index", True),
    Case("onnxruntime", REPO / "docker/Dockerfile.onnxruntime", REPO, "reference: ONNX Runtime, trimmed venv"),
    Case("tinygrad", REPO / "docker/Dockerfile.tinygrad", REPO, "reference: tinygrad + clang from apt"),
    Case(
        "multistage-venv",
        FIXTURES / "multistage-venv/Dockerfile",
        FIXTURES / "multistage-venv",
        "builder venv copied into a slim runtime",
    ),
    Case(
        "apt-pip-cache",
        FIXTURES / "apt-pip-cache/Dockerfile",
        FIXTURES / "apt-pip-cache",
        "apt-get + pip, caches left, chown -R",
    ),
    Case(
        "uv-sync",
        FIXTURES / "uv-sync/Dockerfile",
        FIXTURES / "uv-sync",
        "uv sync from uv.lock (uv's Docker guide, no BuildKit)",
    ),
)


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def run(
    argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 3600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def depaudit(args: list[str], cache: Path) -> tuple[dict[str, Any], float, int]:
    """Run the depaudit CLI; returns its JSON, wall seconds and peak RSS in bytes (of that process)."""
    env = dict(os.environ, DEPAUDIT_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "depaudit", *args, "--format", "json", "--quiet"], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode not in (0, 1):
        raise RuntimeError(f"depaudit {' '.join(args[:2])} failed ({child.returncode}): {stderr[-2000:]}")
    return json.loads(stdout), seconds, usage.ru_maxrss * 1024


def stage_ids(log: str) -> list[str]:
    sys.path.insert(0, str(REPO))
    from reference_service.bench.build import stage_images

    return stage_images(log)


@dataclass
class Result:
    case: str
    pattern: str
    dockerfile: str
    load1_before: float
    predicted: int | None = None
    predicted_complete: bool | None = None
    predicted_accelerator: int | None = None
    predict_cold_s: float | None = None
    predict_warm_s: float | None = None
    built: int | None = None
    build_s: float | None = None
    scanned_accelerator: int | None = None
    scanned_wasted: int | None = None
    scan_s: float | None = None
    scan_rss: int | None = None  # peak resident memory of `image scan`, bytes
    accelerator_packages: list[tuple[str, int]] = field(default_factory=list)
    accelerator_files: list[tuple[str, int, str | None]] = field(default_factory=list)
    not_followed: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def error_pct(self) -> float | None:
        if self.predicted is None or not self.built:
            return None
        return round((self.predicted - self.built) / self.built * 100, 3)


def measure(case: Case, base: str, index_url: str | None, tmp: Path, keep: bool) -> Result:
    result = Result(case.name, case.pattern, str(case.dockerfile.relative_to(REPO)), load1())
    build_args = [f"BASE_IMAGE={base}"] + ([f"TORCH_INDEX_URL={index_url}"] if case.local_index and index_url else [])
    predict_args = ["image", "predict", str(case.dockerfile), "--context", str(case.context)]
    predict_args += [x for arg in build_args for x in ("--build-arg", arg)]
    if case.local_index:
        predict_args += ["--wheel-dir", "/opt/wheels", "--allow-host", "127.0.0.1"]
    cache = tmp / f"cache-{case.name}"
    prediction, result.predict_cold_s, _ = depaudit(predict_args, cache)
    _, result.predict_warm_s, _ = depaudit(predict_args, cache)
    result.predicted, result.predicted_complete = prediction["size"], prediction["complete"]
    result.predicted_accelerator, result.not_followed = prediction["accelerator_bytes"], prediction["not_followed"]
    tag = f"depaudit-bench/predict-{case.name}:{os.getpid()}"
    argv = ["docker", "build", "--no-cache", "--force-rm", "--network", "host", "-f", str(case.dockerfile), "-t", tag]
    argv += [x for arg in build_args for x in ("--build-arg", arg)] + [str(case.context)]
    started = time.monotonic()
    built = run(argv, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    result.build_s = round(time.monotonic() - started, 1)
    made = stage_ids(built.stdout)
    try:
        if built.returncode != 0:
            result.error = "docker build failed: " + (built.stdout + built.stderr)[-600:]
            return result
        result.built = int(run(["docker", "image", "inspect", "--format", "{{.Size}}", tag]).stdout)
        scan, result.scan_s, result.scan_rss = depaudit(["image", "scan", tag, "--top", "10"], cache)
        result.scanned_accelerator, result.scanned_wasted = scan["accelerator"]["bytes"], scan["wasted_bytes"]
        result.accelerator_packages = [(p["name"], p["accelerator_bytes"]) for p in scan["accelerator"]["packages"]][:8]
        result.accelerator_files = [(f["path"], f["size"], f["package"]) for f in scan["accelerator"]["files"]][:5]
    finally:
        if not keep:
            run(["docker", "rmi", *made[:-1], tag])
    return result


def render(report: dict[str, Any]) -> str:
    mb = lambda n: "—" if n is None else f"{n / 1e6:,.1f} MB"  # noqa: E731
    sec = lambda s: "—" if s is None else f"{s:.1f} s"  # noqa: E731
    lines = [
        "# `image predict` against real builds",
        "",
        f"Machine: {report['machine']}. Command: `{report['command']}`. Base image: `{report['base_image']}`.",
        f"Run: {report['started']} UTC, {report['minutes']:.1f} min; 1-minute load at each case's start: "
        + ", ".join(f"{r['case']} {r['load1_before']}" for r in report["results"])
        + (" — **provisional** (load above the CPU count)" if report["provisional"] else "")
        + ".",
        "",
        "The error is (predicted − built) / built, the built size what `docker image inspect` reports. "
        "Target: within 5 % on every image (aim: 2 %).",
        "",
        "| image | pattern | predicted | built | error | accelerator predicted | accelerator scanned | wasted (scan) | predict cold / warm | build | scan (peak RSS) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["results"]:
        err = "—" if r["error_pct"] is None else f"{r['error_pct']:+.2f} %"
        lines.append(
            f"| {r['case']} | {r['pattern']} | {mb(r['predicted'])}{'' if r['predicted_complete'] in (True, None) else ' (lower bound)'} "
            f"| {mb(r['built'])} | {err} | {mb(r['predicted_accelerator'])} | {mb(r['scanned_accelerator'])} "
            f"| {mb(r['scanned_wasted'])} | {sec(r['predict_cold_s'])} / {sec(r['predict_warm_s'])} | {sec(r['build_s'])} | {sec(r['scan_s'])} ({mb(r.get('scan_rss'))}) |"
        )
    for r in report["results"]:
        if r["accelerator_packages"]:
            named = ", ".join(f"`{name}` {size / 1e6:,.1f} MB" for name, size in r["accelerator_packages"])
            lines += ["", f"Accelerator runtime bytes `image scan` finds in `{r['case']}`, by package: {named}."]
        if r["accelerator_files"]:
            lines += [
                "",
                f"Accelerator runtimes `image scan` names in `{r['case']}` (largest files, with the package that installed each):",
                "",
            ]
            lines += [
                f"- `{path}` {size / 1e6:,.1f} MB ({pkg or 'no Python package'})"
                for path, size, pkg in r["accelerator_files"]
            ]
        if r["not_followed"]:
            lines += ["", f"Not followed in `{r['case']}`: " + "; ".join(r["not_followed"])]
        if r["error"]:
            lines += ["", f"`{r['case']}` failed: {r['error']}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-image", default="depaudit/python:3.11-slim")
    parser.add_argument("--only", action="append", choices=[c.name for c in CASES], help="run only these cases")
    parser.add_argument("--output-dir", type=Path, default=REPO / "reports")
    parser.add_argument("--no-write", action="store_true", help="print the markdown, write no report")
    parser.add_argument("--keep", action="store_true", help="keep the built images")
    parser.add_argument("--render", type=Path, metavar="JSON", help="only write the markdown of an earlier JSON report")
    args = parser.parse_args()
    if args.render:
        report = json.loads(args.render.read_text())
        (args.output_dir / "image_predict.md").write_text(render(report))
        return 0
    sys.path.insert(0, str(REPO))
    from reference_service.bench.machine import machine_description
    from reference_service.bench.wheel_index import serve_wheel_index

    cases = [c for c in CASES if not args.only or c.name in args.only]
    started, clock = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.monotonic()
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="depaudit-predict-bench-") as tmp,
        serve_wheel_index([Path("/opt/wheels")]) as url,
    ):
        for case in cases:
            print(f"image_predict: {case.name} (load {load1()})", file=sys.stderr)
            result = measure(case, args.base_image, url, Path(tmp), args.keep)
            print(
                f"image_predict: {case.name}: predicted {result.predicted}, built {result.built}, error {result.error_pct} %",
                file=sys.stderr,
            )
            results.append(result)
    machine = machine_description()
    cpus = machine.get("vcpus") or 1
    report = {
        "schema": 1,
        "command": "python benchmarks/image_predict.py " + " ".join(sys.argv[1:]),
        "machine": f"{machine['vcpus']} vCPU {machine['cpu']}, {machine['memory_gib']} GiB, {machine['os']}, Docker {machine['docker_engine']}",
        "base_image": args.base_image,
        "started": started,
        "minutes": (time.monotonic() - clock) / 60,
        "provisional": any(r.load1_before > cpus for r in results),
        "results": [{**r.__dict__, "error_pct": r.error_pct} for r in results],
    }
    text = render(report)
    if args.no_write:
        print(text)
    else:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        (args.output_dir / "image_predict.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.output_dir / "image_predict.md").write_text(text)
        print(f"image_predict: wrote {args.output_dir / 'image_predict.md'}", file=sys.stderr)
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
