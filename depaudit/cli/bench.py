"""`depaudit bench`: cold-build the reference service's image variants and measure them."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from depaudit.cli._app import app, info
from depaudit.cli.options import QuietOption, VerboseOption
from depaudit.cli.output import set_verbosity


def _sizes(text: str) -> list[tuple[int, int]]:
    from depaudit.errors import UsageError

    sizes = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)x(\d+)\s*", part)
        if not match or int(match.group(1)) < 16 or int(match.group(2)) < 16:
            raise UsageError(f"--sizes: {part.strip()!r} is not WIDTHxHEIGHT (each at least 16)")
        sizes.append((int(match.group(1)), int(match.group(2))))
    return sizes


@app.command()
def bench(
    variant: Annotated[Optional[list[str]], typer.Option("--variant", "-v", help="torch-cuda, torch-cpu, onnxruntime, tinygrad (repeatable; default all).")] = None,
    base_image: Annotated[str, typer.Option("--base-image", envvar="DEPAUDIT_BASE_IMAGE", help="BASE_IMAGE build argument (no registry here: build depaudit/python:3.11-slim with docker/base/build-base.sh).")] = "python:3.11-slim",
    sizes: Annotated[str, typer.Option("--sizes", help="Input sizes, WIDTHxHEIGHT comma-separated.")] = "256x256,512x512,1024x768",
    requests: Annotated[int, typer.Option("--requests", min=1, max=1000, help="Timed requests per size (after one warm-up).")] = 5,
    size_budget: Annotated[float, typer.Option("--size-budget", min=1, help="Seconds of timed requests per size; at least one request is made.")] = 90.0,
    torch_index_url: Annotated[Optional[str], typer.Option("--torch-index-url", help="CPU index for torch-cpu (default: serve --wheels on 127.0.0.1).")] = None,
    wheels: Annotated[Optional[list[Path]], typer.Option("--wheels", help="Folder of +cpu wheels to serve as the CPU index (default /opt/wheels).")] = None,
    repo: Annotated[Path, typer.Option("--repo", help="Repository root (build context holding docker/).")] = Path("."),
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where images.md, images.json and the SVG charts go.")] = Path("reports"),
    keep: Annotated[bool, typer.Option("--keep", help="Keep the images it built.")] = False,
    no_compressed: Annotated[bool, typer.Option("--no-compressed", help="Skip the compressed-size pass.")] = False,
    from_json: Annotated[Optional[Path], typer.Option("--from-json", help="Re-render images.md and the charts from an existing images.json (no builds).")] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> int:
    """Cold build time, image size, start-to-ready, latency p50/p95 and agreement with torch, per variant."""
    set_verbosity(quiet, verbose)
    from depaudit.fileio import write_text
    from depaudit.images.bench import VARIANTS, BenchConfig, run_bench
    from depaudit.render.bench import charts, render_markdown

    if from_json is not None:
        return _rerender(from_json, output_dir)
    cfg = BenchConfig(repo=repo.resolve(), variants=tuple(variant or VARIANTS), base_image=base_image,
                      sizes=_sizes(sizes), requests=requests, size_budget_seconds=size_budget,
                      torch_index_url=torch_index_url, keep=keep, measure_compressed=not no_compressed,
                      **({"wheel_dirs": tuple(wheels)} if wheels else {}))
    report = run_bench(cfg, say=lambda message: info(f"depaudit bench: {message}"))
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text(output_dir / "images.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    for name, svg in charts(report).items():
        write_text(output_dir / name, svg)
    write_text(output_dir / "images.md", render_markdown(report))
    info(f"depaudit bench: wrote {output_dir / 'images.md'}, images.json and 3 charts")
    sys.stdout.write(render_markdown(report))
    failed = [v["variant"] for v in report["variants"] if v.get("error")]
    return 4 if failed else 0


def _rerender(path: Path, output_dir: Path) -> int:
    from depaudit.fileio import write_text
    from depaudit.gate import load_bench_report
    from depaudit.render.bench import charts, render_markdown

    report = load_bench_report(path)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, svg in charts(report).items():
        write_text(output_dir / name, svg)
    write_text(output_dir / "images.md", render_markdown(report))
    info(f"depaudit bench: re-rendered {output_dir / 'images.md'} and 3 charts from {path}")
    return 0

