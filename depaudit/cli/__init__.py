"""Command-line entry point: `depaudit` and `python -m depaudit`."""

from __future__ import annotations

import importlib
import sys

from depaudit.cli._app import app

# Each module registers its commands on `app` when imported.
COMMAND_MODULES = (
    "depaudit.cli.scan",
    "depaudit.cli.fix",
    "depaudit.cli.lint",
)


def _register() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code (0 ok, 1 findings/budget, 2 usage, 3 input, 4 tool)."""
    import click

    from depaudit.errors import EXIT_USAGE, DepauditError

    _register()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="depaudit")
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
    except click.exceptions.Abort:
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
