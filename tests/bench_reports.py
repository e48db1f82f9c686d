"""A `depaudit bench` report in the schema `depaudit bench` writes, with values chosen for the gate
tests: ONNX Runtime within 1,500 ms at 256x256 (p95 420 ms) and over it at 512x512 (p95 1,700 ms), and a
tinygrad run that failed (no measurement)."""

from __future__ import annotations

import json
from pathlib import Path

REPORT = {
    "schema": 1,
    "variants": [
        {
            "variant": "onnxruntime",
            "latency": [
                {"size": "256x256", "p50_ms": 300.0, "p95_ms": 420.0},
                {"size": "512x512", "p50_ms": 1400.0, "p95_ms": 1700.0},
            ],
        },
        {"variant": "tinygrad", "latency": [{"size": "256x256", "p50_ms": None, "p95_ms": None, "error": "timed out"}]},
    ],
}


def write_bench_report(folder: Path) -> Path:
    """REPORT written to FOLDER/images.json."""
    path = folder / "images.json"
    path.write_text(json.dumps(REPORT))
    return path
