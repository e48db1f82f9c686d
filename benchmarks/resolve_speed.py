"""How long `depaudit scan requirements.txt` takes for the four default targets, side by side with the
`uv pip compile` runs it is made of, in one interleaved run.

The input is a 40-line requirements file of a typical ML service (torch, torchvision, transformers,
fastapi, ...), resolved as of a fixed date (`--exclude-newer`, so every round resolves the same set).
Per round, in turn:

1. `uv`: `uv pip compile --format pylock.toml` once per target, one after another (the raw resolver
   cost; uv's own cache warm after the first round);
2. `depaudit cold`: `depaudit scan --format json` with an empty depaudit cache (four resolutions, run
   four at a time, and the wheel sizes from the pylocks; uv's cache warm);
3. `depaudit cached`: the same scan again with the cache the cold run filled (no uv run at all).

Medians of N rounds. The target: seconds, not minutes, for the cold scan. Every figure carries the
machine (from /proc) and the load average before and after; on a loaded machine the figures are
provisional. Needs PyPI. Usage:

    python benchmarks/resolve_speed.py [--runs 5] [--report reports/resolve_speed]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reference_service.bench.machine import load_average, machine_description

ROOT = Path(__file__).resolve().parent.parent
EXCLUDE_NEWER = "2026-11-01"
TARGETS = {
    "linux-x86_64": "x86_64-unknown-linux-gnu",
    "linux-aarch64": "aarch64-unknown-linux-gnu",
    "macos-arm64": "aarch64-apple-darwin",
    "windows-amd64": "x86_64-pc-windows-msvc",
}
REQUIREMENTS = """\
# a typical ML service: 40 requirement lines
torch==2.8.0
torchvision==0.23.0
numpy<2.3
scipy
pandas
scikit-learn
pillow
opencv-python-headless
transformers
tokenizers
safetensors
huggingface-hub
accelerate
onnx
onnxruntime
fastapi
uvicorn
starlette
pydantic
pydantic-settings
python-multipart
httpx
requests
aiohttp
orjson
pyyaml
jinja2
click
rich
tqdm
boto3
redis
sqlalchemy
psycopg2-binary
prometheus-client
structlog
sentry-sdk
gunicorn
tenacity
python-dotenv
"""


def find_uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        sys.exit("resolve_speed: uv not found (the dev group installs it)")
    return found


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"resolve_speed: {' '.join(cmd[:4])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def uv_round(uv: str, requirements: Path, env: dict[str, str]) -> float:
    total = 0.0
    for platform in TARGETS.values():
        extra = {"MACOSX_DEPLOYMENT_TARGET": "14.0"} if platform.endswith("darwin") else {}
        cmd = [uv, "pip", "compile", str(requirements), "--format", "pylock.toml", "--quiet", "--no-build"]
        cmd += ["--python-platform", platform, "--python-version", "3.11", "--exclude-newer", EXCLUDE_NEWER]
        cmd += ["--python", sys.executable, "--no-python-downloads", "--index-strategy", "unsafe-best-match"]
        total += timed(cmd, {**env, **extra}, requirements.parent)
    return total


def depaudit_round(requirements: Path, cache: Path, env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "depaudit", "scan", str(requirements), "--format", "json", "-q"]
    cmd += ["--exclude-newer", EXCLUDE_NEWER]
    return timed(cmd, {**env, "DEPAUDIT_CACHE_DIR": str(cache)}, requirements.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "resolve_speed", help="report path prefix")
    args = parser.parse_args()
    uv = find_uv()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPAUDIT_")}
    env["PYTHONPATH"] = str(ROOT)
    times: dict[str, list[float]] = {"uv (4 targets, sequential)": [], "depaudit cold": [], "depaudit cached": []}
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="resolve-speed-") as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text(REQUIREMENTS)
        uv_round(uv, requirements, env)  # warm uv's own cache once: every later round measures the same
        for number in range(args.runs):
            cache = Path(folder) / f"cache-{number}"
            times["uv (4 targets, sequential)"].append(uv_round(uv, requirements, env))
            times["depaudit cold"].append(depaudit_round(requirements, cache, env))
            times["depaudit cached"].append(depaudit_round(requirements, cache, env))
    load_after = load_average()
    result = {
        "machine": {
            "cpu": machine_description(docker=False)["cpu"],
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_after,
        },
        "requirements_lines": sum(1 for line in REQUIREMENTS.splitlines() if line and not line.startswith("#")),
        "targets": list(TARGETS),
        "exclude_newer": EXCLUDE_NEWER,
        "runs": args.runs,
        "median_seconds": {name: round(statistics.median(values), 2) for name, values in times.items()},
        "all_seconds": {name: [round(v, 2) for v in values] for name, values in times.items()},
        "provisional": max(load_before[0], load_after[0]) > (os.cpu_count() or 1),
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# Resolution speed: `depaudit scan requirements.txt`, four targets",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cpus']} CPUs; load {load_before} before, "
        f"{load_after} after{' (provisional: loaded machine)' if result['provisional'] else ''}.",
        f"Input: {result['requirements_lines']} requirement lines, `--exclude-newer {EXCLUDE_NEWER}`; "
        f"{args.runs} interleaved rounds, uv's cache warm. Made by `python benchmarks/resolve_speed.py`.",
        "",
        "| what | median s | all runs |",
        "| --- | ---: | --- |",
        *(f"| {n} | {result['median_seconds'][n]} | {result['all_seconds'][n]} |" for n in times),
        "",
    ]
    args.report.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
