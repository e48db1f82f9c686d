"""How fast `depaudit scan` is, side by side with `uv tree --show-sizes` in one run, and how it scales.

1. Side by side on the largest fixture lock (docling, ~2 MB): `depaudit scan --offline --format json`
   for the four default targets vs `uv tree --frozen --show-sizes --python-platform
   x86_64-manylinux_2_28` (one target), interleaved, median of N runs each; ratio (target <= 1.0).
2. Start-up alone: the same two commands on a 30-package lock (torch-2.8).
3. Scaling on valid but pathological locks from benchmarks/lockshapes.py — flat, chain, forks,
   fan-out — at 1,000 … 20,000 packages: median wall time and peak memory (the child's max RSS) of
   `depaudit scan` (4 targets, JSON, offline). Targets: a 20,000-package chain within 10x the time of
   a flat 20,000-package lock, peak memory under 2 GB, and linear growth (the log-log slope of time
   above start-up, from 1,000 to 20,000 packages, near 1).

Every figure carries the machine (read from /proc) and the load average before and after its section;
timings on a loaded machine are provisional. Usage:

    python benchmarks/scan_speed.py [--runs 7] [--scale-runs 3] [--sizes 1000,2000,5000,10000,20000]
                                    [--report reports/scan_speed]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DOCLING = ROOT / "tests" / "fixtures" / "locks" / "docling"
SMALL = ROOT / "tests" / "fixtures" / "locks" / "torch-2.8"
SHAPES = ("flat", "chain", "forks", "fanout")

# Measure what users get: bytecode caches on. (PYTHONDONTWRITEBYTECODE in the caller's environment would
# make every run recompile depaudit from source.)
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "DEPAUDIT_FAST_PATH")}


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
LAST_CPU = [0.0]


def timed(cmd: list[str], rss: bool = False) -> tuple[float, int | None]:
    """(wall seconds, peak RSS in bytes or None) of one run; exits on an unexpected failure. The peak
    comes from GNU time's %M (the child's own maximum; a fork's RSS would include this script's).
    The CPU seconds (user + system of the command and its children) go to LAST_CPU."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        wrapped = [GNU_TIME, "-f", "%M", "-o", out.name, *cmd] if rss and GNU_TIME else cmd
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
        peak = int(out.read().split()[-1]) * 1024 if rss and GNU_TIME else None
    return elapsed, peak


def depaudit_cmd(lock: Path, cache: Path) -> list[str]:
    exe = shutil.which("depaudit", path=str(Path(sys.executable).parent)) or "depaudit"
    return [exe, "scan", str(lock), "--offline", "--format", "json", "--cache-dir", str(cache), "-o", os.devnull]


def uv_cmd(project: Path) -> list[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
    return [
        uv,
        "tree",
        "--frozen",
        "--show-sizes",
        "--python-platform",
        "x86_64-manylinux_2_28",
        "--project",
        str(project),
    ]


def side_by_side(project: Path, runs: int, cache: Path) -> dict:
    """Interleaved runs of depaudit and uv tree on one project; medians and their ratio."""
    before = loadavg()
    timed(depaudit_cmd(project / "uv.lock", cache))  # warm the page cache and bytecode for both
    timed(uv_cmd(project))
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    for _ in range(runs):
        ours.append(timed(depaudit_cmd(project / "uv.lock", cache))[0])
        ours_cpu.append(LAST_CPU[0])
        theirs.append(timed(uv_cmd(project))[0])
        theirs_cpu.append(LAST_CPU[0])
    a, b = statistics.median(ours), statistics.median(theirs)
    ca, cb = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    return {
        "lock": str(project.relative_to(ROOT) / "uv.lock"),
        "lock_bytes": (project / "uv.lock").stat().st_size,
        "runs": runs,
        "depaudit_median_s": a,
        "uv_tree_median_s": b,
        "ratio": a / b,
        "depaudit_cpu_median_s": ca,
        "uv_tree_cpu_median_s": cb,
        "cpu_ratio": ca / cb,
        "depaudit_all_s": ours,
        "uv_tree_all_s": theirs,
        "loadavg_before": before,
        "loadavg_after": loadavg(),
    }


def write_shape(shape: str, n: int, out: Path) -> Path:
    """Generate a lock in a child process, so this script's memory stays small."""
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lockshapes.py"), shape, str(n), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out / "uv.lock"


def scaling(sizes: list[int], runs: int, cache: Path, work: Path) -> dict:
    """Median time and peak RSS per shape and size; per shape the log-log slope of the time above
    start-up over the sizes (1.0 is linear growth)."""
    before = loadavg()
    rows = []
    for shape in SHAPES:
        for n in (10, *sizes):
            lock = write_shape(shape, n, work / f"{shape}-{n}")
            results = [timed(depaudit_cmd(lock, cache), rss=True) for _ in range(runs)]
            rows.append(
                {
                    "shape": shape,
                    "packages": n,
                    "lock_bytes": lock.stat().st_size,
                    "median_s": statistics.median(r[0] for r in results),
                    "peak_rss_bytes": max((r[1] or 0) for r in results) or None,
                }
            )
            shutil.rmtree(work / f"{shape}-{n}")
    # Start-up: the fastest 10-package run of any shape (a minimum, robust to a noisy neighbour).
    startup = min(r["median_s"] for r in rows if r["packages"] == 10)
    slopes = {}
    for shape in SHAPES:
        pts = [
            (math.log(r["packages"]), math.log(r["median_s"] - startup))
            for r in rows
            if r["shape"] == shape and r["packages"] > 10 and r["median_s"] > startup
        ]
        if len(pts) < 2:
            slopes[shape] = float("nan")  # one size: no growth to fit
            continue
        mean_x, mean_y = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
        slopes[shape] = sum((x - mean_x) * (y - mean_y) for x, y in pts) / sum(
            (x - mean_x) ** 2 for x, _ in pts
        )  # least-squares log-log slope
    biggest = max(sizes)
    at = {r["shape"]: r for r in rows if r["packages"] == biggest}
    return {
        "rows": rows,
        "slopes": slopes,
        "chain_over_flat": at["chain"]["median_s"] / at["flat"]["median_s"],
        "peak_rss_max_bytes": max((r["peak_rss_bytes"] or 0) for r in rows) or None,
        "largest": biggest,
        "startup_s": startup,
        "loadavg_before": before,
        "loadavg_after": loadavg(),
    }


def describe_machine() -> str:
    """CPU model and count, memory, OS and Python, read from this machine (never assumed)."""
    from reference_service.bench.machine import machine_description

    m = machine_description()
    return f"{m['cpu']}, {m['vcpus']} vCPUs, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}"


def sizes_label(scale: dict) -> str:
    sizes = sorted({r["packages"] for r in scale["rows"]} - {10})
    return f"{sizes[0]:,} to {sizes[-1]:,}"


def render(args: argparse.Namespace, machine: str, big: dict, small: dict, scale: dict) -> str:
    def ms(x: float) -> str:
        return f"{x * 1000:.0f} ms"

    lines = [
        "# depaudit scan speed",
        "",
        f"Command: `python benchmarks/scan_speed.py --runs {args.runs} --scale-runs {args.scale_runs} "
        f"--sizes {args.sizes}`  ",
        f"Machine: {machine}  ",
        "Load average (1/5/15 min) before → after each section is given with it; figures taken at a load "
        "above the CPU count are provisional.",
        "",
        f"## Side by side, median of {big['runs']} interleaved runs",
        "",
        "Wall time is what the target is about; CPU time (user + system, children included) is shown "
        "beside it because it moves far less with other work on the machine. uv runs several threads "
        "and depaudit one, so under load their wall times stretch differently.",
        "",
        "| lock | `depaudit scan --offline --format json` (4 targets) | `uv tree --frozen --show-sizes "
        "--python-platform x86_64-manylinux_2_28` (1 target) | wall ratio | CPU: depaudit / uv tree | "
        "load before → after |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, r in (("docling", big), ("start-up: torch-2.8, 30 packages", small)):
        lines.append(
            f"| {label} ({r['lock_bytes'] / 1e6:.2f} MB) | {ms(r['depaudit_median_s'])} | "
            f"{ms(r['uv_tree_median_s'])} | **{r['ratio']:.2f}** | {ms(r['depaudit_cpu_median_s'])} / "
            f"{ms(r['uv_tree_cpu_median_s'])} = {r['cpu_ratio']:.2f} | "
            f"{r['loadavg_before']} → {r['loadavg_after']} |"
        )
    lines += [
        "",
        f"## Scaling (benchmarks/lockshapes.py), median of {args.scale_runs} runs; load "
        f"{scale['loadavg_before']} → {scale['loadavg_after']}",
        "",
        "| shape | packages | lock | median | µs per package | peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def mb(x: int | None) -> str:
        return "n/a" if x is None else f"{x / 1e6:.0f} MB"

    for r in scale["rows"]:
        lines.append(
            f"| {r['shape']} | {r['packages']:,} | {r['lock_bytes'] / 1e6:.2f} MB | {ms(r['median_s'])} | "
            f"{r['median_s'] / r['packages'] * 1e6:.0f} | {mb(r['peak_rss_bytes'])} |"
        )
    lines += [
        "",
        f"- {scale['largest']:,}-package chain / flat: **{scale['chain_over_flat']:.2f}×** (target ≤ 10)",
        f"- peak memory over all runs: **{mb(scale['peak_rss_max_bytes'])}** (target < 2,000 MB; GNU time %M)",
        f"- growth: least-squares log-log slope of the time above start-up ({scale['startup_s'] * 1000:.0f} ms, "
        f"the fastest 10-package run) over {sizes_label(scale)} packages (1.0 = linear): "
        + ", ".join(f"{s} {v:.2f}" for s, v in scale["slopes"].items()),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale-runs", type=int, default=3)
    parser.add_argument("--sizes", default="1000,2000,5000,10000,20000")
    parser.add_argument("--report", default=None, help="write REPORT.md and REPORT.json")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "empty-cache"
        cache.mkdir()
        big = side_by_side(DOCLING, args.runs, cache)
        small = side_by_side(SMALL, args.runs, cache)
        scale = scaling(sizes, args.scale_runs, cache, work)
    machine = describe_machine()
    text = render(args, machine, big, small, scale)
    print(text)
    if args.report:
        Path(args.report + ".md").write_text(text)
        Path(args.report + ".json").write_text(
            json.dumps(
                {
                    "command": " ".join(sys.argv),
                    "machine": machine,
                    "side_by_side": big,
                    "startup": small,
                    "scaling": scale,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
