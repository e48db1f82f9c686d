"""Terminal helpers every command uses: output to stdout or a file, messages on stderr, rich consoles.
No typer here, so the scan fast path (`depaudit.cli._spec`) can use them without importing it."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def stderr_console():
    """A rich console on stderr for progress and messages (honours NO_COLOR)."""
    from rich.console import Console  # rich only when something is drawn

    return Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False)


def stdout_console():
    """A rich console on stdout (honours NO_COLOR)."""
    from rich.console import Console

    return Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False)


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    print(f"depaudit: warning: {message}", file=sys.stderr)


def info(message: str) -> None:
    """A line on stderr."""
    print(message, file=sys.stderr)


def write_output(text: str, output: str | None) -> None:
    """Write machine output to stdout (None or "-") or atomically to a file."""
    if output in (None, "-"):
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    target = Path(output)
    text = text if text.endswith("\n") else text + "\n"
    if target.exists() and not target.is_file():
        # A device, FIFO or /dev/fd/N: written in place, never replaced by a regular file.
        with target.open("w", encoding="utf-8") as handle:
            handle.write(text)
        return
    from depaudit.fileio import atomic_write_text

    atomic_write_text(target, text)


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
