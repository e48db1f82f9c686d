"""`depaudit scan`: what a lock installs per platform, how big it is, and why each package is there."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from depaudit.cli._app import app, info, parse_size_option, stderr_console, stdout_console, write_output


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class FailOn(str, Enum):
    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


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


@app.command()
def scan(
    lockfile: Annotated[Optional[Path], typer.Argument(help="uv.lock, pylock.toml, or a project folder (default: found from the current folder as uv finds it).", show_default=False)] = None,
    target: Annotated[Optional[list[str]], typer.Option("--target", "-t", help="A platform: linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (the default set) or a uv --python-platform name such as x86_64-unknown-linux-musl, aarch64-pc-windows-msvc (repeatable).")] = None,
    python: Annotated[Optional[str], typer.Option(help="CPython version, e.g. 3.12 or free-threaded 3.13t (default: lowest requires-python allows).")] = None,
    package: Annotated[Optional[list[str]], typer.Option("--package", help="Install this workspace member instead of the root project (repeatable), as uv sync --package.")] = None,
    all_packages: Annotated[bool, typer.Option("--all-packages", help="Install every workspace member, as uv sync --all-packages.")] = False,
    extra: Annotated[Optional[list[str]], typer.Option("--extra", help="Include an optional-dependency extra of the selected members (repeatable).")] = None,
    all_extras: Annotated[bool, typer.Option("--all-extras", help="Include every extra of the selected members.")] = False,
    group: Annotated[Optional[list[str]], typer.Option("--group", help="Include a dependency group (repeatable; default none: the production install).")] = None,
    all_groups: Annotated[bool, typer.Option("--all-groups", help="Include every dependency group.")] = False,
    dev: Annotated[bool, typer.Option("--dev", help="Include the `dev` dependency group.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Never touch the network; unknown sizes stay unknown.")] = False,
    installed: Annotated[bool, typer.Option("--installed", help="Installed size: the wheels' uncompressed contents, read from their zip central directories by HTTP ranges (what uv installs: no bytecode).")] = False,
    bytecode: Annotated[bool, typer.Option("--bytecode", help="Installed size plus an estimate of the .pyc files pip compiles at install time.")] = False,
    fmt: Annotated[ScanFormat, typer.Option("--format", "-f", help="Output format.")] = ScanFormat.table,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
    binary: Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows per target in the table.")] = 15,
    show_all: Annotated[bool, typer.Option("--all", help="Show every package.")] = False,
    max_download: Annotated[Optional[str], typer.Option("--max-download", help="Budget per target, e.g. 500MB; exit 1 above it.")] = None,
    max_accelerator: Annotated[Optional[str], typer.Option("--max-accelerator", help="Accelerator budget per target; 0 forbids accelerator wheels.")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", help="Exit 1 on findings at or above this severity.")] = FailOn.never,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Size cache folder (default: user cache).")] = None,
    glibc: Annotated[Optional[str], typer.Option("--glibc", help="glibc of Linux targets (default 2.28).")] = None,
    macos: Annotated[Optional[str], typer.Option("--macos", help="macOS version of macos-arm64 (default 14.0).")] = None,
) -> int:
    """Exact per-platform download size of what a lock installs, its accelerator wheels, and why each is there."""
    from depaudit import settings
    from depaudit.budgets import check_budgets
    from depaudit.model import Selection
    from depaudit.scan import scan_lock

    location = _locate(lockfile)
    lockfile = location.path
    pyproject = settings.find_pyproject(lockfile) if lockfile.exists() else None
    conf = settings.resolve({"targets": target, "python": python, "max-download": max_download,
                             "max-accelerator": max_accelerator, "cache-dir": str(cache_dir) if cache_dir else None,
                             "offline": True if offline else None}, pyproject)
    targets = conf["targets"]
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    limit_download = parse_size_option(_str(conf["max-download"]), "--max-download")
    limit_accel = parse_size_option(_str(conf["max-accelerator"]), "--max-accelerator")
    groups = list(group or []) + (["dev"] if dev else [])
    members = tuple(package or ()) or ((location.member,) if location.member and not all_packages else ())
    selection = Selection(extras=tuple(extra or ()), all_extras=all_extras, groups=tuple(groups),
                          packages=members, all_packages=all_packages, all_groups=all_groups)
    offline = offline or str(conf["offline"]).lower() in ("1", "true", "yes")
    kwargs = {} if conf["cache-dir"] is None else {"cache_dir": Path(conf["cache-dir"])}
    from depaudit.sources.uvlock import load_lock

    lock = load_lock(lockfile)
    progress, stop = (None, lambda: None) if offline else _progress()
    try:
        report = scan_lock(lock, targets=targets or None, python=_str(conf["python"]), selection=selection,
                           offline=offline, installed=installed, progress=progress, glibc=glibc, macos=macos,
                           bytecode=bytecode, **kwargs)
    finally:
        stop()
    report = _with_findings(report, lock, pyproject)
    _emit(report, fmt, output, binary, None if show_all else top)
    breaches = check_budgets(report, max_download=limit_download, max_accelerator=limit_accel)
    for breach in breaches:
        print(f"depaudit: budget exceeded: {breach.message(binary)}", file=sys.stderr)
    unknown = sum(len(t.unknown_size) for t in report.targets)
    if unknown and fmt is not ScanFormat.table:
        info(f"depaudit: {unknown} wheel sizes unknown{' (offline)' if offline else ''}; totals are lower bounds")
    failing = fail_on is not FailOn.never and _has_findings_at(report, fail_on.value)
    return 1 if breaches or failing else 0


def _locate(lockfile: Path | None):
    """The lock to scan: the file given, else the one uv uses for the folder given (or the current one)."""
    from depaudit.sources.workspace import LockLocation, find_lock

    if lockfile is not None and not lockfile.is_dir():
        return LockLocation(lockfile)
    return find_lock(lockfile if lockfile is not None else Path.cwd())


def _str(value) -> str | None:
    return None if value is None else str(value)


def _with_findings(report, lock, pyproject: Path | None):
    """Attach the DA1xx lock findings."""
    from dataclasses import replace

    from depaudit.rules.base import LockSubject
    from depaudit.rules.lockcheck import lock_findings

    findings = lock_findings(LockSubject(lock, report, pyproject))
    return replace(report, findings=tuple(findings))


def _has_findings_at(report, threshold: str) -> bool:
    from depaudit.rules.base import at_or_above

    return any(True for _ in at_or_above(report.findings, threshold))


def _emit(report, fmt: ScanFormat, output: str | None, binary: bool, top: int | None) -> None:
    if fmt is ScanFormat.json:
        from depaudit.render.json import render_json

        to_terminal = output in (None, "-") and sys.stdout.isatty()
        write_output(render_json(report, indent=2 if to_terminal else None), output)
    elif fmt is ScanFormat.markdown:
        from depaudit.render.markdown import render_markdown

        write_output(render_markdown(report, binary=binary, top=top), output)
    else:
        from depaudit.render.table import report_renderables

        if output not in (None, "-"):
            from io import StringIO

            from rich.console import Console

            buffer = StringIO()
            console = Console(file=buffer, width=160, no_color=True)
        else:
            console = stdout_console()
        for item in report_renderables(report, binary=binary, top=top):
            console.print(item)
        for finding in report.findings:
            where = f"{finding.path}:{finding.line}" if finding.line else finding.path
            console.print(f"{where}: {finding.rule} [{finding.severity}] {finding.message}", markup=False)
        if output not in (None, "-"):
            write_output(buffer.getvalue(), output)
