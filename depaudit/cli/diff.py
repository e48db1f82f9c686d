"""`depaudit diff BASE HEAD`: how many bytes a change to the lock adds or removes, per platform."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from depaudit.cli._app import app, info, parse_size_option, stdout_console, warn, write_output

if TYPE_CHECKING:  # imported where used: a command module's imports are paid by every `depaudit` run
    from depaudit.analysis.lockdiff import LockDiff
    from depaudit.model import SizeReport


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command()
def diff(
    base: Annotated[str, typer.Argument(help="The lock before: a path, or REV:path from git (origin/main:uv.lock).")],
    head: Annotated[str, typer.Argument(help="The lock after: a path or REV:path (default: uv.lock).")] = "uv.lock",
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target", "-t", help="linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (repeatable; default all)."
        ),
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="Python version for both sides (default: the higher of the two locks' lowest).")
    ] = None,
    extra: Annotated[
        list[str] | None, typer.Option("--extra", help="Include an optional-dependency extra (repeatable).")
    ] = None,
    all_extras: Annotated[bool, typer.Option("--all-extras", help="Include every extra.")] = False,
    group: Annotated[list[str] | None, typer.Option("--group", help="Include a dependency group (repeatable).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Include the `dev` dependency group.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Never touch the network; unknown sizes stay unknown.")
    ] = False,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Size cache folder (default: user cache).")
    ] = None,
    glibc: Annotated[str | None, typer.Option("--glibc", help="glibc of Linux targets (default 2.28).")] = None,
    macos: Annotated[str | None, typer.Option("--macos", help="macOS version of macos-arm64 (default 14.0).")] = None,
    max_increase: Annotated[
        str | None,
        typer.Option("--max-increase", help="Exit 1 when any target's download grows by more than SIZE (e.g. 50MB)."),
    ] = None,
    fail_on_new_accelerator: Annotated[
        bool,
        typer.Option(
            "--fail-on-new-accelerator", help="Exit 1 when HEAD installs an accelerator package BASE did not."
        ),
    ] = False,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Output format (markdown is the pull-request comment).")
    ] = DiffFormat.table,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
    binary: Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")] = False,
    top: Annotated[int, typer.Option("--top", help="Package changes shown per target.")] = 20,
    show_all: Annotated[bool, typer.Option("--all", help="Show every package change.")] = False,
) -> int:
    """Per-target download before, after and change between two locks, and the packages added, removed and changed."""
    from depaudit.diff import diff_locks
    from depaudit.model import Selection

    conf = _settings(
        head,
        {
            "targets": target,
            "python": python,
            "offline": True if offline else None,
            "cache-dir": str(cache_dir) if cache_dir else None,
            "max-increase": max_increase,
        },
    )
    limit = parse_size_option(_text(conf["max-increase"]), "--max-increase")
    offline = str(conf["offline"]).lower() in ("1", "true", "yes")
    groups = tuple(group or ()) + (("dev",) if dev else ())
    selection = Selection(extras=tuple(extra or ()), all_extras=all_extras, groups=groups)
    options = {} if conf["cache-dir"] is None else {"cache_dir": Path(conf["cache-dir"])}
    result = diff_locks(
        base,
        head,
        targets=_targets(conf["targets"]),
        python=_text(conf["python"]),
        selection=selection,
        offline=offline,
        progress=None if offline else _announce(),
        glibc=glibc,
        macos=macos,
        **options,
    )
    emit_diff(result, fmt.value, output, binary, None if show_all else top)
    return report_budgets(result, limit, fail_on_new_accelerator)


def emit_diff(result: LockDiff, fmt: str, output: str | None, binary: bool, top: int | None) -> None:
    """Write a LockDiff as `fmt` (table, json or markdown) to stdout or `output`."""
    if fmt == "json":
        from depaudit.render.diff import render_diff_json

        write_output(
            render_diff_json(result, indent=2 if output in (None, "-") and sys.stdout.isatty() else None), output
        )
    elif fmt == "markdown":
        from depaudit.render.diff import render_diff_markdown

        write_output(render_diff_markdown(result, binary=binary, top=top), output)
    else:
        from io import StringIO

        from rich.console import Console

        from depaudit.render.diff import diff_renderables

        to_file = output not in (None, "-")
        buffer = StringIO()
        # Piped or written to a file: wide, plain columns, so CI logs do not wrap tables at 80 columns.
        console = (
            Console(file=buffer, width=200, no_color=True) if to_file or not sys.stdout.isatty() else stdout_console()
        )
        for item in diff_renderables(result, binary=binary, top=top):
            console.print(item)
        if console.file is buffer:
            write_output(buffer.getvalue(), output)


def report_budgets(result: LockDiff, max_increase: int | None, fail_on_new_accelerator: bool) -> int:
    """Print each breach on stderr; 1 when any budget is exceeded or cannot be verified, else 0."""
    from depaudit.analysis.lockdiff import check_diff_budgets

    breaches = check_diff_budgets(result, max_increase=max_increase, fail_on_new_accelerator=fail_on_new_accelerator)
    for breach in breaches:
        print(f"depaudit: budget exceeded: {breach.message}", file=sys.stderr)
    inexact = [t.target for t in result.targets if not t.exact]
    if inexact:
        warn(f"sizes unknown on {', '.join(inexact)}: the change there leaves those packages out")
    return 1 if breaches else 0


def _settings(head: str, cli: dict[str, Any]) -> dict[str, Any]:
    """Resolve settings with `[tool.depaudit]` from the pyproject beside HEAD (a path), or in the
    current folder when HEAD is read from git."""
    from depaudit import settings
    from depaudit.sources.gitrev import split_rev_spec

    start = Path(head) if split_rev_spec(head) is None and Path(head).exists() else Path.cwd()
    return settings.resolve(cli, settings.find_pyproject(start))


def _targets(value: Any) -> list[str] | None:
    """Targets from the command line, [tool.depaudit] (a list) or DEPAUDIT_TARGETS (comma-separated)."""
    if isinstance(value, str):
        value = [t.strip() for t in value.split(",") if t.strip()]
    return list(value) if value else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _announce() -> Callable[[int, int], None]:
    """A progress callback that says once, on stderr, that sizes are being looked up."""
    said: list[bool] = []

    def progress(done: int, total: int) -> None:
        if not said:
            info(f"depaudit: looking up {total} wheel sizes on the index")
            said.append(True)

    return progress


def emit_baseline(
    report: SizeReport,
    lockfile: Path,
    rev: str,
    fmt: str,
    output: str | None,
    binary: bool,
    top: int | None,
    **scan_options: Any,
) -> None:
    """`scan --baseline REV`: diff the lock as it was at REV (same folder, read from git) against the
    scan just made, and write that diff instead of the scan report."""
    from depaudit.diff import diff_against_base

    folder = lockfile.resolve().parent
    result = diff_against_base(report, f"{rev}:./{lockfile.name}", cwd=folder, **scan_options)
    emit_diff(result, fmt, output, binary, top)
