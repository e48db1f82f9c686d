"""What checking a lock's sizes against the index costs: `depaudit gate` online on a real 359-package lock.

Online, `gate` (and `diff`, and a `scan` with budgets) no longer trusts the `size` a lock records: every
registry wheel's size comes from its index's PEP 691 JSON project page (one request per project) or, where
an index serves no JSON, a HEAD request (depaudit/analysis/index_pages.py). This measures, side by side
and interleaved, on tests/fixtures/locks/docling/uv.lock (359 packages, 5,598 wheel entries, 2,058 of them
without `size`), for the four default targets and a budget no target reaches:

  offline    `gate --offline`: the lock's numbers as written, nothing checked (no request)
  cold       `gate` online with an empty size cache: every project page fetched
  warm       `gate` online again with that cache: answered from it (no request)
  scan-cold  `scan` online without budgets, empty cache: the look-ups a scan made before (HEAD on each
             chosen wheel the lock has no size for; lock sizes trusted), for comparison

Each round uses a fresh cache for the cold runs. Needs PyPI. The machine (CPU model from /proc/cpuinfo)
and the load average before and after go into the report; figures from a loaded machine are provisional.

    python benchmarks/size_verification.py [--runs 5] [--report reports/size_verification]
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
LOCK = ROOT / "tests" / "fixtures" / "locks" / "docling" / "uv.lock"
ENV = {k: v for k, v in os.environ.items() if not k.startswith("DEPAUDIT_") and k != "PYTHONDONTWRITEBYTECODE"}


def depaudit() -> str:
    return shutil.which("depaudit", path=str(Path(sys.executable).parent)) or "depaudit"


def command(kind: str, cache: Path) -> list[str]:
    if kind == "scan-cold":
        return [depaudit(), "scan", str(LOCK), "--format", "json", "-o", os.devnull, "--cache-dir", str(cache)]
    gate = [depaudit(), "gate", "--lock", str(LOCK), "--max-download", "100GB", "--format", "json"]
    return [*gate, "--offline"] if kind == "offline" else gate


def run(kind: str, cache: Path, workdir: Path) -> tuple[float, dict[str, object]]:
    """(wall seconds, facts from the output) of one run; exits when it fails for another reason than a
    budget (exit 1 is a verdict, not a failure)."""
    env = {**ENV, "DEPAUDIT_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    done = subprocess.run(command(kind, cache), cwd=workdir, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{kind} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    facts: dict[str, object] = {"exit": done.returncode}
    if kind != "scan-cold":
        doc = json.loads(done.stdout)
        facts["verdicts"] = sorted({c["verdict"] for c in doc["checks"]})
        facts["DA105"] = sum(1 for f in doc["findings"] if f["rule"] == "DA105")
    cache_file = cache / "sizes-v1.json"
    if cache_file.exists():
        facts["cached_sizes"] = len(json.loads(cache_file.read_text()).get("download", {}))
    return elapsed, facts


def measure(runs: int) -> dict[str, object]:
    kinds = ("offline", "cold", "warm", "scan-cold")
    times: dict[str, list[float]] = {k: [] for k in kinds}
    facts: dict[str, dict[str, object]] = {}
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        for round_ in range(runs):
            verified = Path(tmp) / f"verified-{round_}"
            scanned = Path(tmp) / f"scanned-{round_}"
            for kind in kinds:
                cache = scanned if kind == "scan-cold" else verified
                seconds, facts[kind] = run(kind, cache, workdir)
                times[kind].append(seconds)
    return {
        "lock": str(LOCK.relative_to(ROOT)),
        "runs": runs,
        "cpu": machine_description(docker=False)["cpu"],
        "load_before": load_before,
        "load_after": load_average(),
        "median_seconds": {k: round(statistics.median(v), 3) for k, v in times.items()},
        "all_seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "facts": facts,
    }


def markdown(result: dict[str, object]) -> str:
    medians = result["median_seconds"]
    assert isinstance(medians, dict)
    quiet = max(result["load_before"][0], result["load_after"][0]) < 1.5  # type: ignore[index]
    rows = [
        ("offline", "`gate --offline`: the lock's numbers, unchecked"),
        ("cold", "`gate` online, empty cache: every project page"),
        ("warm", "`gate` online, cached"),
        ("scan-cold", "`scan` online, no budget, empty cache (HEAD where the lock has no size)"),
    ]
    lines = [
        "# Checking a lock's sizes against the index: cost",
        "",
        f"Lock: `{result['lock']}` (359 packages). {result['runs']} interleaved rounds, median wall time.",
        f"Machine: {result['cpu']}; load {result['load_before']} before, {result['load_after']} after"
        + ("" if quiet else " — **provisional** (loaded machine)."),
        "",
        "| run | median | all runs |",
        "| --- | ---: | --- |",
    ]
    for key, what in rows:
        lines.append(f"| {what} | {medians[key]:.2f} s | {result['all_seconds'][key]} |")  # type: ignore[index]
    lines += ["", f"Facts of the last round: `{json.dumps(result['facts'])}`", ""]
    lines += ["Regenerate: `python benchmarks/size_verification.py --report reports/size_verification`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--report", type=Path, help="write REPORT.md and REPORT.json")
    args = parser.parse_args(argv)
    result = measure(args.runs)
    text = markdown(result)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        args.report.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
