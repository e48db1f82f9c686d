"""The typer application shared by every command module, and the helpers commands use to talk to the
terminal. Only this package prints or exits; the core below it returns data or raises DepauditError."""

from __future__ import annotations

import typer

# The terminal helpers live in a module without typer (the scan fast path uses them); commands import
# them from here as before.
from depaudit.cli._io import info, parse_size_option, stderr_console, stdout_console, warn, write_output

__all__ = ["app", "image_app", "info", "parse_size_option", "stderr_console", "stdout_console", "warn", "write_output"]

app = typer.Typer(
    name="depaudit",
    help="Measure and remove the accelerator wheels an ML service installs but never uses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
def _version(value: bool) -> None:
    if value:
        from depaudit import __version__

        print(f"depaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Measure and remove the accelerator wheels an ML service installs but never uses."""


image_app = typer.Typer(help="Measure and compare container images.", no_args_is_help=True)
app.add_typer(image_app, name="image")
