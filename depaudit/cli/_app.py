"""The typer application shared by every command module, and the helpers commands use to talk to the
terminal. Only this package prints or exits; the core below it returns data or raises DepauditError."""

from __future__ import annotations

import os
import sys

import typer

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


def stderr_console():
    """A rich console on stderr for progress and messages (honours NO_COLOR)."""
    from rich.console import Console

    return Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False)


def stdout_console():
    from rich.console import Console

    return Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False)


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    print(f"depaudit: warning: {message}", file=sys.stderr)


def info(message: str) -> None:
    print(message, file=sys.stderr)


def write_output(text: str, output: str | None) -> None:
    """Write machine output to stdout (None or "-") or to FILE through depaudit's one writer: a regular
    file is replaced atomically, a device, FIFO or `/dev/fd/N` is written in place (never replaced).
    Raises OutputError (exit 3) naming the path."""
    text = text if not text or text.endswith("\n") else text + "\n"
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from depaudit.fileio import write_text

    write_text(output, text)


ALLOW_HOST_HELP = ("Let size look-ups reach HOST even when it is not one of the lock's registries or resolves "
                   "to a loopback/private/link-local address (repeatable; also allow-hosts in [tool.depaudit], "
                   "DEPAUDIT_ALLOW_HOSTS).")


def parse_size_option(value: str | None, option: str) -> int | None:
    """Parse a size option (`3GB`, `500MiB`, `0`) into bytes, or raise UsageError naming the option."""
    if value is None:
        return None
    from depaudit.errors import UsageError
    from depaudit.units import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
