"""`depaudit bench`: cold-build the reference service's image variants and measure them side by side."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from depaudit.cli.app import app
from depaudit.cli.options import QuietOption, VerboseOption
from depaudit.cli.output import info, set_verbosity, warn
from depaudit.errors import UsageError
from depaudit.fileio import write_text
from depaudit.gate import load_bench_report
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


@app.command()
def bench(
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", "-v", help="torch-cuda, torch-cpu, onnxruntime, tinygrad (repeatable; default all)."),
    ] = None,
    base_image: Annotated[
        str,
        typer.Option(
            "--base-image",
            envvar="DEPAUDIT_BASE_IMAGE",
            help="BASE_IMAGE build argument (no registry here: build depaudit/python:3.11-slim with docker/base/build-base.sh).",
        ),
    ] = "python:3.11-slim",
    sizes: Annotated[
        str, typer.Option("--sizes", help="Input sizes, WIDTHxHEIGHT comma-separated.")
    ] = "256x256,512x512,1024x768",
    requests: Annotated[
        int,
        typer.Option(
            "--requests",
            min=1,
            max=1000,
            help="Interleaved rounds: timed requests per variant and size (after one warm-up).",
        ),
    ] = 5,
    size_budget: Annotated[
        float,
        typer.Option(
            "--size-budget", min=1, help="Seconds of timed requests per variant and size; at least one request is made."
        ),
    ] = 90.0,
    torch_index_url: Annotated[
        str | None,
        typer.Option("--torch-index-url", help="CPU index for torch-cpu (default: serve --wheels on 127.0.0.1)."),
    ] = None,
    wheels: Annotated[
        list[Path] | None,
        typer.Option("--wheels", help="Folder of +cpu wheels to serve as the CPU index (default /opt/wheels)."),
    ] = None,
    repo: Annotated[Path, typer.Option("--repo", help="Repository root (build context holding docker/).")] = Path("."),
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir",
            help="Report folder; when it already holds a bench report, a new bench-<time> folder inside it is used (see --overwrite).",
        ),
    ] = Path("reports"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the report already in --output-dir.")] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the final images it built (builder stages are always removed).")
    ] = False,
    no_compressed: Annotated[bool, typer.Option("--no-compressed", help="Skip the compressed-size pass.")] = False,
    from_json: Annotated[
        Path | None,
        typer.Option(
            "--from-json", help="Re-render images.md and the charts from an existing images.json (no builds)."
        ),
    ] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> int:
    """Cold build time, image size, start-to-ready, interleaved latency and agreement with torch, per variant."""
    set_verbosity(quiet, verbose)
    if from_json is not None:
        return _rerender(from_json, output_dir)
    cfg = BenchConfig(
        repo=repo.resolve(),
        variants=tuple(variant or VARIANTS),
        base_image=base_image,
        sizes=_sizes(sizes),
        requests=requests,
        size_budget_seconds=size_budget,
        torch_index_url=torch_index_url,
        keep=keep,
        measure_compressed=not no_compressed,
        wheel_dirs=tuple(wheels) if wheels else DEFAULT_WHEEL_DIRS,
    )
    folder = report_folder(output_dir, overwrite)
    if folder != output_dir:
        info(
            f"depaudit bench: {output_dir} already holds a report; this run writes to {folder} (--overwrite replaces it)"
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
