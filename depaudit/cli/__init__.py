"""Command-line entry point: `depaudit` and `python -m depaudit`."""

from __future__ import annotations

import importlib
import sys

from depaudit.cli._app import app

# Each module registers its commands on `app` when imported.
COMMAND_MODULES = (  # in the order `depaudit --help` lists them
    "depaudit.cli.scan",
    "depaudit.cli.fix",
    "depaudit.cli.lint",
    "depaudit.cli.image",
    "depaudit.cli.bench",
    "depaudit.cli.gate",
)


def _register() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code (0 ok, 1 findings/budget, 2 usage, 3 input, 4 tool)."""
    import click

    from depaudit.errors import EXIT_USAGE, DepauditError

    _register()
    # Newer typer vendors click as `typer._click` and raises its exception classes, not click's.
    exits, click_errors, aborts = [click.exceptions.Exit], [click.ClickException], [click.exceptions.Abort]
    import typer

    exits.append(typer.Exit)
    aborts.append(typer.Abort)
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        click_errors.append(vendored.ClickException)
    try:
        result = app(args=argv, standalone_mode=False, prog_name="depaudit")
    except tuple(exits) as exc:
        code = exc.exit_code
    except tuple(click_errors) as exc:
        exc.show()
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
    except tuple(aborts):
        print("depaudit: aborted", file=sys.stderr)
        code = 130
    except DepauditError as exc:
        print(f"depaudit: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("depaudit: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    else:
        code = result if isinstance(result, int) else 0
    sys.exit(code)
