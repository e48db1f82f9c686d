"""`depaudit lint`: check Dockerfiles (DA3xx), requirements files and pyproject.toml (DA2xx) and locks
(DA1xx) with the rule engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from depaudit.cli import options as opt
from depaudit.cli.app import app
from depaudit.cli.output import emit
from depaudit.errors import UsageError
from depaudit.lint import LintOptions, lint_paths
from depaudit.render.formats import render
from depaudit.render.lint import LINT_RENDERERS
from depaudit.rules.base import at_or_above
from depaudit.rules.config import rule_config

EXIT_CODES_HELP = (
    "Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage error; "
    "3 a file unreadable or invalid."
)


def _build_args(values: list[str] | None) -> dict[str, str]:
    args: dict[str, str] = {}
    for value in values or []:
        name, eq, val = value.partition("=")
        if not eq or not name:
            raise UsageError(f"--build-arg: expected NAME=VALUE, got {value!r}")
        args[name] = val
    return args


@app.command(epilog=EXIT_CODES_HELP)
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Dockerfiles, requirements files, pyproject.toml, uv.lock/pylock.toml, or folders to search (default: .)."
        ),
    ] = None,
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    fail_on: Annotated[
        opt.FailOn, typer.Option("--fail-on", help="Exit 1 on findings at or above this severity (default: error).")
    ] = opt.FailOn.error,
    ignore: opt.IgnoreOption = None,
    select: opt.SelectOption = None,
    context: Annotated[
        Path | None,
        typer.Option(
            "--context",
            help="Build context for files RUN lines name (default: the Dockerfile's folder, then its parent).",
        ),
    ] = None,
    build_arg: Annotated[
        list[str] | None,
        typer.Option("--build-arg", help="NAME=VALUE overriding an ARG default, as docker build would."),
    ] = None,
    pyproject: Annotated[
        Path | None,
        typer.Option(
            "--pyproject",
            help="pyproject.toml with [tool.depaudit] (default: the nearest one above the current folder).",
        ),
    ] = None,
    docs_url: opt.DocsUrlOption = None,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
    sizes: Annotated[
        bool,
        typer.Option(
            "--sizes",
            help="Resolve each Dockerfile RUN line for the image's platform (uv and the package index) so DA302 says what it downloads and what the CPU index would.",
        ),
    ] = False,
    cpu_index_url: Annotated[
        str | None, typer.Option("--cpu-index-url", help="The CPU index --sizes compares with (default: PyTorch's).")
    ] = None,
    allow_host: opt.AllowHostOption = None,
) -> int:
    """Check Dockerfiles (DA301-DA310), requirements files and pyproject.toml (DA201-DA202) and locks
    (DA101-DA104, scanned offline)."""
    opt.begin(fmt, quiet, verbose)
    args = _build_args(build_arg)
    project = opt.pyproject_option(pyproject, Path.cwd())
    rules = rule_config("lint", select or (), ignore or (), project)
    options = LintOptions(
        rules.select,
        rules.ignore,
        rules.per_path,
        context,
        args,
        sizes=sizes,
        allow_hosts=tuple(opt.allow_hosts(allow_host, project)),
        cpu_index_url=cpu_index_url,
    )
    report = lint_paths(paths or [Path(".")], options)
    emit(render(LINT_RENDERERS, fmt.format, report, opt.render_options(project, docs_url)), output)
    if fail_on is opt.FailOn.never:
        return 0
    return 1 if any(True for _ in at_or_above(report.findings, fail_on.value)) else 0
