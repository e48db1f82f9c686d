"""`depaudit lint`: check Dockerfiles against the DA3xx rules."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from depaudit.cli._app import app, stdout_console, write_output


class LintFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"


class LintFailOn(str, Enum):
    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


def _ids(values: Optional[list[str]]) -> list[str]:
    """Rule IDs from repeated and/or comma-separated options, validated as DA3xx prefixes."""
    from depaudit.errors import UsageError

    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip().upper()
            if not part:
                continue
            if not part.startswith("DA3") or len(part) > 5 or not part[2:].isdigit():
                raise UsageError(f"--select/--ignore: {part!r} is not a Dockerfile rule ID (DA3xx)")
            out.append(part)
    return out


def _build_args(values: Optional[list[str]]) -> dict[str, str]:
    from depaudit.errors import UsageError

    args: dict[str, str] = {}
    for value in values or []:
        name, eq, val = value.partition("=")
        if not eq or not name:
            raise UsageError(f"--build-arg: expected NAME=VALUE, got {value!r}")
        args[name] = val
    return args


@app.command()
def lint(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Dockerfiles or folders to search (default: .).")] = None,
    fmt: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format.")] = LintFormat.table,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
    fail_on: Annotated[LintFailOn, typer.Option("--fail-on", help="Exit 1 on findings at or above this severity (default: error).")] = LintFailOn.error,
    ignore: Annotated[Optional[list[str]], typer.Option("--ignore", help="Rule IDs (or prefixes) to skip; repeatable or comma-separated.")] = None,
    select: Annotated[Optional[list[str]], typer.Option("--select", help="Run only these rule IDs (or prefixes).")] = None,
    context: Annotated[Optional[Path], typer.Option("--context", help="Build context for files RUN lines name (default: the Dockerfile's folder, then its parent).")] = None,
    build_arg: Annotated[Optional[list[str]], typer.Option("--build-arg", help="NAME=VALUE overriding an ARG default, as docker build would.")] = None,
) -> int:
    """Check Dockerfiles for CUDA bloat, caches, cache busting, root and secrets (rules DA301-DA310)."""
    from depaudit.lint import find_dockerfiles, lint_subject, load_subject
    from depaudit.model import SEVERITY_ORDER
    from depaudit.rules.base import describe

    selected, ignored = _ids(select), _ids(ignore)
    args = _build_args(build_arg)
    files = find_dockerfiles(paths or [Path(".")])
    findings = []
    for file in files:
        findings += lint_subject(load_subject(file, context, args), selected, ignored)
    names = [str(f) for f in files]
    if fmt is LintFormat.table:
        _print_table(findings, names, output)
    elif fmt is LintFormat.json:
        from depaudit.render.findings import render_findings_json

        write_output(render_findings_json(findings, names), output)
    elif fmt is LintFormat.markdown:
        from depaudit.render.findings import render_findings_markdown

        write_output(render_findings_markdown(findings, names), output)
    else:
        from depaudit.render.sarif import render_sarif

        docs = [d for d in describe() if d.id.startswith("DA3")
                and (not selected or d.id.startswith(tuple(selected)))
                and not (ignored and d.id.startswith(tuple(ignored)))]
        write_output(render_sarif(findings, docs), output)
    if fail_on is LintFailOn.never:
        return 0
    floor = SEVERITY_ORDER[fail_on.value]
    return 1 if any(SEVERITY_ORDER[f.severity] >= floor for f in findings) else 0


def _print_table(findings, names: list[str], output: Optional[str]) -> None:
    from depaudit.render.findings import findings_table, summary_line

    if output not in (None, "-"):
        from rich.console import Console

        console = Console(record=True, width=160, no_color=True)
        with console.capture():
            if findings:
                console.print(findings_table(findings))
            console.print(summary_line(findings, len(names)))
        write_output(console.export_text(), output)
        return
    console = stdout_console()
    if findings:
        console.print(findings_table(findings))
    console.print(summary_line(findings, len(names)))
