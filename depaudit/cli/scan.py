"""`depaudit scan`: what a lock installs per platform, how big it is, and why each package is there.

This module does not import typer: `depaudit scan` reads its command line with `_spec.parse_fast` when
it can (see there) and registers with typer, from the same `PARAMS`, for everything else.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

from depaudit.cli._io import info, parse_size_option, stderr_console, stdout_console, write_output
from depaudit.cli._spec import Param
from depaudit.model import Selection


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class FailOn(str, Enum):
    never = "never"
    info = "info"
    warning = "warning"
    error = "error"


PARAMS: tuple[Param, ...] = (
    Param("lockfile", (), Path, None, "uv.lock, pylock.toml, or a project folder (default: found from the current folder as uv finds it)."),
    Param("target", ("--target", "-t"), str, None, "A platform: linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (the default set) or a uv --python-platform name such as x86_64-unknown-linux-musl, aarch64-pc-windows-msvc (repeatable).", multiple=True),
    Param("python", ("--python",), str, None, "CPython version, e.g. 3.12 or free-threaded 3.13t (default: lowest requires-python allows)."),
    Param("package", ("--package",), str, None, "Install this workspace member instead of the root project (repeatable), as uv sync --package.", multiple=True),
    Param("all_packages", ("--all-packages",), bool, False, "Install every workspace member, as uv sync --all-packages."),
    Param("extra", ("--extra",), str, None, "Include an optional-dependency extra of the selected members (repeatable).", multiple=True),
    Param("all_extras", ("--all-extras",), bool, False, "Include every extra of the selected members."),
    Param("group", ("--group",), str, None, "Include a dependency group (repeatable; default none: the production install).", multiple=True),
    Param("all_groups", ("--all-groups",), bool, False, "Include every dependency group."),
    Param("dev", ("--dev",), bool, False, "Include the `dev` dependency group."),
    Param("offline", ("--offline",), bool, False, "Never touch the network; unknown sizes stay unknown."),
    Param("installed", ("--installed",), bool, False, "Installed size: the wheels' uncompressed contents, read from their zip central directories by HTTP ranges (what uv installs: no bytecode)."),
    Param("bytecode", ("--bytecode",), bool, False, "Installed size plus an estimate of the .pyc files pip compiles at install time."),
    Param("fmt", ("--format", "-f"), ScanFormat, ScanFormat.table, "Output format."),
    Param("output", ("--output", "-o"), str, None, "Write to FILE ('-' for stdout)."),
    Param("binary", ("--binary",), bool, False, "Show MiB/GiB instead of MB/GB."),
    Param("top", ("--top",), int, 15, "Rows per target in the table."),
    Param("show_all", ("--all",), bool, False, "Show every package."),
    Param("max_download", ("--max-download",), str, None, "Budget per target, e.g. 500MB; exit 1 above it."),
    Param("max_accelerator", ("--max-accelerator",), str, None, "Accelerator budget per target; 0 forbids accelerator wheels."),
    Param("fail_on", ("--fail-on",), FailOn, FailOn.never, "Exit 1 on findings at or above this severity."),
    Param("cache_dir", ("--cache-dir",), Path, None, "Size cache folder (default: user cache)."),
    Param("glibc", ("--glibc",), str, None, "glibc of Linux targets whose name fixes none (default 2.28, as uv)."),
    Param("macos", ("--macos",), str, None, "macOS version of the apple-darwin targets (default 13.0, as uv)."),
)


def register(app) -> None:
    """Add `scan` to the typer app (the path for --help, errors and unusual command lines)."""
    from depaudit.cli._spec import register as add

    add(app, "scan", PARAMS, scan)


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


def scan(lockfile: Path | None, target: list[str] | None, python: str | None, package: list[str] | None,
         all_packages: bool, extra: list[str] | None, all_extras: bool, group: list[str] | None,
         all_groups: bool, dev: bool, offline: bool, installed: bool, bytecode: bool, fmt: ScanFormat,
         output: str | None, binary: bool, top: int, show_all: bool, max_download: str | None,
         max_accelerator: str | None, fail_on: FailOn, cache_dir: Path | None, glibc: str | None,
         macos: str | None) -> int:
    """Exact per-platform download size of what a lock installs, its accelerator wheels, and why each is there."""
    from depaudit.settings import find_pyproject
    from depaudit.sources.uvlock import load_lock

    location = _locate(lockfile)
    pyproject = find_pyproject(location.path) if location.path.exists() else None
    conf = _settings(pyproject, target, python, max_download, max_accelerator, cache_dir, offline)
    members = tuple(package or ()) or ((location.member,) if location.member and not all_packages else ())
    selection = Selection(extras=tuple(extra or ()), all_extras=all_extras,
                          groups=tuple(group or ()) + (("dev",) if dev else ()),
                          packages=members, all_packages=all_packages, all_groups=all_groups)
    lock = load_lock(location.path)
    report = _measure(lock, conf, selection, installed=installed, bytecode=bytecode, glibc=glibc, macos=macos)
    report = _with_findings(report, lock, pyproject)
    _emit(report, fmt, output, binary, None if show_all else top)
    return _verdict(report, conf, fmt, fail_on, binary)


def _settings(pyproject: Path | None, target, python, max_download, max_accelerator, cache_dir, offline) -> dict:
    """Options merged with [tool.depaudit] and DEPAUDIT_* (settings precedence), converted."""
    from depaudit import settings

    conf = settings.resolve({"targets": target, "python": python, "max-download": max_download,
                             "max-accelerator": max_accelerator, "cache-dir": str(cache_dir) if cache_dir else None,
                             "offline": True if offline else None}, pyproject)
    targets = conf["targets"]
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    return {
        "targets": targets or None, "python": _str(conf["python"]),
        "max_download": parse_size_option(_str(conf["max-download"]), "--max-download"),
        "max_accelerator": parse_size_option(_str(conf["max-accelerator"]), "--max-accelerator"),
        "offline": offline or str(conf["offline"]).lower() in ("1", "true", "yes"),
        "cache": {} if conf["cache-dir"] is None else {"cache_dir": Path(conf["cache-dir"])},
    }


def _measure(lock, conf: dict, selection, **options):
    """scan_lock with the resolved settings and a progress display while sizes are looked up."""
    from depaudit.scan import scan_lock

    progress, stop = (None, lambda: None) if conf["offline"] else _progress()
    try:
        return scan_lock(lock, targets=conf["targets"], python=conf["python"], selection=selection,
                         offline=conf["offline"], progress=progress, **options, **conf["cache"])
    finally:
        stop()


def _verdict(report, conf: dict, fmt: ScanFormat, fail_on: FailOn, binary: bool) -> int:
    """Budget breaches and unknown sizes on stderr; the exit code (1 on a breach or findings at --fail-on)."""
    from depaudit.budgets import check_budgets

    breaches = check_budgets(report, max_download=conf["max_download"], max_accelerator=conf["max_accelerator"])
    for breach in breaches:
        print(f"depaudit: budget exceeded: {breach.message(binary)}", file=sys.stderr)
    unknown = sum(len(t.unknown_size) for t in report.targets)
    if unknown and fmt is not ScanFormat.table:
        info(f"depaudit: {unknown} wheel sizes unknown{' (offline)' if conf['offline'] else ''}; totals are lower bounds")
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
