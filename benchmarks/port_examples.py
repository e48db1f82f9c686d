"""`depaudit port` on the models teams have, as a user runs it: ``python benchmarks/port_examples.py``.

Runs, each as a fresh `depaudit port` process (torch's import is in the time):

* the three examples docs/port.md shows first: GMNet (dynamic H and W), monai's ResNet-18, and a model with a value
  branch (must fail, naming its line);
* the corpus: timm's resnet50, convnext_tiny, efficientnet_b0, mobilenetv3_large_100, vit_small and
  swin_tiny (random init, 64x64), each static and with a dynamic batch from a batch-1 example; a
  GPT-style decoder (static, and a dynamic sequence); a pyannote-shaped SincNet + LSTM audio model
  (static, and a dynamic length in a range); a vocoder source with noise drawn in forward (must fail
  with DA408) and its twin taking the noise as an input.

Each static corpus run is timed against what a team would otherwise do on the same model and input:
plain ``torch.onnx.export(model, args, dynamo=True)`` plus one ONNX Runtime run, also a fresh process;
the two are run one after the other (plain first), so both see the same load. The ratio is port's wall
time over plain's (aim: <= 1.3).

Writes ``reports/port.md`` (a summary table: verdict, time, findings per run; the timing comparison;
then every run's markdown report) and ``reports/port.json``; hand-over folders go to
``build/port/<name>`` (not committed). Every run records the load average before and after: timings
from a shared machine are provisional. ``--only NAME[,NAME]`` runs a subset (the report then holds
only those).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from depaudit.fileio import atomic_write_text  # noqa: E402

OUT = REPO / "build" / "port"
TIMM = "examples/port/timm_models.py"
IMAGE = ["--input", "image=1x3x64x64"]
BATCH = ["--dynamic", "image:0=batch"]


@dataclass(frozen=True)
class Run:
    """One `depaudit port` command, the verdict it must reach, and whether plain export is timed beside it."""

    name: str
    args: list[str]
    expect_pass: bool = True
    compare: bool = False  # time plain torch.onnx.export + one ORT run on the same model and inputs
    group: str = "corpus"


def _runs() -> list[Run]:
    runs = [
        Run(
            "gmnet",
            "reference_service.export:GMNetPredict --input image=1x3x128x160 --input thumbnail=1x3x256x256 "
            "--dynamic image:2=height --dynamic image:3=width --output-name gain_map --output-name qmax "
            "--min-psnr 120".split(),
            group="readme",
        ),
        Run(
            "resnet18",
            "examples/port/real_models.py:resnet18 --input image=1x3x224x224 --output-name logits".split(),
            group="readme",
        ),
        Run(
            "exposure", "examples/port/exposure.py:AutoExposure --input image=1x3x64x64".split(), False, group="readme"
        ),
    ]
    for model in ("resnet50", "convnext_tiny", "efficientnet_b0", "mobilenetv3", "vit_small", "swin_tiny"):
        runs.append(Run(f"{model}-static", [f"{TIMM}:{model}", *IMAGE], compare=True))
        runs.append(Run(f"{model}-batch", [f"{TIMM}:{model}", *IMAGE, *BATCH]))
    gpt = ["examples/port/gpt.py:gpt", "--input", "tokens=1x16:int64:0..512"]
    audio = ["examples/port/audio.py:segmentation", "--input", "audio=1x1x4000:float32:-1..1"]
    noisy = "examples/port/noisy.py"
    runs += [
        Run("gpt-static", gpt, compare=True),
        Run("gpt-sequence", [*gpt, "--dynamic", "tokens:1=sequence"]),
        Run("audio-static", audio, compare=True),
        Run("audio-samples", [*audio, "--dynamic", "audio:2=samples:2000..32000"]),
        Run("noise-in-forward", [f"{noisy}:SineSource", "--input", "f0=1x1x64"], expect_pass=False),
        Run("noise-as-input", [f"{noisy}:SineSourceNoiseInput", "--input", "f0=1x1x64", "--input", "noise=1x512x4"]),
    ]
    return runs


# Plain export, as a team would write it: the same model spec and input shapes, random inputs in the
# declared dtype and range, torch.onnx.export(dynamo=True) to a file, one ONNX Runtime run.
PLAIN = r"""
import importlib.util, sys, numpy as np, torch, onnxruntime as ort
path, attr, out = sys.argv[1], sys.argv[2], sys.argv[3]
spec = importlib.util.spec_from_file_location("plain_model", path)
module = importlib.util.module_from_spec(spec); sys.path.insert(0, str(__import__("pathlib").Path(path).parent))
spec.loader.exec_module(module)
model = getattr(module, attr)()
model.eval()
args = []
for text in sys.argv[4:]:
    name, _, rest = text.partition("=")
    parts = rest.split(":")
    shape = [int(d) for d in parts[0].split("x")]
    dtype = parts[1] if len(parts) > 1 else "float32"
    low, high = (float(v) for v in parts[2].split("..")) if len(parts) > 2 else (0.0, 1.0)
    rng = np.random.default_rng(0)
    array = rng.integers(int(low), int(high), shape) if dtype.startswith("int") else low + (high - low) * rng.random(shape)
    args.append(torch.from_numpy(np.asarray(array, dtype=dtype)))
torch.onnx.export(model, tuple(args), out, dynamo=True)
session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
"""


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


@dataclass
class Result:
    """What one run measured."""

    run: Run
    exit_code: int = 0
    wall_seconds: float = 0.0
    loadavg_before: str = ""
    loadavg_after: str = ""
    markdown: str = ""
    doc: dict = field(default_factory=dict)
    plain_seconds: float | None = None
    plain_error: str = ""
    plain_loadavg: str = ""

    @property
    def as_expected(self) -> bool:
        return bool(self.doc) and self.doc.get("passed") is self.run.expect_pass


def run_plain(run: Run) -> tuple[float | None, str]:
    """Wall seconds of plain torch.onnx.export + one ORT run in a fresh process ('' or the error's last line)."""
    target, _, attr = run.args[0].rpartition(":")
    inputs = [run.args[i + 1] for i, a in enumerate(run.args) if a == "--input"]
    out = OUT / f"{run.name}-plain.onnx"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PLAIN, str(REPO / target), attr, str(out), *inputs],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
        env=_env(),
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        return None, (result.stderr.strip().splitlines() or ["failed"])[-1][:300]
    return round(seconds, 1), ""


def run_port(run: Run) -> Result:
    """One `depaudit port` process: exit code, wall seconds, load averages, markdown report, port.json."""
    result = Result(run)
    if run.compare:
        result.plain_loadavg = _loadavg()
        result.plain_seconds, result.plain_error = run_plain(run)
    command = [
        sys.executable,
        "-m",
        "depaudit",
        "port",
        *run.args,
        "--out",
        f"build/port/{run.name}",
        "--format",
        "markdown",
    ]
    result.loadavg_before = _loadavg()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=3600, env=_env())
    result.wall_seconds = round(time.perf_counter() - start, 1)
    result.loadavg_after = _loadavg()
    result.exit_code, result.markdown = done.returncode, done.stdout
    report = OUT / run.name / "port.json"
    result.doc = json.loads(report.read_text()) if report.is_file() else {}
    return result


def _shown(run: Run) -> str:
    return "depaudit port " + " ".join(shlex.quote(a) for a in run.args)


def _findings(doc: dict) -> str:
    found = [f"{f['rule']} `{f['path']}:{f['line']}`" for f in doc.get("findings", [])]
    return "; ".join(found) or "none"


def _verdict(result: Result) -> str:
    doc = result.doc
    if not doc:
        return f"no port.json (exit {result.exit_code})"
    cases = doc.get("cases", [])
    passed = sum(c["passed"] for c in cases)
    verdict = "PASS" if doc["passed"] else "**FAIL**"
    expected = "" if result.as_expected else " (not as expected)"
    return f"{verdict}{expected}, {doc.get('exporter') or 'not exported'}; {passed}/{len(cases)} cases"


def _summary(results: list[Result]) -> list[str]:
    lines = [
        "| run | command | verdict | findings | port time | load before |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.run.name} | `{_shown(r.run)}` | {_verdict(r)} | {_findings(r.doc)} | {r.wall_seconds:.1f} s | {r.loadavg_before} |"
        )
    return lines


def _comparison(results: list[Result]) -> list[str]:
    lines = [
        "| model | plain export + 1 ORT run | depaudit port | port / plain | cases port ran | load before plain |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in (r for r in results if r.run.compare):
        plain = f"{r.plain_seconds:.1f} s" if r.plain_seconds else f"failed: {r.plain_error}"
        ratio = f"{r.wall_seconds / r.plain_seconds:.2f}x" if r.plain_seconds else "-"
        lines.append(
            f"| {r.run.name.removesuffix('-static')} | {plain} | {r.wall_seconds:.1f} s | {ratio} | {len(r.doc.get('cases', []))} | {r.plain_loadavg} |"
        )
    return lines


def render(results: list[Result], machine: dict) -> str:
    lines = [
        "# depaudit port on the models teams have",
        "",
        "Command: `python benchmarks/port_examples.py` (each run a fresh process, torch's import included)  ",
        f"Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs; load average {machine['load_start']} at the "
        f"start, {machine['load_end']} at the end (shown per run: figures from a shared machine are provisional)",
        "",
        "## Verdict, time and findings per run",
        "",
        *_summary(results),
        "",
        "## A static port against plain `torch.onnx.export(dynamo=True)` + one ONNX Runtime run",
        "",
        "Same model, same input shapes, each a fresh process, plain first then port. Port also runs every "
        "generated case in torch and ONNX Runtime, runs the example twice, checks the graph and writes the "
        "hand-over files.",
        "",
        *_comparison(results),
        "",
    ]
    for r in results:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in r.doc.get("seconds", {}).items() if k != "total")
        lines += [
            f"## {r.run.name}",
            "",
            "```",
            _shown(r.run) + f" --out build/port/{r.run.name}",
            "```",
            "",
            f"Exit code {r.exit_code}; wall time {r.wall_seconds} s including the torch import (load average "
            f"{r.loadavg_before} before, {r.loadavg_after} after); inside port: {steps}.",
            "",
            re.sub(r"^## depaudit port", "### report:", r.markdown, flags=re.M),
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    """Run the examples and write the reports; exit 1 when one did not end as expected."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated run names (default: every run)")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    runs = [r for r in _runs() if not wanted or r.name in wanted]
    machine = {"cpu": _cpu(), "logical_cpus": os.cpu_count(), "load_start": _loadavg()}
    results = []
    for run in runs:
        results.append(run_port(run))
        r = results[-1]
        plain = f" plain {r.plain_seconds} s" if run.compare else ""
        print(
            f"{run.name:18s} exit {r.exit_code} {r.wall_seconds:6.1f} s{plain}  load {r.loadavg_before} -> {r.loadavg_after}",
            flush=True,
        )
    machine["load_end"] = _loadavg()
    reports = REPO / "reports"
    document = {
        "schema": 1,
        "machine": machine,
        "runs": [
            {
                "name": r.run.name,
                "command": _shown(r.run),
                "expect_pass": r.run.expect_pass,
                "exit_code": r.exit_code,
                "wall_seconds": r.wall_seconds,
                "loadavg_before": r.loadavg_before,
                "loadavg_after": r.loadavg_after,
                "passed": r.doc.get("passed"),
                "exporter": r.doc.get("exporter"),
                "findings": [f"{f['rule']} {f['path']}:{f['line']}" for f in r.doc.get("findings", [])],
                "cases": len(r.doc.get("cases", [])),
                "cases_passed": sum(c["passed"] for c in r.doc.get("cases", [])),
                "port_seconds": r.doc.get("seconds"),
                "onnx_bytes": r.doc.get("onnx_bytes"),
                "plain_export_seconds": r.plain_seconds,
                "plain_loadavg_before": r.plain_loadavg or None,
                "markdown": r.markdown,
            }
            for r in results
        ],
    }
    atomic_write_text(reports / "port.json", json.dumps(document, indent=2) + "\n")
    atomic_write_text(reports / "port.md", render(results, machine))
    return 0 if all(r.as_expected for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
