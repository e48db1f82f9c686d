"""Command-line entry point: `depaudit` and `python -m depaudit`."""

from __future__ import annotations

import importlib
import os
import sys

from depaudit.cli._app import app

# Each module registers its commands on `app` when imported.
COMMAND_MODULES = (  # in the order `depaudit --help` lists them
    "depaudit.cli.scan",
    "depaudit.cli.diff",
    "depaudit.cli.fix",
    "depaudit.cli.lint",
    "depaudit.cli.image",
    "depaudit.cli.bench",
    "depaudit.cli.gate",
    "depaudit.cli.hook",
    "depaudit.cli.port",
)


def _register(argv: list[str]) -> None:
    """Import the command modules. When the first argument names a command, only that one: typer
    inspects the signature of every registered command on each run, and the other modules' imports
    would only add start-up time (`depaudit scan` is run in CI loops)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    wanted = f"depaudit.cli.{first}"
    if first and wanted in COMMAND_MODULES and not any(a in ("--help", "-h") for a in argv[:1]):
        importlib.import_module(wanted)
        return
    for module in COMMAND_MODULES:
        importlib.import_module(module)


def _click_exceptions() -> tuple[tuple, tuple, tuple]:
    """(exit, usage-error, abort) exception classes of whichever click typer runs on: typer >= 0.26
    vendors it as `typer._click` (and does not install click); older typer uses click itself."""
    import importlib.util

    import typer

    exits, errors, aborts = [typer.Exit], [], [typer.Abort]
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            module = importlib.import_module(name)
            for bucket, attr in ((exits, "Exit"), (errors, "ClickException"), (aborts, "Abort")):
                if hasattr(module, attr):
                    bucket.append(getattr(module, attr))
    return tuple(exits), tuple(errors), tuple(aborts)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code (0 ok, 1 findings/budget, 2 usage, 3 input, 4 tool)."""
    from depaudit.cli.output import error
    from depaudit.errors import EXIT_INPUT, EXIT_TOOL, EXIT_USAGE, DepauditError

    _register(sys.argv[1:] if argv is None else list(argv))
    if "_DEPAUDIT_COMPLETE" in os.environ:  # shell completion (README): typer's shell classes, only when asked
        from typer._completion_classes import completion_init

        completion_init()
    exits, click_errors, aborts = _click_exceptions()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="depaudit")
    except exits as exc:
        code = exc.exit_code
    except click_errors as exc:
        exc.show()
        code = exc.exit_code if exc.exit_code else EXIT_USAGE
    except aborts:
        print("depaudit: aborted", file=sys.stderr)
        code = 130
    except DepauditError as exc:
        error(str(exc))  # control characters from file names or file text escaped
        code = exc.exit_code
    except (MemoryError, SystemError) as exc:
        # A last line of defence: readers and parsers turn MemoryError into an InputError naming the file
        # where they can. Out of memory, CPython can also fail inside C code (SystemError) mid-parse.
        what = "out of memory" if isinstance(exc, MemoryError) else "the interpreter failed (usually: out of memory)"
        error(f"{what}; an input is too large for this process's memory limit")
        code = EXIT_INPUT
    except KeyboardInterrupt:
        print("depaudit: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    except OSError as exc:
        # A last line of defence: readers and writers report their paths as DepauditErrors already.
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        code = EXIT_INPUT if exc.filename else EXIT_TOOL
    else:
        code = result if isinstance(result, int) else 0
    sys.exit(code)
