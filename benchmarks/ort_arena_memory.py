"""ONNX Runtime's memory after large runs, per session setting, in-process:

    python benchmarks/ort_arena_memory.py default 2048
    python benchmarks/ort_arena_memory.py shrink 2048          # what the service does
    python benchmarks/ort_arena_memory.py noarena 2048

Builds a session on the bundled model like the service does, runs it twice on a random SIZE x SIZE image
and prints VmRSS/VmHWM (MiB) after each run. ``default``: arena and memory patterns on, no run option;
``shrink``: the run option ``memory.enable_memory_arena_shrinkage = cpu:0``; ``noarena``: the CPU arena
off; a ``_trim`` suffix also calls glibc's ``malloc_trim(0)`` after each run.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference_service.backends import DEFAULT_ONNX, physical_cores


def rss() -> dict[str, int]:
    """VmRSS and VmHWM of this process in MiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1]) // 1024
    return out


def main(variant: str, size: int) -> None:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = physical_cores()
    opts.enable_cpu_mem_arena = not variant.startswith("noarena")
    session = ort.InferenceSession(str(DEFAULT_ONNX), sess_options=opts, providers=["CPUExecutionProvider"])
    run_options = ort.RunOptions()
    if variant.startswith("shrink"):
        run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    y = np.random.default_rng(1).random((1, 3, 256, 256), dtype=np.float32)
    print(variant, "start", rss(), flush=True)
    for i in range(2):
        start = time.time()
        session.run(None, {"image": x, "thumbnail": y}, run_options)
        seconds = time.time() - start
        if variant.endswith("_trim"):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        print(variant, f"run {i + 1} {seconds:.1f} s", rss(), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "variant",
        nargs="?",
        default="shrink",
        choices=[f"{v}{t}" for v in ("default", "shrink", "noarena") for t in ("", "_trim")],
    )
    parser.add_argument("size", nargs="?", type=int, default=2048)
    args = parser.parse_args()
    main(args.variant, args.size)
