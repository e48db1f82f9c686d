"""What the shared options mean, without typer: the parsed `--format`, `--fail-on` levels, and what
every command does first (verbosity, settings, render options). `depaudit.cli.options` defines the
options themselves for typer and re-exports these; the scan fast path (`cli.params`) imports only this."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from depaudit.cli.output import set_verbosity, warn
from depaudit.errors import InputError
from depaudit.render.formats import OutputFormat, RenderOptions
from depaudit.settings import convert, find_pyproject, layer_error, resolve_layers, source_root
from depaudit.sources.lines import SourceLines

FORMAT_CHOICES = "|".join(f.value for f in OutputFormat)


@dataclass(frozen=True)
class FormatChoice:
    """The `--format` a user gave, and the warning to show when they used a deprecated spelling."""

    format: OutputFormat
    deprecated: str | None = None


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


LOOKUP_DEADLINE_HELP = (
    "Seconds all size look-ups of the run may take together (default 60); what has no answer by then "
    "stays unknown (and a budget that needs it is UNKNOWN)."
)


def seconds(text: str) -> float:
    """`--lookup-deadline` text as positive seconds; ValueError (a usage error) for anything else."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r}: give a positive number of seconds")
    return value


def lookup_options(deadline: float | None) -> dict[str, Any]:
    """The keyword arguments a `--lookup-deadline` value adds to scan_lock (none: the core's default)."""
    return {} if deadline is None else {"lookup_deadline": deadline}


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
