"""Where tinygrad's time goes in GMNet: per-kernel times at one input size.

    python benchmarks/tinygrad_profile.py --size 512x512        # writes reports/tinygrad_profile.{md,json}

Runs the tinygrad model once to compile (not timed), then once more with tinygrad's ``DEBUG=2`` kernel log,
which times every kernel as it runs (synchronised, so the total is a little above a JIT replay). Kernels are
grouped by name (the name encodes the loop shape: ``r_`` reduces, the numbers are the loop extents), with
count, total time, share of the run and GFLOP/s as tinygrad reports them, next to the run's load average.
Set ``GMNET_TINYGRAD_BEAM`` (a table path, or ``off``) and ``BEAM``/``WINO`` in the environment to profile
those configurations.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from reference_service.verify import machine, write_atomic  # noqa: E402

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r"\*\*\* \S+\s+\d+\s+(\S+).*?\btm\s+([\d.]+)(us|ms|s)/.*?\(\s*([\d.]+) GFLOPS")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse(log: str) -> list[tuple[str, float, float]]:
    """(kernel name, milliseconds, GFLOP/s) for every kernel line of a tinygrad DEBUG=2 log."""
    out = []
    for line in _ANSI.sub("", log).splitlines():
        match = _LINE.search(line)
        if match:
            out.append((match.group(1), float(match.group(2)) * _UNIT[match.group(3)], float(match.group(4))))
    return out


def profile(width: int, height: int) -> tuple[list[tuple[str, float, float]], float, int]:
    """Kernel lines, wall seconds and the BEAM table's kernel count of one profiled tinygrad run at
    ``width`` x ``height``."""
    from tinygrad import Context, Tensor

    from reference_service.backends import TinygradBackend, to_nchw
    from reference_service.preprocess import to_thumbnail
    from reference_service.scenes import make_pair

    backend = TinygradBackend()
    image = make_pair(width * height, height, width, "outdoor").sdr
    x, y = to_nchw(image), to_nchw(to_thumbnail(image))

    def run() -> None:
        gain, _ = backend.model.predict(Tensor(x).realize(), Tensor(y).realize())
        gain.numpy()

    run()
    log = io.StringIO()
    with contextlib.redirect_stdout(log), Context(DEBUG=2):
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    return parse(log.getvalue()), seconds, backend.beam_kernels


def summarise(kernels: list[tuple[str, float, float]]) -> list[dict]:
    """Group by kernel name, largest total first."""
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for name, ms, gflops in kernels:
        groups[name].append((ms, gflops))
    total = sum(ms for _, ms, _ in kernels) or 1.0
    rows = [
        {
            "kernel": name,
            "count": len(v),
            "total_ms": sum(ms for ms, _ in v),
            "share": sum(ms for ms, _ in v) / total,
            "gflops": float(np.median([g for _, g in v])),
        }
        for name, v in groups.items()
    ]
    return sorted(rows, key=lambda r: -r["total_ms"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x512")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--output-dir", type=Path, default=REPO / "reports")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    load_before = os.getloadavg()
    kernels, seconds, beam_kernels = profile(width, height)
    rows = summarise(kernels)
    env = " ".join(f"{k}={os.environ[k]}" for k in ("BEAM", "WINO", "GMNET_TINYGRAD_BEAM") if k in os.environ)
    report = {
        "schema": 1,
        "command": (env + " python benchmarks/tinygrad_profile.py " + " ".join(argv or sys.argv[1:])).strip(),
        "machine": machine(),
        "size": args.size,
        "wall_seconds": seconds,
        "beam_kernels": beam_kernels,
        "kernels": len(kernels),
        "kernel_ms": sum(ms for _, ms, _ in kernels),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "groups": rows,
    }
    busy = max(load_before[0], report["loadavg_after"][0]) > (report["machine"]["logical_cpus"] or 1)
    lines = [
        "# Where tinygrad's time goes (GMNet, one profiled run)",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['cpu']}, {report['machine']['logical_cpus']} logical CPUs; load average "
        f"{load_before[0]:.1f} before, {report['loadavg_after'][0]:.1f} after"
        f"{' (shared machine: provisional)' if busy else ''}.  ",
        f"Input {args.size}: {len(kernels)} kernels, {report['kernel_ms']:,.0f} ms of kernel time, {seconds:.1f} s wall "
        "(DEBUG=2 synchronises after every kernel). "
        + (
            f"BEAM table applied ({beam_kernels} kernel schedules searched offline; the rest use tinygrad's "
            "heuristics)."
            if beam_kernels
            else "No BEAM table: tinygrad's heuristic schedules."
        ),
        "",
        "| kernel | runs | total ms | share | GFLOP/s (median) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| `{r['kernel']}` | {r['count']} | {r['total_ms']:,.1f} | {100 * r['share']:.1f} % | {r['gflops']:.0f} |"
        for r in rows[: args.top]
    ]
    write_atomic(args.output_dir / "tinygrad_profile.json", json.dumps(report, indent=2) + "\n")
    write_atomic(args.output_dir / "tinygrad_profile.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
