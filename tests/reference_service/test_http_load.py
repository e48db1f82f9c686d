"""A bounded run of benchmarks/http_load.py: hostile traffic mixed with real ONNX Runtime work.

The full run (>= 200 requests, >= 50 hostile, plus latency) is the benchmark's job; here a
smaller one checks the same guarantees so a regression fails CI: every hostile request answered
4xx, no 5xx or dropped connection, no accepted job lost, /healthz 200 afterwards, exit 0 on SIGTERM.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bounded_load_run_keeps_every_guarantee(tmp_path: Path):
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "http_load.py"),
            "--requests",
            "45",
            "--hostile",
            "20",
            "--concurrency",
            "6",
            "--max-body",
            "300000",
            "--no-latency",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), proc.stderr
    report = json.loads(out.read_text())
    r = report["robustness"]
    assert proc.returncode == 0, (r["failures"], proc.stderr[-2000:])
    hostile_kinds = {"empty", "truncated_png", "non_image", "bomb_30000x30000", "oversized_body"}
    assert hostile_kinds <= set(r["by_kind"])  # every hostile kind was actually sent
    for kind in hostile_kinds:
        assert all(400 <= int(status) < 500 for status in r["by_kind"][kind]), r["by_kind"][kind]
    assert sum(sum(r["by_kind"][k].values()) for k in hostile_kinds) == 20
    assert r["hostile_not_4xx"] == r["server_errors"] == r["transport_errors"] == 0
    assert r["accepted_jobs"] > 0 and r["jobs_completed"] == r["accepted_jobs"]
    assert r["jobs_lost"] == 0 and r["accepted_sync"] > 0
    assert r["healthz_after"] == 200 and report["shutdown_exit_code"] == 0
    assert r["metrics_jobs_completed"] >= r["accepted_sync"] + r["accepted_jobs"]
