"""Search tinygrad kernel schedules (BEAM) for GMNet offline, resumably, and ship the result with the service.

    nice -n 10 python benchmarks/tinygrad_beam.py                       # 256x256, 512x512, 1024x768, BEAM=2
    nice -n 10 python benchmarks/tinygrad_beam.py --size 512x512 --minutes 30
    python benchmarks/tinygrad_beam.py --export-only                    # cache -> assets/tinygrad_beam.json

Each size runs once through the tinygrad model in a child process with ``BEAM=<n>`` and ``CACHEDB`` set to
``training/.state/tinygrad_beam.db`` (not the user's cache). tinygrad stores each kernel's result in that
database as soon as its search ends, so a run stopped by ``--minutes`` (or anything else) resumes where it
stopped: rerun the same command. ``PARALLEL`` (tinygrad's compile workers during the search) defaults to 1
here so the search takes one core; ``--parallel 2`` uses both. When every size finished, the results (the
chosen optimisation steps per kernel; no compiled code) are exported to
``reference_service/assets/tinygrad_beam.json``, which the tinygrad backend applies at start-up
(``reference_service.tinygrad_beam``). Kernels of other input sizes use tinygrad's heuristics; nothing is
ever searched at request time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reference_service.tinygrad_beam import export  # noqa: E402

CACHEDB = REPO / "training" / ".state" / "tinygrad_beam.db"
OUTPUT = REPO / "reference_service" / "assets" / "tinygrad_beam.json"
SIZES = ("256x256", "512x512", "1024x768")
CHILD = """
import sys, time
import numpy as np
from reference_service.backends import TinygradBackend
from reference_service.preprocess import to_thumbnail
w, h = (int(v) for v in sys.argv[1].split("x"))
image = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
backend = TinygradBackend(beam_table=None)
start = time.perf_counter()
backend.predict(image, to_thumbnail(image))
print(f"searched and ran {w}x{h} in {time.perf_counter() - start:.0f} s", flush=True)
"""


def search(size: str, beam: int, parallel: int, deadline: float) -> bool:
    """Run one size with BEAM in a child; True when it finished before ``deadline`` (monotonic)."""
    env = dict(os.environ, BEAM=str(beam), CACHEDB=str(CACHEDB), PARALLEL=str(parallel), PYTHONPATH=str(REPO),
               GMNET_TINYGRAD_BEAM="off")
    CACHEDB.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, size], env=env, timeout=max(1.0, deadline - time.monotonic()),
                              check=False)
    except subprocess.TimeoutExpired:
        print(f"{size}: stopped by the time limit; finished kernels are kept in {CACHEDB} (rerun to resume)",
              file=sys.stderr)
        return False
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", help="WxH (repeatable; default 256x256 512x512 1024x768)")
    parser.add_argument("--beam", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=1, help="tinygrad compile workers during the search")
    parser.add_argument("--minutes", type=float, default=120.0, help="stop (resumably) after this long")
    parser.add_argument("--export-only", action="store_true")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.minutes * 60
    finished = True
    if not args.export_only:
        for size in args.size or SIZES:
            print(f"{size}: BEAM={args.beam} search (load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
            if not search(size, args.beam, args.parallel, deadline):
                finished = False
                break
    if not CACHEDB.is_file():
        print(f"{CACHEDB}: no search results yet", file=sys.stderr)
        return 1
    count = export(CACHEDB, OUTPUT, args.beam)
    print(f"exported {count} kernel schedules to {OUTPUT}" + ("" if finished else " (search incomplete)"), file=sys.stderr)
    return 0 if finished else 2


if __name__ == "__main__":
    raise SystemExit(main())
