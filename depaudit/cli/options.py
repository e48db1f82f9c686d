"""Options every command shares, defined once: `--format`, `--output`, `--select`/`--ignore`,
`--quiet`/`--verbose`, `--fail-on`."""

from __future__ import annotations

from typing import Annotated

import typer

# The option values and what commands do with them live in depaudit.cli.common (no typer there: the scan
# fast path uses them); re-exported so commands keep writing `opt.FailOn`, `opt.begin(...)`.
from depaudit.cli.common import FORMAT_CHOICES as FORMAT_CHOICES
from depaudit.cli.common import LOOKUP_DEADLINE_HELP, seconds
from depaudit.cli.common import FailOn as FailOn
from depaudit.cli.common import FormatChoice as FormatChoice
from depaudit.cli.common import allow_hosts as allow_hosts
from depaudit.cli.common import begin as begin
from depaudit.cli.common import lookup_options as lookup_options
from depaudit.cli.common import pyproject_option as pyproject_option
from depaudit.cli.common import render_options as render_options
from depaudit.errors import UsageError
from depaudit.render.formats import OutputFormat, parse_format


def _parse_format(value: object) -> FormatChoice:
    if isinstance(value, FormatChoice):
        return value
    try:
        fmt, note = parse_format(str(value))
    except UsageError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--format: ")) from None
    return FormatChoice(fmt, note)


def _complete_format(incomplete: str) -> list[str]:
    return [f.value for f in OutputFormat if f.value.startswith(incomplete)]


FormatOption = Annotated[
    FormatChoice,
    typer.Option(
        "--format",
        "-f",
        parser=_parse_format,
        metavar=f"[{FORMAT_CHOICES}]",
        show_default=False,
        autocompletion=_complete_format,
        help="Output format (default table): table, json, markdown, sarif, gnu (path:line:col: DAxxx message).",
    ),
]
TABLE = FormatChoice(OutputFormat.table)

OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to FILE ('-' for stdout); a file is replaced atomically, a device or FIFO written in place.",
    ),
]
AllowHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-host",
        help="Let size look-ups reach HOST even when it is not one of the lock's registries or resolves to a "
        "loopback/private/link-local address (repeatable; also allow-hosts in [tool.depaudit], DEPAUDIT_ALLOW_HOSTS).",
    ),
]


def _seconds(value: object) -> float | None:
    if value is None or isinstance(value, float):
        return value
    try:
        return seconds(str(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


LookupDeadlineOption = Annotated[
    float | None,
    typer.Option("--lookup-deadline", parser=_seconds, metavar="SECONDS", help=LOOKUP_DEADLINE_HELP),
]
SelectOption = Annotated[
    list[str] | None,
    typer.Option("--select", help="Run only these rule IDs or prefixes (DA3, DA302); repeatable or comma-separated."),
]
IgnoreOption = Annotated[
    list[str] | None, typer.Option("--ignore", help="Skip these rule IDs or prefixes; repeatable or comma-separated.")
]
BinaryOption = Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the report itself.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", help="Also print what is looked up and decided (settings, rules, files, checks).")
]
DocsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--docs-url",
        help="Base URL of the rule pages for SARIF helpUri (default: [tool.depaudit] docs-url, "
        "else the project's documentation URL).",
    ),
]
