"""`depaudit bench`: cold-build the reference service's image variants and measure them side by side."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from depaudit.cli.app import app
from depaudit.cli.common import begin, settings_for
from depaudit.cli.output import info, warn
from depaudit.cli.params import VERBOSITY, Given, cli_layer, flag, pick, register, value, values
from depaudit.errors import UsageError
from depaudit.fileio import write_text
from depaudit.gate import load_bench_report
from depaudit.project import ProjectContext
from depaudit.servicebench.gmnet import VARIANTS
from depaudit.servicebench.render import render_markdown
from depaudit.servicebench.report_files import report_folder, write_report
from depaudit.servicebench.run import DEFAULT_WHEEL_DIRS, BenchConfig, run_bench


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)x(\d+)\s*", part)
        if not match or int(match.group(1)) < 16 or int(match.group(2)) < 16:
            raise UsageError(f"--sizes: {part.strip()!r} is not WIDTHxHEIGHT (each at least 16)")
        sizes.append((int(match.group(1)), int(match.group(2))))
    return sizes


def _requests(text: str) -> int:
    value = int(text, 10)
    if not 1 <= value <= 1000:
        raise ValueError(f"{text} is not in the range 1-1000")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 1:
        raise ValueError(f"{text} is less than 1")
    return value


PARAMS = (
    values("variant", "--variant", "-v"),
    value("base_image", "--base-image", setting="base-image"),
    value("sizes", "--sizes", default="256x256,512x512,1024x768"),
    value("requests", "--requests", kind=int, default=5, parse=_requests),
    value("size_budget", "--size-budget", kind=float, default=90.0, parse=_seconds),
    value("torch_index_url", "--torch-index-url"),
    values("wheels", "--wheels", kind=Path),
    value("repo", "--repo", kind=Path, default=Path(".")),
    value("output_dir", "--output-dir", kind=Path, default=Path("reports")),
    flag("overwrite", "--overwrite"),
    flag("keep", "--keep"),
    flag("no_compressed", "--no-compressed"),
    value("from_json", "--from-json", kind=Path),
    *pick(*VERBOSITY),
)


def bench(given: Given) -> int:
    """Cold build time, image size, start-to-ready, interleaved latency and agreement with torch, per variant."""
    begin(None, given.quiet, given.verbose)
    if given.from_json is not None:
        return _rerender(given.from_json, given.output_dir)
    settings = settings_for("bench", ProjectContext(Path.cwd(), None, None), cli_layer(PARAMS, given))
    cfg = BenchConfig(
        repo=given.repo.resolve(),
        variants=tuple(given.variant or VARIANTS),
        base_image=settings.base_image or "python:3.11-slim",
        sizes=_sizes(given.sizes),
        requests=given.requests,
        size_budget_seconds=given.size_budget,
        torch_index_url=given.torch_index_url,
        keep=given.keep,
        measure_compressed=not given.no_compressed,
        wheel_dirs=tuple(given.wheels) if given.wheels else DEFAULT_WHEEL_DIRS,
    )
    folder = report_folder(given.output_dir, given.overwrite)
    if folder != given.output_dir:
        info(
            f"depaudit bench: {given.output_dir} already holds a report; this run writes to {folder} "
            "(--overwrite replaces it)"
        )
    report = run_bench(cfg, say=lambda message: info(f"depaudit bench: {message}"))
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "images.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    written = write_report(report, folder)
    info(f"depaudit bench: wrote {folder / 'images.json'}, " + ", ".join(p.name for p in written))
    if report.get("provisional"):
        info("depaudit bench: the load average exceeded the CPU count: the report is marked provisional")
    sys.stdout.write(render_markdown(report))
    return 4 if bench_failures(report) else 0


def bench_failures(report: dict[str, Any]) -> list[str]:
    """What went wrong, one line a variant: a build or start that failed, or inputs its service did not
    answer (a bench whose variant answered 500 to every request is not a measurement)."""
    lines = []
    for v in report["variants"]:
        if v.get("error"):
            lines.append(f"{v['variant']}: {v['error']}")
        for lat in v.get("latency") or []:
            if lat.get("error"):
                lines.append(f"{v['variant']} at {lat['size']}: {lat['error']}")
    for line in lines:
        warn(f"bench: {line}")
    return lines


def _rerender(path: Path, output_dir: Path) -> int:
    report = load_bench_report(path)
    written = write_report(report, output_dir)
    info(f"depaudit bench: re-rendered {', '.join(str(p) for p in written)} from {path}")
    return 0


register(app, "bench", PARAMS, bench)
