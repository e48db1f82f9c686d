"""How fast `depaudit scan` is, measured side by side with `uv tree --show-sizes` in one run.

1. The largest fixture lock (docling, ~2 MB): `depaudit scan --offline --format json` for all four
   targets vs `uv tree --frozen --show-sizes --python-platform x86_64-manylinux_2_28`, interleaved,
   median of N runs each, ratio printed (target: <= 1.0).
2. Scaling: generated locks of 100, 1,000 and 10,000 packages (benchmarks/genlock.py); time per
   package should stay flat if time grows linearly.

Usage: python benchmarks/scan_speed.py [--runs 7] [--report reports/scan_speed]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCLING = ROOT / "tests" / "fixtures" / "locks" / "docling"


# Measure what users get: bytecode caches on. (PYTHONDONTWRITEBYTECODE in the caller's environment would
# make every run recompile depaudit from source, ~70 ms.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return elapsed


def depaudit_cmd(lock: Path, cache: Path) -> list[str]:
    exe = shutil.which("depaudit", path=str(Path(sys.executable).parent)) or "depaudit"
    return [exe, "scan", str(lock), "--offline", "--format", "json", "--cache-dir", str(cache), "-o", "/dev/null"]


def uv_cmd(project: Path) -> list[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
    return [uv, "tree", "--frozen", "--show-sizes", "--python-platform", "x86_64-manylinux_2_28", "--project", str(project)]


def side_by_side(runs: int, cache: Path) -> dict:
    ours, theirs = [], []
    timed(depaudit_cmd(DOCLING / "uv.lock", cache))  # warm the page cache for both
    timed(uv_cmd(DOCLING))
    for _ in range(runs):
        ours.append(timed(depaudit_cmd(DOCLING / "uv.lock", cache)))
        theirs.append(timed(uv_cmd(DOCLING)))
    a, b = statistics.median(ours), statistics.median(theirs)
    return {"lock_bytes": (DOCLING / "uv.lock").stat().st_size, "runs": runs,
            "depaudit_median_s": a, "uv_tree_median_s": b, "ratio": a / b,
            "depaudit_all_s": ours, "uv_tree_all_s": theirs}


def scaling(runs: int, cache: Path, work: Path) -> list[dict]:
    rows = []
    for n in (100, 1000, 10000):
        out = work / f"gen{n}"
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "genlock.py"), str(n), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        times = [timed(depaudit_cmd(out / "uv.lock", cache)) for _ in range(runs)]
        median = statistics.median(times)
        rows.append({"packages": n, "lock_bytes": (out / "uv.lock").stat().st_size, "median_s": median,
                     "us_per_package": median / n * 1e6})
    return rows


def describe_machine() -> str:
    """CPU model and count, memory, OS and Python, read from this machine (never assumed)."""
    from depaudit.images.host import machine_description

    m = machine_description()
    return f"{m['cpu']}, {m['vcpus']} vCPUs, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--report", default=None, help="write REPORT.md and REPORT.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "empty-cache"
        cache.mkdir()
        side = side_by_side(args.runs, cache)
        scale = scaling(max(3, args.runs // 2), cache, work)
    machine = describe_machine()
    lines = [
        "# depaudit scan speed", "",
        f"Command: `python benchmarks/scan_speed.py --runs {args.runs}`  ",
        f"Machine: {machine}", "",
        f"## docling lock ({side['lock_bytes'] / 1e6:.1f} MB), median of {side['runs']} interleaved runs", "",
        "| command | median |", "|---|---:|",
        f"| `depaudit scan --offline --format json` (4 targets) | {side['depaudit_median_s'] * 1000:.0f} ms |",
        f"| `uv tree --frozen --show-sizes --python-platform x86_64-manylinux_2_28` (1 target) | {side['uv_tree_median_s'] * 1000:.0f} ms |",
        f"| **ratio depaudit / uv tree** | **{side['ratio']:.2f}** |", "",
        "## scaling (generated locks, benchmarks/genlock.py)", "",
        "| packages | lock | median | µs per package |", "|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['packages']:,} | {r['lock_bytes'] / 1e6:.1f} MB | {r['median_s'] * 1000:.0f} ms | {r['us_per_package']:.0f} |" for r in scale]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        Path(args.report + ".md").write_text(text)
        Path(args.report + ".json").write_text(json.dumps({"machine": machine, "side_by_side": side, "scaling": scale}, indent=2) + "\n")


if __name__ == "__main__":
    main()
