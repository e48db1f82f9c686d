"""The typer application every command module registers on (and `image`'s sub-application). Talking to
the terminal is depaudit.cli.output. Only this package prints or exits; the core below it returns data
or raises DepauditError."""

from __future__ import annotations

import typer

from depaudit import __version__

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
        print(f"depaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Measure and remove the accelerator wheels an ML service installs but never uses."""


image_app = typer.Typer(help="Measure and compare container images.", no_args_is_help=True)
app.add_typer(image_app, name="image")
