"""What every command does at the edge, without typer (the scan fast path imports only this): the
parsed `--format` and `--fail-on`, verbosity, the one settings value and the render options."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depaudit import fileio
from depaudit.cli.output import info, set_verbosity, verbosity, warn
from depaudit.render.formats import OutputFormat, RenderOptions
from depaudit.settings import Settings, early_machine_settings, load_settings
from depaudit.sources.lines import SourceLines
from depaudit.sources.workspace import repository_root

if TYPE_CHECKING:
    from depaudit.project import ProjectContext

FORMAT_CHOICES = "|".join(f.value for f in OutputFormat)


class FailOn(StrEnum):
    """The lowest finding severity that makes the exit code 1."""

    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


def begin(quiet: bool, verbose: bool) -> None:
    """What every command does first: set the verbosity."""
    set_verbosity(quiet, verbose)


def settings_for(
    command: str,
    project: ProjectContext,
    cli: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The one Settings of a command: the project's `[tool.depaudit]` tables (root, member), the
    environment and the command line (`cli`, keyed like the schema). Says once, on stderr, what a file
    was not allowed to loosen; with --verbose, where each setting came from. Raises
    InputError/UsageError."""
    settings = load_settings(
        command,
        project.settings_files,
        os.environ if environ is None else environ,
        cli,
        member_files=project.member_settings,
        member=project.member,
    )
    for note in settings.notes:
        warn(note)
    if verbosity() > 0:
        for line in settings.describe():  # values from a checkout: redacted and escaped like any message
            info(f"depaudit: {line}")
    return settings


def apply_machine_environment(environ: Mapping[str, str]) -> None:
    """What must hold before any file is read, for this run (main() may run several times in one
    process): the input size limit (DEPAUDIT_MAX_INPUT_BYTES) and the docker client (DEPAUDIT_DOCKER).
    Raises UsageError for a bad value."""
    limit, docker = early_machine_settings(environ)
    fileio.set_max_input_bytes(limit if limit is not None else fileio.MAX_INPUT_BYTES)
    if docker is not None or "depaudit.images.engine" in sys.modules:
        from depaudit.images.engine import set_docker_command  # only when needed: the scan path never runs docker

        set_docker_command(docker or "docker")


def render_options(
    settings: Settings | None,
    *,
    binary: bool = False,
    top: int | None = 15,
    indent: int | None = 2,
) -> RenderOptions:
    """RenderOptions for a command: SARIF paths relative to the repository root, rule pages under the
    docs URL (settings' docs-url, else the pages shipped in the package), the SARIF line reader."""
    return RenderOptions(
        binary=binary,
        top=top,
        indent=indent,
        source_root=repository_root(Path.cwd()),
        docs_url=settings.docs_url if settings is not None else None,
        read_line=SourceLines(),
    )


def terminal_indent(output: str | None) -> int | None:
    """JSON indentation: 2 on a terminal, compact when piped or written to a file."""
    return 2 if output in (None, "-") and sys.stdout.isatty() else None
