"""Command-line entry point: `depaudit` and `python -m depaudit`.

typer is the CLI framework, but it is imported only when needed: a plain `depaudit scan ...` command
line is read by `params.parse_fast` from the same option definitions and runs without it (typer and
click were the largest start-up cost of a scan that CI runs on every push).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

# Each module registers its commands on `app` when imported.
COMMAND_MODULES: tuple[str, ...] = (  # in the order `depaudit --help` lists them
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


def _register(argv: list[str]) -> Any:
    """Import the command modules and return the typer app. When the first argument names a command,
    only that one: typer inspects the signature of every registered command on each run, and the
    other modules' imports would only add start-up time."""
    from depaudit.cli.app import app

    first = next((a for a in argv if not a.startswith("-")), None)
    wanted = f"depaudit.cli.{first}"
    modules = COMMAND_MODULES
    if first and wanted in COMMAND_MODULES and not any(a in ("--help", "-h") for a in argv[:1]):
        modules = (wanted,)
    for name in modules:
        module = importlib.import_module(name)
        add_to = getattr(module, "add_to", None)  # scan registers when asked (its module skips typer)
        if add_to is not None:
            add_to(app)
    return app


def _fast_command(argv: list[str]) -> Callable[[], Any] | None:
    """The command to run without typer, or None when typer should read the command line."""
    from depaudit.cli.params import fast_path_enabled, parse_fast

    if not argv or argv[0] != "scan" or not fast_path_enabled() or "_DEPAUDIT_COMPLETE" in os.environ:
        return None
    from depaudit.cli import scan

    given = parse_fast(argv[1:], scan.PARAMS)
    return None if given is None else (lambda: scan.scan(given))


ExceptionTypes = tuple[type[BaseException], ...]


def _click_exceptions() -> tuple[ExceptionTypes, ExceptionTypes, ExceptionTypes]:
    """(exit, usage-error, abort) exception classes of whichever click typer runs on: typer >= 0.26
    vendors it as `typer._click` (and does not install click); older typer uses click itself."""
    import importlib.util

    import typer

    exits: list[type[BaseException]] = [typer.Exit]
    errors: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = [typer.Abort]
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
    args = sys.argv[1:] if argv is None else list(argv)
    fast = _fast_command(args)
    if fast is not None:
        # A scan builds many small acyclic objects and exits: the cyclic collector only re-walks them
        # (measured: ~7 % of a docling scan, ~30 % of a 20,000-package one). Off for this process.
        import gc

        gc.disable()
        try:
            code = _run(fast)
        finally:
            gc.enable()  # main() is also called in-process (tests): leave the collector as found
        if argv is None:
            _exit_now(code)
        sys.exit(code)
    app = _register(args)
    if (
        "_DEPAUDIT_COMPLETE" in os.environ
    ):  # shell completion (docs/configuration.md): typer's shell classes, only when asked
        from typer._completion_classes import completion_init

        completion_init()
    sys.exit(_run(lambda: app(args=argv, standalone_mode=False, prog_name="depaudit"), *_click_exceptions()))


def _exit_now(code: int) -> None:
    """End the process without the interpreter's teardown, which only frees the scan's objects one by
    one (measured: 12-20 ms of a 150 ms scan of a 2 MB lock). Everything the scan writes is complete
    by now (files are written whole and closed, stdout flushed after the report). Exit functions
    (`atexit`: logging's flush, profilers, coverage) still run and the streams are flushed once more:
    a reader that went away is no error (as in `_run`), another failure to flush gives exit 120, as
    the interpreter's own exit would. With a thread still running, the interpreter's exit joins it."""
    import atexit

    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)  # CPython's, the one its exit calls
    threading = sys.modules.get("threading")
    if run_exit_functions is None or (threading is not None and threading.active_count() > 1):
        sys.exit(code)
    run_exit_functions()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    except (OSError, ValueError):
        code = code or 120
    os._exit(code)


def _run(
    command: Callable[[], Any],
    exits: ExceptionTypes = (),
    click_errors: ExceptionTypes = (),
    aborts: ExceptionTypes = (),
) -> int:
    """Run a command, mapping what it raises to a message and an exit code (the same for the typer
    path, which passes click's exception classes, and the fast path). The verbosity a command set ends
    with it (main() may run several times in one process)."""
    from depaudit.cli.output import set_verbosity

    try:
        return _mapped(command, exits, click_errors, aborts)
    finally:
        set_verbosity(False, False)


def _mapped(
    command: Callable[[], Any], exits: ExceptionTypes, click_errors: ExceptionTypes, aborts: ExceptionTypes
) -> int:
    from depaudit.cli.output import error
    from depaudit.errors import EXIT_INPUT, EXIT_TOOL, EXIT_USAGE, DepauditError
    from depaudit.fileio import forget_reads

    forget_reads()  # `-o` may not name what this command reads (main() also runs in-process, in tests)
    try:
        from depaudit.cli.common import apply_machine_environment

        apply_machine_environment(os.environ)
        result = command()
    except exits as exc:  # typer.Exit and click's Exit carry the code
        return int(getattr(exc, "exit_code", 0))
    except click_errors as exc:  # click's ClickException: prints its own usage message
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        code = getattr(exc, "exit_code", 0)
        return int(code) if code else EXIT_USAGE
    except aborts:
        print("depaudit: aborted", file=sys.stderr)
        return 130
    except DepauditError as exc:
        error(str(exc))  # control characters from file names or file text escaped
        return exc.exit_code
    except (MemoryError, SystemError) as exc:
        # A last line of defence: readers and parsers turn MemoryError into an InputError naming the file
        # where they can. Out of memory, CPython can also fail inside C code (SystemError) mid-parse.
        what = "out of memory" if isinstance(exc, MemoryError) else "the interpreter failed (usually: out of memory)"
        error(f"{what}; an input is too large for this process's memory limit")
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("depaudit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # A last line of defence: readers and writers report their paths as DepauditErrors already.
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        return EXIT_INPUT if exc.filename else EXIT_TOOL
    return result if isinstance(result, int) else 0
