"""`depaudit gate`: exit 1 when an image, a lock or the service's latency is over budget (or a budget
cannot be verified)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from depaudit.cli import options as opt
from depaudit.cli.app import app
from depaudit.cli.output import append_step_summary, emit, info, problem
from depaudit.gate import gate_report, load_budgets
from depaudit.model import Selection
from depaudit.render.formats import render
from depaudit.render.gate import GATE_RENDERERS, gate_markdown
from depaudit.rules.config import rule_config

EXIT_CODES_HELP = (
    "Exit codes: 0 every check passed; 1 a budget exceeded or not verifiable (a size unknown); "
    "2 usage error (no budget, bad option or DEPAUDIT_* value); 3 unreadable input (bad "
    "[tool.depaudit] value, lock or bench report); 4 Docker or the index failed."
)
SizesOption = list[str] | None


@app.command(epilog=EXIT_CODES_HELP)
def gate(
    images: Annotated[
        list[str] | None, typer.Argument(help="Images whose size on disk is checked against --max-image-size.")
    ] = None,
    max_image_size: Annotated[
        str | None, typer.Option("--max-image-size", help="Budget for each IMAGE, e.g. 250MB.")
    ] = None,
    lock: Annotated[
        Path | None, typer.Option("--lock", help="uv.lock / pylock.toml for the download and accelerator budgets.")
    ] = None,
    max_download: Annotated[
        SizesOption,
        typer.Option(
            "--max-download",
            help="Download budget for every target (500MB) or one target (linux-aarch64=3GB); repeatable.",
        ),
    ] = None,
    max_accelerator: Annotated[
        SizesOption,
        typer.Option(
            "--max-accelerator",
            help="Accelerator-wheel budget, for every target or TARGET=SIZE (0 forbids them); repeatable.",
        ),
    ] = None,
    no_accelerator_target: Annotated[
        list[str] | None,
        typer.Option("--no-accelerator-target", help="A target that must install no accelerator wheel (repeatable)."),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="Targets every lock budget applies to (default: all); targets a budget names are always checked.",
        ),
    ] = None,
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="Include an optional-dependency extra in the lock budgets (repeatable)."),
    ] = None,
    all_extras: Annotated[bool, typer.Option("--all-extras", help="Include every extra.")] = False,
    group: Annotated[list[str] | None, typer.Option("--group", help="Include a dependency group (repeatable).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Include the `dev` dependency group.")] = False,
    package: Annotated[
        list[str] | None,
        typer.Option(
            "--package",
            help="Workspace member whose install the lock budgets measure (repeatable; default: the root "
            "project), as uv sync --package.",
        ),
    ] = None,
    all_packages: Annotated[
        bool, typer.Option("--all-packages", help="Lock budgets for every workspace member installed together.")
    ] = False,
    bench_report: Annotated[
        Path | None, typer.Option("--bench-report", help="A depaudit bench images.json for --max-latency-ms.")
    ] = None,
    max_latency_ms: Annotated[
        float | None, typer.Option("--max-latency-ms", help="Latency budget per variant and input size.")
    ] = None,
    latency_percentile: Annotated[
        str | None, typer.Option("--latency-percentile", help="p50 or p95 (default p95).")
    ] = None,
    pyproject: Annotated[
        Path | None,
        typer.Option(
            "--pyproject", help="pyproject.toml with [tool.depaudit] (default: nearest one above the current folder)."
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Lock budgets without network look-ups (an unknown size makes its check UNKNOWN, which fails).",
        ),
    ] = False,
    binary: opt.BinaryOption = False,
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    select: opt.SelectOption = None,
    ignore: opt.IgnoreOption = None,
    docs_url: opt.DocsUrlOption = None,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
    allow_host: opt.AllowHostOption = None,
    lookup_deadline: opt.LookupDeadlineOption = None,
) -> int:
    """Check budgets; every check is listed PASS, FAIL or UNKNOWN, and only PASS passes. Appends a
    markdown summary to $GITHUB_STEP_SUMMARY when it is set."""
    opt.begin(fmt, quiet, verbose)
    project = opt.pyproject_option(pyproject, Path.cwd())
    groups = tuple(group or ()) + (("dev",) if dev else ())
    selection = Selection(
        extras=tuple(extra or ()),
        all_extras=all_extras,
        groups=groups,
        packages=tuple(package or ()),
        all_packages=all_packages,
    )
    budgets = load_budgets(
        {
            "images": images,
            "max-image-size": max_image_size,
            "lock": lock,
            "max-download": max_download,
            "max-accelerator": max_accelerator,
            "no-accelerator-targets": no_accelerator_target,
            "targets": target,
            "bench-report": bench_report,
            "max-latency-ms": max_latency_ms,
            "latency-percentile": latency_percentile,
        },
        project,
        selection=selection,
    )
    rules = rule_config("gate", select or (), ignore or (), project)
    report = gate_report(
        budgets,
        offline=offline,
        select=rules.select,
        ignore=rules.ignore,
        binary=binary,
        allow_hosts=opt.allow_hosts(allow_host, project),
        **opt.lookup_options(lookup_deadline),
    )
    options = opt.render_options(project, docs_url, binary=binary)
    emit(render(GATE_RENDERERS, fmt.format, report, options), output)
    written = append_step_summary(gate_markdown(report, options))
    if written is not None:
        info(f"depaudit gate: summary appended to {written}")
    for breach in report.result.breaches:
        what = "budget not verifiable" if breach.verdict == "unknown" else "budget exceeded"
        problem(f"{what}: {breach.message(binary)}")
    for finding in report.result.lock_findings:
        problem(f"{finding.rule} {finding.message}")
    return 0 if report.passed else 1
