"""Error types. Each carries the exit code the CLI maps it to; `EXIT_CODES` below says what each code means."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_TOOL = 4
EXIT_REFUSED = 5

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ran; no finding at or above --fail-on, every budget within its limit",
    EXIT_FINDINGS: "findings at or above --fail-on, or a budget exceeded or not verifiable",
    EXIT_USAGE: "usage error (bad option, unknown target or rule ID)",
    EXIT_INPUT: "input unreadable or invalid (message: path:line: what), or an output cannot be written",
    EXIT_TOOL: "an external tool or service failed (docker, uv, the index), or a file changed during a fix",
    EXIT_REFUSED: "a fix was refused as unsafe; nothing was written",
}
"""Every exit code the CLI uses and what it means: the one list; tests/test_docs.py checks the README's
exit-code table against it."""


class DepauditError(Exception):
    """Base of every error the CLI reports as a one-line message instead of a traceback."""

    exit_code = EXIT_TOOL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(DepauditError):
    """An input file is unreadable or invalid. The message starts with `path[:line[:col]]: `."""

    exit_code = EXIT_INPUT

    def __init__(self, path: object, what: str, line: int | None = None, column: int | None = None):
        where = str(path)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {what}")
        self.path = str(path)
        self.line = line
        self.column = column
        self.what = what


class OutputError(DepauditError):
    """An output file cannot be written (`-o`, a fix edit, a report). The message is `path: what`;
    exit 3, like an unreadable input: both are a file the user named that depaudit cannot use."""

    exit_code = EXIT_INPUT

    def __init__(self, path: object, what: str) -> None:
        super().__init__(f"{path}: {what}")
        self.path = str(path)
        self.what = what


class UsageError(DepauditError):
    """The command line asks for something that cannot be done (bad option value, unknown target)."""

    exit_code = EXIT_USAGE


class FixError(DepauditError):
    """A fix cannot be applied safely; nothing was written."""

    exit_code = EXIT_INPUT


class FixRefused(DepauditError):
    """A fix was refused because applying it could do harm (the project asks for CUDA on purpose, a
    layout the editor cannot handle, conflicting pins); nothing was written."""

    exit_code = EXIT_REFUSED


class ToolError(DepauditError):
    """An external tool (docker, uv) or service failed; carries the command and its stderr."""

    exit_code = EXIT_TOOL

    def __init__(self, command: list[str] | str, stderr: str = "", what: str | None = None):
        cmd = command if isinstance(command, str) else " ".join(command)
        tail = stderr.strip().splitlines()[-5:] if stderr else []
        message = what or f"command failed: {cmd}"
        if tail:
            message += "\n  " + "\n  ".join(tail)
        super().__init__(message)
        self.command = command
        self.stderr = stderr


class ChangedOnDisk(DepauditError):
    """A file depaudit was about to replace changed on disk while it worked (someone else's edit, or
    another depaudit run): nothing of it was overwritten. Exit 4, like a failed external step."""

    exit_code = EXIT_TOOL


def first_line(exc: BaseException) -> str:
    """An exception's message as one line: packaging's errors add the text and a caret under the error
    on lines of their own, which would break depaudit's one-line `path:line: what` messages."""
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


EXCERPT_CHARS = 40


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """Input text as an error message quotes it: at most `limit` characters, cut with `…`, as a Python
    literal (control and bidi characters escaped by repr). An error names a bad line, it never prints
    it: a file may be a link to an environment dump, a key or a token that the error would otherwise
    show in a CI log."""
    value = str(text)
    if len(value) > limit:
        return repr(value[:limit]) + "…"
    return repr(value)
