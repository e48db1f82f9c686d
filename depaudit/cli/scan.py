"""`depaudit scan`: what a lock installs per platform, how big it is, and why each package is there."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from depaudit.cli._app import app, info, stderr_console
from depaudit.cli import options as opt
from depaudit.cli.output import emit, problem
from depaudit.render.formats import OutputFormat

EXIT_CODES_HELP = ("Exit codes: 0 ran, no budget exceeded and no finding at or above --fail-on; 1 a budget "
                   "exceeded or not verifiable (a size unknown), or findings at or above --fail-on; 2 usage "
                   "error; 3 lock or pyproject unreadable or invalid; 4 the index failed.")


def _progress():
    """A progress callback and a closer: a rich bar on a terminal, a plain line otherwise."""
    if not sys.stderr.isatty():
        state = {"announced": False}

        def plain(done: int, total: int) -> None:
            if not state["announced"]:
                info(f"depaudit: looking up {total} wheel sizes on the index")
                state["announced"] = True

        return plain, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("looking up wheel sizes"), BarColumn(), MofNCompleteColumn(),
                   console=stderr_console(), transient=True)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("sizes", total=total)
        bar.update(task, completed=done, total=total)

    return update, bar.stop


@app.command(epilog=EXIT_CODES_HELP)
def scan(
    lockfile: Annotated[Path, typer.Argument(help="uv.lock or pylock.toml to scan.")] = Path("uv.lock"),
    target: Annotated[Optional[list[str]], typer.Option("--target", "-t", help="linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (repeatable; default all).")] = None,
    python: Annotated[Optional[str], typer.Option(help="Python version (default: lowest requires-python allows).")] = None,
    extra: Annotated[Optional[list[str]], typer.Option("--extra", help="Include an optional-dependency extra (repeatable).")] = None,
    all_extras: Annotated[bool, typer.Option("--all-extras", help="Include every extra.")] = False,
    group: Annotated[Optional[list[str]], typer.Option("--group", help="Include a dependency group (repeatable).")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Include the `dev` dependency group.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Never touch the network; unknown sizes stay unknown.")] = False,
    installed: Annotated[bool, typer.Option("--installed", help="Unpacked size (zip central directory via HTTP ranges).")] = False,
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    binary: Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows per target in the table.")] = 15,
    show_all: Annotated[bool, typer.Option("--all", help="Show every package.")] = False,
    max_download: Annotated[Optional[list[str]], typer.Option("--max-download", help="Budget for every target (500MB) or one (linux-aarch64=3GB); exit 1 above it.")] = None,
    max_accelerator: Annotated[Optional[list[str]], typer.Option("--max-accelerator", help="Accelerator budget, every target or TARGET=SIZE; 0 forbids accelerator wheels.")] = None,
    fail_on: Annotated[opt.FailOn, typer.Option("--fail-on", help="Exit 1 on findings at or above this severity.")] = opt.FailOn.never,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Size cache folder (default: user cache).")] = None,
    glibc: Annotated[Optional[str], typer.Option("--glibc", help="glibc of Linux targets (default 2.28).")] = None,
    macos: Annotated[Optional[str], typer.Option("--macos", help="macOS version of macos-arm64 (default 14.0).")] = None,
    select: opt.SelectOption = None,
    ignore: opt.IgnoreOption = None,
    docs_url: opt.DocsUrlOption = None,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
    allow_host: opt.AllowHostOption = None,
    baseline: Annotated[Optional[str], typer.Option("--baseline", metavar="REV", help="Show the change from the lock at git revision REV instead (as `depaudit diff REV:LOCK LOCK`).")] = None,
) -> int:
    """Exact per-platform download size of what a lock installs, its accelerator wheels, and why each is there."""
    from depaudit import settings
    from depaudit.budgets import check_report, load_lock_limits
    from depaudit.model import Selection
    from depaudit.rules.config import rule_config
    from depaudit.scan import scan_lock

    opt.begin(fmt, quiet, verbose)
    pyproject = settings.find_pyproject(lockfile) if lockfile.exists() else None
    conf = settings.resolve({"targets": target, "python": python, "cache-dir": str(cache_dir) if cache_dir else None,
                             "offline": True if offline else None}, pyproject)
    targets = conf["targets"]
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    limits = load_lock_limits({"max-download": max_download, "max-accelerator": max_accelerator},
                              settings.SettingSources.load(pyproject))
    rules = rule_config("scan", select or (), ignore or (), pyproject)
    groups = list(group or []) + (["dev"] if dev else [])
    selection = Selection(extras=tuple(extra or ()), all_extras=all_extras, groups=tuple(groups))
    offline = offline or settings.truthy(conf["offline"])
    kwargs = {} if conf["cache-dir"] is None else {"cache_dir": Path(conf["cache-dir"])}
    from depaudit.sources.uvlock import load_lock

    lock = load_lock(lockfile)
    progress, stop = (None, lambda: None) if offline or quiet else _progress()
    try:
        report = scan_lock(lock, targets=targets or None, python=_str(conf["python"]), selection=selection,
                           offline=offline, installed=installed, progress=progress, glibc=glibc, macos=macos,
                           allow_hosts=opt.allow_hosts(allow_host, pyproject), **kwargs)
    finally:
        stop()
    report = _with_findings(report, lock, pyproject, rules.select, rules.ignore)
    breaches = [c for c in check_report(report, limits) if not c.passed]
    render_options = opt.render_options(pyproject, docs_url, binary=binary, top=None if show_all else top,
                                        indent=2 if _to_terminal(output) else None)
    if baseline is not None:  # the diff against the lock at REV instead of the scan report
        from depaudit.cli.diff import emit_baseline

        emit_baseline(report, lockfile, baseline, fmt.format, output, render_options,
                      selection=selection, offline=offline, glibc=glibc, macos=macos, **kwargs)
    else:
        _emit(report, breaches, fmt.format, output, render_options, rules)
    for breach in breaches:
        what = "budget not verifiable" if breach.verdict == "unknown" else "budget exceeded"
        problem(f"{what}: {breach.message(binary)}")
    unknown = sum(len(t.unknown_size) for t in report.targets)
    if unknown and fmt.format is not OutputFormat.table:
        info(f"depaudit: {unknown} wheel sizes unknown{' (offline)' if offline else ''}; totals are lower bounds")
    failing = fail_on is not opt.FailOn.never and _has_findings_at(report, fail_on.value)
    return 1 if breaches or failing else 0


def _to_terminal(output: str | None) -> bool:
    return output in (None, "-") and sys.stdout.isatty()


def _str(value) -> str | None:
    return None if value is None else str(value)


def _with_findings(report, lock, pyproject: Path | None, select=(), ignore=()):
    """Attach the DA1xx lock findings (and DA2xx of the pyproject beside the lock)."""
    from dataclasses import replace

    from depaudit.rules.lockcheck import lock_findings
    from depaudit.rules.subjects import LockSubject

    findings = lock_findings(LockSubject(lock, report, pyproject), select, ignore)
    return replace(report, findings=tuple(findings))


def _has_findings_at(report, threshold: str) -> bool:
    from depaudit.rules.base import at_or_above

    return any(True for _ in at_or_above(report.findings, threshold))


def _emit(report, breaches, fmt: OutputFormat, output: str | None, options, rules) -> None:
    """Render through the one renderer table; budget findings (DA5xx) join the lock findings."""
    from depaudit.render.formats import render
    from depaudit.render.scan import SCAN_RENDERERS, ScanOutput
    from depaudit.rules.base import describe
    from depaudit.rules.budgetcheck import budget_findings
    from depaudit.rules.engine import RuleSelection

    chosen = RuleSelection(rules.select, rules.ignore)
    found = tuple(budget_findings(breaches, rules.select, rules.ignore, binary=options.binary))
    docs = tuple(d for family in ("DA1", "DA2", "DA5") for d in describe(family) if chosen.wants(d.id))
    emit(render(SCAN_RENDERERS, fmt, ScanOutput(report, found, docs), options), output)
