"""`depaudit gate`: exit 1 when an image, a lock or the service's latency is over budget."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from depaudit.cli._app import app, info, write_output


class GateFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
def gate(
    images: Annotated[Optional[list[str]], typer.Argument(help="Images whose size on disk is checked against --max-image-size.")] = None,
    max_image_size: Annotated[Optional[str], typer.Option("--max-image-size", help="Budget for each IMAGE, e.g. 250MB.")] = None,
    lock: Annotated[Optional[Path], typer.Option("--lock", help="uv.lock / pylock.toml for the download and accelerator budgets.")] = None,
    max_download: Annotated[Optional[str], typer.Option("--max-download", help="Download budget per target of --lock.")] = None,
    max_accelerator: Annotated[Optional[str], typer.Option("--max-accelerator", help="Accelerator-wheel budget per target (0 forbids them).")] = None,
    no_accelerator_target: Annotated[Optional[list[str]], typer.Option("--no-accelerator-target", help="A target that must install no accelerator wheel (repeatable).")] = None,
    target: Annotated[Optional[list[str]], typer.Option("--target", "-t", help="Targets for the lock budgets (default: all).")] = None,
    package: Annotated[Optional[list[str]], typer.Option("--package", help="Workspace member whose install the lock budgets measure (repeatable; default: the root project), as uv sync --package.")] = None,
    all_packages: Annotated[bool, typer.Option("--all-packages", help="Lock budgets for every workspace member installed together.")] = False,
    bench_report: Annotated[Optional[Path], typer.Option("--bench-report", help="A depaudit bench images.json for --max-latency-ms.")] = None,
    max_latency_ms: Annotated[Optional[float], typer.Option("--max-latency-ms", help="Latency budget per variant and input size.")] = None,
    latency_percentile: Annotated[Optional[str], typer.Option("--latency-percentile", help="p50 or p95 (default p95).")] = None,
    pyproject: Annotated[Optional[Path], typer.Option("--pyproject", help="pyproject.toml with [tool.depaudit] (default: nearest one above the current folder).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Lock budgets without network look-ups (unknown sizes stay unknown).")] = False,
    fmt: Annotated[GateFormat, typer.Option("--format", "-f", help="Output format.")] = GateFormat.text,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
) -> int:
    """Check budgets; exit 1 naming the offenders when one is exceeded. Writes $GITHUB_STEP_SUMMARY when set."""
    from depaudit import gate as core
    from depaudit.errors import InputError
    from depaudit.settings import find_pyproject

    if pyproject is not None and not pyproject.is_file():
        raise InputError(pyproject, "no such file")
    project = pyproject or find_pyproject(Path.cwd())
    budgets = core.load_budgets({
        "images": images, "max-image-size": max_image_size, "lock": lock, "max-download": max_download,
        "max-accelerator": max_accelerator, "no-accelerator-targets": no_accelerator_target, "targets": target,
        "bench-report": bench_report, "max-latency-ms": max_latency_ms, "latency-percentile": latency_percentile,
    }, project)
    from depaudit.model import Selection

    selection = Selection(packages=tuple(package or ()), all_packages=all_packages)
    result = core.run_gate(budgets, offline=offline, selection=selection)
    markdown = core.render_markdown(result, budgets)
    if fmt is GateFormat.json:
        write_output(json.dumps(core.result_to_dict(result, budgets), indent=2), output)
    elif fmt is GateFormat.markdown:
        write_output(markdown, output)
    else:
        write_output("\n".join(("PASS " if c.passed else "FAIL ") + c.message() for c in result.checks), output)
    written = core.append_step_summary(markdown)
    if written is not None:
        info(f"depaudit gate: summary appended to {written}")
    for breach in result.breaches:
        print(f"depaudit: budget exceeded: {breach.message()}", file=sys.stderr)
    return 0 if result.passed else 1
