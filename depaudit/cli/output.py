"""How the CLI talks to people and pipes: verbosity (`--quiet`/`--verbose`), messages on stderr, and
writing a rendered report (text or rich renderables) to stdout or `--output FILE`.

Tables never wrap unless a person is watching: on a terminal rich fits them to the window; piped (a CI
log) or written to a file they are printed at their natural width, without colour. Every message
printed here passes through `escape_control` (no terminal escapes from lock or file text), and
everything written here — messages, reports, files, the step summary — through `redact_userinfo` (no
credential from a URL reaches a log).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depaudit.errors import UsageError
from depaudit.fileio import append_text, was_read, write_text
from depaudit.render.escaping import escape_lines, escape_output, redact_userinfo
from depaudit.render.formats import HumanOutput, Rendered

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.measure import Measurement
    from rich.segment import Segment

QUIET, NORMAL, VERBOSE = -1, 0, 1
_state = {"verbosity": NORMAL}
# Wide enough that no real table or message wraps; rich tables still take their natural width.
UNWRAPPED_WIDTH = 100_000


def set_verbosity(quiet: bool, verbose: bool) -> None:
    """`--quiet`: only errors and the machine output; `--verbose`: also what is looked up and decided
    (the core's `depaudit.*` log records at INFO and DEBUG). Quiet wins when both are given."""
    level = QUIET if quiet else VERBOSE if verbose else NORMAL
    _state["verbosity"] = level
    if level != VERBOSE and "logging" not in sys.modules:
        return  # no handler of ours can exist yet, and the core's records go nowhere (depaudit.logs)
    from depaudit.cli.verbose_log import attach  # imports logging: ~3 ms that a run without -v skips

    attach(level == VERBOSE)


def verbosity() -> int:
    """QUIET, NORMAL or VERBOSE."""
    return _state["verbosity"]


def info(message: str) -> None:
    """A progress or status line on stderr (silent with --quiet)."""
    if verbosity() > QUIET:
        print(_shown(message), file=sys.stderr)


def _shown(message: str) -> str:
    """A message for a terminal or log: credentials in URLs redacted, control characters escaped."""
    return escape_lines(redact_userinfo(message))


def warn(message: str) -> None:
    """A one-line warning on stderr (silent with --quiet)."""
    if verbosity() > QUIET:
        print(f"depaudit: warning: {_shown(message)}", file=sys.stderr)


def error(message: str) -> None:
    """A one-line error on stderr, always shown (the CLI's error printer)."""
    print(f"depaudit: error: {_shown(message)}", file=sys.stderr)


def problem(message: str) -> None:
    """A line explaining a failing exit code (a budget exceeded), always shown."""
    print(f"depaudit: {_shown(message)}", file=sys.stderr)


def no_color() -> bool:
    """True when NO_COLOR is set (https://no-color.org)."""
    return bool(os.environ.get("NO_COLOR"))


def make_console(*, stderr: bool = False, file: StringIO | None = None) -> Console:
    """A rich console: fitted to the window on a terminal, unwrapped and colourless otherwise. Strings
    are shown as written: no console markup or emoji codes (a cell like `nvidia-cublas [nvidia]` or a
    package name from a lock is text, never a style tag)."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    terminal = file is None and stream.isatty()
    width = None if terminal else UNWRAPPED_WIDTH
    plain = no_color() or not terminal
    return Console(
        file=stream,
        width=width,
        no_color=plain or None,
        # NO_COLOR means no escape codes at all: rich's no_color keeps bold and dim, no colour system drops them
        color_system=None if plain else "auto",
        highlight=False,
        soft_wrap=not terminal,
        markup=False,
        emoji=False,
    )


def write_output(text: str, output: str | None) -> None:
    """Write machine output to stdout (None or "-") or to FILE through depaudit's one writer: a regular
    file is replaced atomically (through symlinks, mode and owner kept), a device, FIFO or `/dev/fd/N` is
    written in place and never replaced. Credentials in URLs are redacted and control and bidi characters
    escaped (lines and tabs kept). Raises OutputError (exit 3) naming the path, UsageError (exit 2) when
    FILE is an input of the command."""
    text = escape_output(redact_userinfo(text))  # JSON and SARIF escape by their grammar: a no-op there
    if output not in (None, "-"):
        refuse_output_over(output, ())
    if output in (None, "-"):
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    write_text(str(output), text if text.endswith("\n") else text + "\n")


def refuse_output_over(output: str | None, inputs: Iterable[Path | str | None]) -> None:
    """Refuse (UsageError, exit 2) an `--output` that names an input of the command: one of `inputs`,
    or any file the command has read (a lock, a pyproject.toml, a linted file, the size cache): the
    report must never replace what it reports on."""
    if output in (None, "-"):
        return
    target = os.path.realpath(output)
    if was_read(target) or any(os.path.realpath(p) == target for p in inputs if p is not None):
        raise UsageError(f"--output {output}: that file is an input of this command; write the report elsewhere")


class _Escaped:
    """A renderable printed with the control characters of its text escaped (newlines kept; styles and
    rich's own control codes untouched): a package or file name in a table cell or title cannot move
    the cursor, recolour or reorder a terminal or CI log."""

    def __init__(self, item: RenderableType) -> None:
        self.item = item

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        from rich.segment import Segment  # rich is loaded already: something is being printed

        for segment in console.render(self.item, options):
            shown = _shown(segment.text) if segment.control is None else segment.text
            yield segment if shown == segment.text else Segment(shown, segment.style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        return Measurement.get(console, options, self.item)


def plain_text(human: HumanOutput) -> str:
    """Rich renderables as plain, unwrapped text (for `--output FILE`)."""
    buffer = StringIO()
    console = make_console(file=buffer)
    for item in human.items:
        console.print(_Escaped(item))
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def emit(rendered: Rendered, output: str | None) -> None:
    """Print a rendered report: text as is; renderables on the console (or as plain text to a file)."""
    if isinstance(rendered, str):
        write_output(rendered, output)
        return
    if output not in (None, "-"):
        write_output(plain_text(rendered), output)
        return
    console = make_console()
    for item in rendered.items:
        console.print(_Escaped(item))


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY when set (GitHub's contract is append, never replace). Returns
    the path written, or None when the variable is not set."""
    env = os.environ if environ is None else environ
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    markdown = escape_output(redact_userinfo(markdown))
    append_text(path, markdown if markdown.endswith("\n") else markdown + "\n")  # never blocks on a FIFO
    return path


def progress_display(silent: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A progress callback for size look-ups and its closer: a rich bar on a terminal, one plain line
    otherwise, nothing when `silent` (offline or --quiet)."""
    if silent:
        return None, lambda: None
    if not sys.stderr.isatty():
        said: list[bool] = []

        def plain(done: int, total: int) -> None:
            if not said:
                info(f"depaudit: looking up {total} wheel sizes on the index")
                said.append(True)

        return plain, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("looking up wheel sizes"),
        BarColumn(),
        MofNCompleteColumn(),
        console=make_console(stderr=True),
        transient=True,
    )
    task: Any = None  # rich's TaskID, once the first size is looked up

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("sizes", total=total)
        bar.update(task, completed=done, total=total)

    return update, bar.stop
