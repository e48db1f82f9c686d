"""How fast, and in how little memory, every command refuses an input that is not a regular file.

For each command that reads a file (the table in tests/test_fileio_read.py) and each kind of bad input
(a /dev/zero and a /dev/urandom device node made with mknod in a temp folder, a FIFO nobody writes, a
symlink to the zero node, a directory), run it N times and record the exit code, the wall time and the
child's peak RSS (VmHWM, read by the child at exit: tests/childrun.py). The targets the tests enforce:
exit 3, under 5 s, under 200 MB. A `depaudit --version` run is measured alongside, for the start-up floor.

Usage (root, for mknod): python benchmarks/bad_inputs.py [--runs 3] [--report reports/bad_inputs]
Writes REPORT.md and REPORT.json; timings taken while other work shares the machine are marked with the
load average, so compare only within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from test_fileio_read import COMMANDS, make_bad  # noqa: E402

from childrun import run_depaudit  # noqa: E402

KINDS = ("zero", "urandom", "fifo", "symlink-to-zero", "directory")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def measure(command: str, kind: str, runs: int) -> dict:
    place, argv = COMMANDS[command]
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            bad = place(tmp)
            make_bad(bad, kind)
            done = run_depaudit(*argv(bad, tmp), cwd=tmp, timeout=60)
            results.append(done)
    return {
        "command": command,
        "kind": kind,
        "exit_codes": sorted({r.returncode for r in results}),
        "max_seconds": round(max(r.seconds for r in results), 3),
        "max_rss_mb": round(max(r.max_rss_bytes or 0 for r in results) / 1e6, 1),
        "one_line": all(len(r.stderr.strip().splitlines()) == 1 for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "bad_inputs")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the device nodes are made with mknod")
    load_before = os.getloadavg()
    floor = [run_depaudit("--version") for _ in range(args.runs)]
    rows = [measure(c, k, args.runs) for c in COMMANDS for k in KINDS]
    load_after = os.getloadavg()
    report = {
        "schema": 1,
        "command": f"python benchmarks/bad_inputs.py --runs {args.runs}",
        "cpu": cpu_model(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "version_run": {
            "max_seconds": round(max(r.seconds for r in floor), 3),
            "max_rss_mb": round(max(r.max_rss_bytes or 0 for r in floor) / 1e6, 1),
        },
        "rows": rows,
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Bad inputs: every command refuses what is not a regular file",
        "",
        f"`{report['command']}` — CPU {report['cpu']}; load average {report['load_average_before']} before, "
        f"{report['load_average_after']} after"
        + (
            " (above the CPU count: timings provisional)."
            if max(report["load_average_before"][0], report["load_average_after"][0]) > (os.cpu_count() or 1)
            else " (below the CPU count: quiet)."
        ),
        "",
        f"Start-up floor (`depaudit --version`): {report['version_run']['max_seconds']} s, "
        f"{report['version_run']['max_rss_mb']} MB peak RSS.",
        "",
        "| command | input | exit | max time (s) | max peak RSS (MB) | one line |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['command']} | {row['kind']} | {','.join(map(str, row['exit_codes']))} | "
            f"{row['max_seconds']} | {row['max_rss_mb']} | {'yes' if row['one_line'] else 'NO'} |"
        )
    worst_time = max(r["max_seconds"] for r in rows)
    worst_rss = max(r["max_rss_mb"] for r in rows)
    lines += ["", f"Worst case: {worst_time} s, {worst_rss} MB (targets: 5 s, 200 MB, exit 3)."]
    args.report.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
