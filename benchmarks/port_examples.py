"""`depaudit port` on GMNet, monai's ResNet-18 and a model with a value branch, as a user runs it:
``python benchmarks/port_examples.py``.

Runs the three commands the README shows (the third must fail, naming its branch's line) (each a fresh `depaudit port` process, so torch's import is in
the time), one after the other, with the load average before and after each and the CPU model, then
writes ``reports/port.md`` (each run's markdown report, its wall time and the files written) and
``reports/port.json``. The hand-over folders go to ``build/port/<name>`` (not committed).
Timings from a shared machine are provisional: the load average says how shared it was.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from depaudit.fileio import atomic_write_text  # noqa: E402

OUT = REPO / "build" / "port"
RUNS = {
    "gmnet": [
        "reference_service.export:GMNetPredict",
        "--input",
        "image=1x3x128x160",
        "--input",
        "thumbnail=1x3x256x256",
        "--dynamic",
        "image:2=height",
        "--dynamic",
        "image:3=width",
        "--output-name",
        "gain_map",
        "--output-name",
        "qmax",
        "--min-psnr",
        "120",
    ],
    "resnet18": ["examples/port/real_models.py:resnet18", "--input", "image=1x3x224x224", "--output-name", "logits"],
    # must fail: a Python `if` on the image's mean (DA401), named with its line
    "exposure": ["examples/port/exposure.py:AutoExposure", "--input", "image=1x3x64x64"],
}
EXPECTED = {"gmnet": True, "resnet18": True, "exposure": False}


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def run_one(name: str, args: list[str]) -> dict:
    """One `depaudit port` process: its command, exit code, wall seconds, load averages, markdown report."""
    command = [sys.executable, "-m", "depaudit", "port", *args, "--out", f"build/port/{name}", "--format", "markdown"]
    before = _loadavg()
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, timeout=1800, env={**os.environ, "NO_COLOR": "1"}
    )
    seconds = time.perf_counter() - start
    port_json = json.loads((OUT / name / "port.json").read_text())
    shown = "depaudit port " + " ".join(shlex.quote(a) for a in args) + f" --out build/port/{name}"
    return {
        "name": name,
        "command": shown,
        "exit_code": result.returncode,
        "wall_seconds": round(seconds, 1),
        "loadavg_before": before,
        "loadavg_after": _loadavg(),
        "markdown": result.stdout,
        "port_seconds": port_json["seconds"],
        "files": port_json["files"],
        "onnx_bytes": port_json["onnx_bytes"],
        "passed": port_json["passed"],
    }


def render(runs: list[dict], machine: dict) -> str:
    lines = [
        "# depaudit port: GMNet, ResNet-18, and a model with a value branch",
        "",
        "Command: `python benchmarks/port_examples.py`  ",
        f"Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs (load average shown per run: "
        "figures from a shared machine are provisional)",
        "",
    ]
    for run in runs:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in run["port_seconds"].items() if k != "total")
        lines += [
            f"## {run['name']}",
            "",
            "```",
            run["command"],
            "```",
            "",
            f"Exit code {run['exit_code']}; wall time {run['wall_seconds']} s including the torch import "
            f"(load average {run['loadavg_before']} before, {run['loadavg_after']} after); inside port: {steps}.",
            "",
            run["markdown"].replace("## depaudit port", "### report:"),
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    """Run the examples and write the reports; exit 1 when one did not end as expected."""
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    machine = {"cpu": _cpu(), "logical_cpus": os.cpu_count()}
    runs = [run_one(name, args) for name, args in RUNS.items()]
    reports = REPO / "reports"
    atomic_write_text(
        reports / "port.json", json.dumps({"schema": 1, "machine": machine, "runs": runs}, indent=2) + "\n"
    )
    atomic_write_text(reports / "port.md", render(runs, machine))
    for run in runs:
        print(
            f"{run['name']:9s} exit {run['exit_code']} {run['wall_seconds']:6.1f} s  load {run['loadavg_before']} -> {run['loadavg_after']}"
        )
    return 0 if all(r["passed"] is EXPECTED[r["name"]] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
