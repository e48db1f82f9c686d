"""The one output-format enum and the renderer protocol every command uses.

Each command that prints a report owns a renderer table: a mapping from *every* `OutputFormat` member to
a renderer — either one that produces the format, or `Unsupported`, which refuses with a usage error that
lists the formats the command has. tests/render/test_formats.py checks every command's table covers the
whole enum, so adding a format is a change the tests force through every command.

A renderer returns either text (machine formats and markdown: written as is to stdout or `--output`) or a
`HumanOutput` of rich renderables (tables: the CLI prints them on a console that never wraps when the
output is not a terminal).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from depaudit.errors import UsageError

if TYPE_CHECKING:  # rich is imported only when a table is actually printed (start-up time)
    from rich.console import RenderableType


class OutputFormat(StrEnum):
    """Every output format depaudit writes."""

    table = "table"  # human: rich tables on a terminal, plain unwrapped columns otherwise
    json = "json"  # the command's JSON contract ("schema": 1)
    markdown = "markdown"  # pull-request comments and step summaries
    sarif = "sarif"  # SARIF 2.1.0 for code scanning
    gnu = "gnu"  # one `path:line:col: DAxxx message` line per finding (pre-commit, editors)


def parse_format(value: str) -> OutputFormat:
    """The format `value` names (any case, surrounding blanks ignored). Raises UsageError."""
    try:
        return OutputFormat(value.strip().lower())
    except ValueError:
        choices = ", ".join(f.value for f in OutputFormat)
        raise UsageError(f"--format: {value!r} is not one of {choices}") from None


class RenderOptions(NamedTuple):
    """What a renderer may be asked besides the document: sizes in MiB (`binary`), rows per table
    (`top`, None for all), JSON indentation, the folder SARIF paths are relative to (`source_root`,
    usually the repository root), the base URL of the rule pages (`docs_url`), and a reader of one line
    of a file (`read_line(path, line)`, for SARIF fingerprints; the caller supplies it so rendering does
    no I/O)."""

    binary: bool = False
    top: int | None = 15
    indent: int | None = 2
    source_root: Path | None = None
    docs_url: str | None = None
    read_line: Callable[[str, int], str | None] | None = None


class HumanOutput(NamedTuple):
    """Rich renderables for a terminal (or unwrapped plain text when piped or written to a file)."""

    items: tuple[RenderableType, ...] = ()


Rendered = str | HumanOutput
DocT_contra = TypeVar("DocT_contra", contravariant=True)


class Renderer(Protocol[DocT_contra]):
    """Turns one command's document (a scan report, lint findings, a gate result) into output."""

    def __call__(self, document: DocT_contra, options: RenderOptions, /) -> Rendered: ...


class Unsupported(NamedTuple):
    """The renderer of a format a command does not offer: refuses with a usage error (exit 2)."""

    command: str
    offered: tuple[OutputFormat, ...]

    def __call__(self, document: object, options: RenderOptions, /) -> Rendered:
        choices = ", ".join(f.value for f in self.offered)
        raise UsageError(f"--format: `depaudit {self.command}` reports no findings and writes {choices}")


def offered(table: Mapping[OutputFormat, object]) -> tuple[OutputFormat, ...]:
    """The formats a table really produces (every member not mapped to `Unsupported`)."""
    return tuple(f for f in OutputFormat if not isinstance(table.get(f), Unsupported))


def check_supported(table: Mapping[OutputFormat, object], fmt: OutputFormat) -> None:
    """Raise UsageError now when `table` refuses `fmt` (before work that takes minutes)."""
    renderer = table[fmt]
    if isinstance(renderer, Unsupported):
        renderer(None, RenderOptions())


def render(
    table: Mapping[OutputFormat, Renderer[DocT_contra]],
    fmt: OutputFormat,
    document: DocT_contra,
    options: RenderOptions,
) -> Rendered:
    """Render `document` in `fmt` through the command's table. Raises UsageError for an unsupported
    format."""
    return table[fmt](document, options)


def with_unsupported(
    command: str, renderers: Mapping[OutputFormat, Renderer[DocT_contra]]
) -> dict[OutputFormat, Renderer[DocT_contra]]:
    """A complete table from the renderers a command has: every other member refuses."""
    have = tuple(f for f in OutputFormat if f in renderers)
    refusal = Unsupported(command, have)
    return {f: renderers.get(f, refusal) for f in OutputFormat}
