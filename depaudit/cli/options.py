"""Options every command shares, defined once: `--format`, `--output`, `--select`/`--ignore`,
`--quiet`/`--verbose`, `--fail-on`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

# The option values and what commands do with them live in depaudit.cli.common (no typer there: the scan
# fast path uses them); re-exported so commands keep writing `opt.FailOn`, `opt.begin(...)`.
from depaudit.cli.common import FORMAT_CHOICES as FORMAT_CHOICES
from depaudit.cli.common import FailOn as FailOn
from depaudit.cli.common import FormatChoice as FormatChoice
from depaudit.cli.common import allow_hosts as allow_hosts
from depaudit.cli.common import begin as begin
from depaudit.cli.common import pyproject_option as pyproject_option
from depaudit.cli.common import render_options as render_options
from depaudit.errors import UsageError
from depaudit.render.formats import OutputFormat, check_supported, offered, parse_format


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

_FORMAT_NOTES = {OutputFormat.gnu: "gnu (path:line:col: DAxxx message)"}


def format_option(table: Mapping[OutputFormat, object]) -> Any:
    """`--format` for a command whose renderer table refuses some formats: its help, metavar and completion
    offer only the formats the table writes, and another is refused when the command line is read (exit 2)."""
    have = offered(table)

    def parse(value: object) -> FormatChoice:
        choice = _parse_format(value)
        try:
            check_supported(table, choice.format)  # the table's own refusal, word for word
        except UsageError as exc:
            raise typer.BadParameter(str(exc).removeprefix("--format: ")) from None
        return choice

    names = ", ".join(_FORMAT_NOTES.get(f, f.value) for f in have)
    return typer.Option(
        "--format",
        "-f",
        parser=parse,
        metavar=f"[{'|'.join(f.value for f in have)}]",
        show_default=False,
        autocompletion=lambda incomplete: [f.value for f in have if f.value.startswith(incomplete)],
        help=f"Output format (default table): {names}.",
    )


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
AllowBuildOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-build",
        metavar="PACKAGE",
        help="Accept that PACKAGE is built from source on a target with no wheel for it (repeatable; :all: for every "
        "build); without it a target that builds a package has UNKNOWN budgets, which fail.",
    ),
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
