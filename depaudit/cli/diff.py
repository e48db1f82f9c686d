"""`depaudit diff BASE HEAD`: how many bytes a change to the lock adds or removes, per platform."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from depaudit import settings
from depaudit.analysis.lockdiff import LockDiff, check_diff_budgets
from depaudit.cli import options as opt
from depaudit.cli.app import app, parse_size_option
from depaudit.cli.output import emit, info, problem, warn
from depaudit.diff import diff_against_base, diff_locks
from depaudit.model import Selection, SizeReport
from depaudit.render.diff import DIFF_RENDERERS
from depaudit.render.formats import OutputFormat, RenderOptions, check_supported, render
from depaudit.sources.gitrev import split_rev_spec

EXIT_CODES_HELP = (
    "Exit codes: 0 ran, within budget; 1 --max-increase exceeded or not verifiable (a size the head adds is "
    "unknown), or a new accelerator package with --fail-on-new-accelerator; 2 usage error; 3 a lock, revision "
    "or path unreadable or invalid; 4 git or the index failed."
)


@app.command(epilog=EXIT_CODES_HELP)
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
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    binary: opt.BinaryOption = False,
    top: Annotated[int, typer.Option("--top", help="Package changes shown per target.")] = 20,
    show_all: Annotated[bool, typer.Option("--all", help="Show every package change.")] = False,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
    allow_host: opt.AllowHostOption = None,
    lookup_deadline: opt.LookupDeadlineOption = None,
) -> int:
    """Per-target download before, after and change between two locks, and the packages added, removed and changed."""
    opt.begin(fmt, quiet, verbose)
    check_supported(DIFF_RENDERERS, fmt.format)  # refuse sarif/gnu before any work
    cli = {
        "targets": target,
        "python": python,
        "offline": True if offline else None,
        "cache-dir": str(cache_dir) if cache_dir else None,
        "max-increase": max_increase,
    }
    pyproject = settings.find_pyproject(_settings_start(head))
    conf = settings.resolve(cli, pyproject)
    limit = parse_size_option(_text(conf["max-increase"]), "--max-increase")
    offline = settings.truthy(conf["offline"])
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
        progress=None if offline or quiet else _announce(),
        glibc=glibc,
        macos=macos,
        allow_hosts=opt.allow_hosts(allow_host, pyproject),
        verify_sizes=True,  # online: both locks' sizes checked against the index (offline: nothing to check)
        **options,
        **opt.lookup_options(lookup_deadline),
    )
    indent = 2 if output in (None, "-") and _stdout_is_terminal() else None
    rendering = RenderOptions(binary=binary, top=None if show_all else top, indent=indent)
    emit(render(DIFF_RENDERERS, fmt.format, result, rendering), output)
    return report_budgets(result, limit, fail_on_new_accelerator)


def report_budgets(result: LockDiff, max_increase: int | None, fail_on_new_accelerator: bool) -> int:
    """Print each breach on stderr; 1 when any budget is exceeded or cannot be verified, else 0."""
    breaches = check_diff_budgets(result, max_increase=max_increase, fail_on_new_accelerator=fail_on_new_accelerator)
    for breach in breaches:
        what = "budget not verifiable" if breach.what == "unverified" else "budget exceeded"
        problem(f"{what}: {breach.message}")
    inexact = [t.target for t in result.targets if not t.exact]
    if inexact:
        warn(f"sizes unknown on {', '.join(inexact)}: the change there leaves those packages out")
    for line in result.lock_sizes_differ:
        problem(f"DA105 {line} (the change is measured with the index's numbers)")
    if not result.sizes_checked:
        info("depaudit: wheel sizes taken from the locks as written, not checked against the index (offline)")
    return 1 if breaches or result.lock_sizes_differ else 0


def _settings_start(head: str) -> Path:
    """Where `[tool.depaudit]` is looked for: beside HEAD when it is a file, else the current folder."""
    return Path(head) if split_rev_spec(head) is None and Path(head).exists() else Path.cwd()


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


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
    fmt: OutputFormat,
    output: str | None,
    rendering: RenderOptions,
    **scan_options: Any,
) -> None:
    """`scan --baseline REV`: diff the lock as it was at REV (same folder, read from git) against the
    scan just made, and write that diff instead of the scan report (table, JSON or markdown)."""
    result = diff_against_base(report, f"{rev}:./{lockfile.name}", cwd=lockfile.resolve().parent, **scan_options)
    emit(render(DIFF_RENDERERS, fmt, result, rendering), output)
