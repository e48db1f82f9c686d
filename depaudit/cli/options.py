"""Options every command shares, defined once: `--format`, `--output`, `--select`/`--ignore`,
`--quiet`/`--verbose`, `--fail-on`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from depaudit.cli.output import set_verbosity, warn
from depaudit.errors import InputError, UsageError
from depaudit.render.formats import OutputFormat, RenderOptions, parse_format
from depaudit.settings import convert, find_pyproject, layer_error, resolve_layers, source_root
from depaudit.sources.lines import SourceLines

FORMAT_CHOICES = "|".join(f.value for f in OutputFormat)


@dataclass(frozen=True)
class FormatChoice:
    """The `--format` a user gave, and the warning to show when they used a deprecated spelling."""

    format: OutputFormat
    deprecated: str | None = None


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
SelectOption = Annotated[
    list[str] | None,
    typer.Option("--select", help="Run only these rule IDs or prefixes (DA3, DA302); repeatable or comma-separated."),
]
IgnoreOption = Annotated[
    list[str] | None, typer.Option("--ignore", help="Skip these rule IDs or prefixes; repeatable or comma-separated.")
]
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


class FailOn(StrEnum):
    """The lowest finding severity that makes the exit code 1."""

    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


def begin(fmt: FormatChoice, quiet: bool, verbose: bool) -> None:
    """What every command does first: set the verbosity, warn about a deprecated `--format` spelling."""
    set_verbosity(quiet, verbose)
    if fmt.deprecated:
        warn(fmt.deprecated)


def pyproject_option(given: Path | None, start: Path) -> Path | None:
    """The pyproject.toml a command reads settings from: `--pyproject` (which must exist) or the nearest
    one above `start`. Raises InputError for a `--pyproject` that does not exist (anything else that is
    not a regular file is refused by the bounded reader when it is read)."""
    if given is not None:
        if not (given.exists() or given.is_symlink()):
            raise InputError(given, "no such file")
        return given
    return find_pyproject(start)


def allow_hosts(given: list[str] | None, pyproject: Path | None) -> tuple[str, ...]:
    """The hosts size look-ups may reach besides the lock's registries: `--allow-host`, else
    DEPAUDIT_ALLOW_HOSTS, else `allow-hosts` in [tool.depaudit]. Raises InputError/UsageError for a
    value that is not a list of strings."""
    layer = resolve_layers({"allow-hosts": given}, pyproject, options={"allow-hosts": "--allow-host"}).get(
        "allow-hosts"
    )
    if layer is None:
        return ()
    return tuple(convert("list", "allow-hosts", layer.value, layer_error(layer, pyproject)))


def render_options(
    pyproject: Path | None,
    docs_url: str | None = None,
    *,
    binary: bool = False,
    top: int | None = 15,
    indent: int | None = 2,
) -> RenderOptions:
    """RenderOptions for a command: SARIF paths relative to the repository root, rule pages under the
    docs URL (`--docs-url` > DEPAUDIT_DOCS_URL > [tool.depaudit] docs-url > the package's), line reader."""
    found = resolve_layers({"docs-url": docs_url}, pyproject, options={"docs-url": "--docs-url"})
    url = None
    if "docs-url" in found:
        url = convert("str", "docs-url", found["docs-url"].value, layer_error(found["docs-url"], pyproject))
    return RenderOptions(
        binary=binary,
        top=top,
        indent=indent,
        source_root=source_root(Path.cwd()),
        docs_url=url,
        read_line=SourceLines(),
    )
