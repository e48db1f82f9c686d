"""`depaudit scan`: what a lock installs per platform, how big it is, and why each package is there.

This module does not import typer: `depaudit scan` reads its command line with `params.parse_fast` when
it can (see there) and registers with typer, from the same `PARAMS`, for everything else. The core is
imported inside the functions that use it, so importing this module (the fast path's first step, and
every `depaudit --help`, which imports all command modules) does not load the scan engine, the rules,
rich or the renderers before they are needed (measured with `python -X importtime`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depaudit.cli.common import (
    FORMAT_CHOICES,
    LOOKUP_DEADLINE_HELP,
    FailOn,
    FormatChoice,
    allow_hosts,
    begin,
    lookup_options,
    render_options,
    seconds,
)
from depaudit.cli.output import emit, info, make_console, problem
from depaudit.cli.params import Param
from depaudit.errors import UsageError
from depaudit.model import Lock, Selection, SizeReport
from depaudit.render.formats import OutputFormat, RenderOptions, parse_format

if TYPE_CHECKING:
    from depaudit.budgets import BudgetCheck
    from depaudit.rules.config import RuleConfig
    from depaudit.sources.workspace import LockLocation

Progress = Callable[[int, int], None]

EXIT_CODES_HELP = (
    "Exit codes: 0 ran, no budget exceeded and no finding at or above --fail-on; 1 a budget "
    "exceeded or not verifiable (a size unknown), or findings at or above --fail-on; 2 usage "
    "error; 3 lock or pyproject unreadable or invalid; 4 the index failed."
)


def _format(value: str) -> FormatChoice:
    """`--format` text as a FormatChoice; ValueError (typer's usage error) for an unknown format."""
    try:
        fmt, note = parse_format(value)
    except UsageError as exc:
        raise ValueError(str(exc).removeprefix("--format: ")) from None
    return FormatChoice(fmt, note)


def _complete_format(incomplete: str) -> list[str]:
    return [f.value for f in OutputFormat if f.value.startswith(incomplete)]


PARAMS: tuple[Param, ...] = (
    Param(
        "lockfile",
        (),
        Path,
        None,
        "uv.lock, pylock.toml, or a project folder (default: found from the current folder as uv finds it).",
        metavar="[LOCKFILE]",
    ),
    Param(
        "target",
        ("--target", "-t"),
        str,
        None,
        "A platform: linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (the default set) or a uv --python-platform name such as x86_64-unknown-linux-musl, aarch64-pc-windows-msvc (repeatable).",
        multiple=True,
    ),
    Param(
        "python",
        ("--python",),
        str,
        None,
        "CPython version, e.g. 3.12 or free-threaded 3.13t (default: lowest requires-python allows).",
    ),
    Param(
        "package",
        ("--package",),
        str,
        None,
        "Install this workspace member instead of the root project (repeatable), as uv sync --package.",
        multiple=True,
    ),
    Param(
        "all_packages", ("--all-packages",), bool, False, "Install every workspace member, as uv sync --all-packages."
    ),
    Param(
        "extra",
        ("--extra",),
        str,
        None,
        "Include an optional-dependency extra of the selected members (repeatable).",
        multiple=True,
    ),
    Param("all_extras", ("--all-extras",), bool, False, "Include every extra of the selected members."),
    Param(
        "group",
        ("--group",),
        str,
        None,
        "Include a dependency group (repeatable; default none: the production install).",
        multiple=True,
    ),
    Param("all_groups", ("--all-groups",), bool, False, "Include every dependency group."),
    Param("dev", ("--dev",), bool, False, "Include the `dev` dependency group."),
    Param("offline", ("--offline",), bool, False, "Never touch the network; unknown sizes stay unknown."),
    Param(
        "installed",
        ("--installed",),
        bool,
        False,
        "Installed size: the wheels' uncompressed contents, read from their zip central directories by HTTP ranges (what uv installs: no bytecode).",
    ),
    Param(
        "bytecode",
        ("--bytecode",),
        bool,
        False,
        "Installed size plus an estimate of the .pyc files pip compiles at install time.",
    ),
    Param(
        "fmt",
        ("--format", "-f"),
        FormatChoice,
        FormatChoice(OutputFormat.table),
        "Output format (default table): table, json, markdown, sarif, gnu (path:line:col: DAxxx message).",
        parse=_format,
        metavar=f"[{FORMAT_CHOICES}]",
        complete=_complete_format,
    ),
    Param(
        "output",
        ("--output", "-o"),
        str,
        None,
        "Write to FILE ('-' for stdout); a file is replaced atomically, a device or FIFO written in place.",
    ),
    Param("binary", ("--binary",), bool, False, "Show MiB/GiB instead of MB/GB."),
    Param("top", ("--top",), int, 15, "Rows per target in the table."),
    Param("show_all", ("--all",), bool, False, "Show every package."),
    Param(
        "max_download",
        ("--max-download",),
        str,
        None,
        "Budget for every target (500MB) or one (linux-aarch64=3GB); exit 1 above it.",
        multiple=True,
    ),
    Param(
        "max_accelerator",
        ("--max-accelerator",),
        str,
        None,
        "Accelerator budget, every target or TARGET=SIZE; 0 forbids accelerator wheels.",
        multiple=True,
    ),
    Param("fail_on", ("--fail-on",), FailOn, FailOn.never, "Exit 1 on findings at or above this severity."),
    Param("cache_dir", ("--cache-dir",), Path, None, "Size cache folder (default: user cache)."),
    Param("glibc", ("--glibc",), str, None, "glibc of Linux targets whose name fixes none (default 2.28, as uv)."),
    Param(
        "macos",
        ("--macos",),
        str,
        None,
        "macOS version of macos-arm64 (default 14.0) and the apple-darwin targets (default $MACOSX_DEPLOYMENT_TARGET, else 13.0, as uv).",
    ),
    Param(
        "select",
        ("--select",),
        str,
        None,
        "Run only these rule IDs or prefixes (DA3, DA302); repeatable or comma-separated.",
        multiple=True,
    ),
    Param(
        "ignore",
        ("--ignore",),
        str,
        None,
        "Skip these rule IDs or prefixes; repeatable or comma-separated.",
        multiple=True,
    ),
    Param(
        "docs_url",
        ("--docs-url",),
        str,
        None,
        "Base URL of the rule pages for SARIF helpUri (default: [tool.depaudit] docs-url, else the project's documentation URL).",
    ),
    Param("quiet", ("--quiet", "-q"), bool, False, "Print only errors and the report itself."),
    Param(
        "verbose",
        ("--verbose",),
        bool,
        False,
        "Also print what is looked up and decided (settings, rules, files, checks).",
    ),
    Param(
        "allow_host",
        ("--allow-host",),
        str,
        None,
        "Let size look-ups reach HOST even when it is not one of the lock's registries or resolves to a loopback/private/link-local address (repeatable; also allow-hosts in [tool.depaudit], DEPAUDIT_ALLOW_HOSTS).",
        multiple=True,
        metavar="HOST",
    ),
    Param(
        "lookup_deadline",
        ("--lookup-deadline",),
        float,
        None,
        LOOKUP_DEADLINE_HELP,
        parse=seconds,
        metavar="SECONDS",
    ),
    Param(
        "baseline",
        ("--baseline",),
        str,
        None,
        "Show the change from the lock at git revision REV instead (as `depaudit diff REV:LOCK LOCK`).",
        metavar="REV",
    ),
)


def register(app: Any) -> None:
    """Add `scan` to the typer app (the path for --help, errors and unusual command lines)."""
    from depaudit.cli.params import register as add

    add(app, "scan", PARAMS, scan, epilog=EXIT_CODES_HELP)


def _progress() -> tuple[Progress, Callable[[], None]]:
    """A progress callback and a closer: a rich bar on a terminal, a plain line otherwise."""
    if not sys.stderr.isatty():
        state = {"announced": False}

        def plain(done: int, total: int) -> None:
            if not state["announced"]:
                info(f"depaudit: looking up {total} wheel sizes on the index")
                state["announced"] = True

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


def scan(
    lockfile: Path | None,
    target: list[str] | None,
    python: str | None,
    package: list[str] | None,
    all_packages: bool,
    extra: list[str] | None,
    all_extras: bool,
    group: list[str] | None,
    all_groups: bool,
    dev: bool,
    offline: bool,
    installed: bool,
    bytecode: bool,
    fmt: FormatChoice,
    output: str | None,
    binary: bool,
    top: int,
    show_all: bool,
    max_download: list[str] | None,
    max_accelerator: list[str] | None,
    fail_on: FailOn,
    cache_dir: Path | None,
    glibc: str | None,
    macos: str | None,
    select: list[str] | None,
    ignore: list[str] | None,
    docs_url: str | None,
    quiet: bool,
    verbose: bool,
    allow_host: list[str] | None = None,
    lookup_deadline: float | None = None,
    baseline: str | None = None,
) -> int:
    """Exact per-platform download size of what a lock installs, its accelerator wheels, and why each is there."""
    from depaudit.rules.config import rule_config
    from depaudit.settings import find_pyproject
    from depaudit.sources.uvlock import load_lock

    begin(fmt, quiet, verbose)
    location = _locate(lockfile)
    pyproject = find_pyproject(location.path) if location.path.exists() else None
    conf = _settings(pyproject, target, python, max_download, max_accelerator, cache_dir, offline)
    rules = rule_config("scan", select or (), ignore or (), pyproject)
    members = tuple(package or ()) or ((location.member,) if location.member and not all_packages else ())
    selection = Selection(
        extras=tuple(extra or ()),
        all_extras=all_extras,
        groups=tuple(group or ()) + (("dev",) if dev else ()),
        packages=members,
        all_packages=all_packages,
        all_groups=all_groups,
    )
    lock = load_lock(location.path)
    hosts = allow_hosts(allow_host, pyproject)  # both sides of a --baseline diff look sizes up alike
    report = _measure(
        lock,
        conf,
        selection,
        quiet,
        installed=installed,
        bytecode=bytecode,
        glibc=glibc,
        macos=macos,
        allow_hosts=hosts,
        # a scan that judges budgets (or a baseline change) checks the lock's sizes against the index
        verify_sizes=conf["limits"].any or baseline is not None,
        **lookup_options(lookup_deadline),
    )
    report = _with_findings(report, lock, pyproject, rules.select, rules.ignore)
    breaches = _breaches(report, conf)
    options = render_options(
        pyproject, docs_url, binary=binary, top=None if show_all else top, indent=2 if _to_terminal(output) else None
    )
    if baseline is not None:  # the diff against the lock at REV instead of the scan report
        from depaudit.cli.diff import emit_baseline

        emit_baseline(
            report,
            location.path,
            baseline,
            fmt.format,
            output,
            options,
            selection=selection,
            offline=conf["offline"],
            glibc=glibc,
            macos=macos,
            allow_hosts=hosts,
            verify_sizes=True,
            **conf["cache"],
            **lookup_options(lookup_deadline),
        )
    else:
        _emit(report, breaches, fmt.format, output, options, rules)
    return _verdict(report, breaches, conf, fmt.format, fail_on, binary)


def _locate(lockfile: Path | None) -> LockLocation:
    """The lock to scan: the file given, else the one uv uses for the folder given (or the current one)."""
    from depaudit.sources.workspace import LockLocation, find_lock

    if lockfile is not None and not lockfile.is_dir():
        return LockLocation(lockfile)
    return find_lock(lockfile if lockfile is not None else Path.cwd())


def _settings(
    pyproject: Path | None,
    target: list[str] | None,
    python: str | None,
    max_download: list[str] | None,
    max_accelerator: list[str] | None,
    cache_dir: Path | None,
    offline: bool,
) -> dict[str, Any]:
    """Options merged with [tool.depaudit] and DEPAUDIT_* (settings precedence), converted."""
    from depaudit import settings
    from depaudit.budgets import load_lock_limits

    conf = settings.resolve(
        {
            "targets": target,
            "python": python,
            "cache-dir": str(cache_dir) if cache_dir else None,
            "offline": True if offline else None,
        },
        pyproject,
    )
    targets = conf["targets"]
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    limits = load_lock_limits(
        {"max-download": max_download, "max-accelerator": max_accelerator}, settings.SettingSources.load(pyproject)
    )
    return {
        "targets": targets or None,
        "python": _str(conf["python"]),
        "limits": limits,
        "offline": offline or settings.truthy(conf["offline"]),
        "cache": {} if conf["cache-dir"] is None else {"cache_dir": Path(conf["cache-dir"])},
    }


def _measure(lock: Lock, conf: dict[str, Any], selection: Selection, quiet: bool, **options: Any) -> SizeReport:
    """scan_lock with the resolved settings and a progress display while sizes are looked up."""
    from depaudit.scan import scan_lock

    progress: Progress | None = None
    stop: Callable[[], None] = _nothing
    if not (conf["offline"] or quiet):
        progress, stop = _progress()
    try:
        return scan_lock(
            lock,
            targets=conf["targets"],
            python=conf["python"],
            selection=selection,
            offline=conf["offline"],
            progress=progress,
            **options,
            **conf["cache"],
        )
    finally:
        stop()


def _nothing() -> None:
    pass


def _breaches(report: SizeReport, conf: dict[str, Any]) -> list[BudgetCheck]:
    from depaudit.budgets import check_report

    return [c for c in check_report(report, conf["limits"]) if not c.passed]


def _verdict(
    report: SizeReport,
    breaches: list[BudgetCheck],
    conf: dict[str, Any],
    fmt: OutputFormat,
    fail_on: FailOn,
    binary: bool,
) -> int:
    """Budget breaches and unknown sizes on stderr; the exit code (1 on a breach or findings at --fail-on)."""
    for breach in breaches:
        what = "budget not verifiable" if breach.verdict == "unknown" else "budget exceeded"
        problem(f"{what}: {breach.message(binary)}")
    unknown = sum(len(t.unknown_size) for t in report.targets)
    if unknown and fmt is not OutputFormat.table:
        info(
            f"depaudit: {unknown} wheel sizes unknown{' (offline)' if conf['offline'] else ''}; totals are lower bounds"
        )
    failing = fail_on is not FailOn.never and _has_findings_at(report, fail_on.value)
    lied = report.sizes_checked and any(f.rule == "DA105" for f in report.findings)  # the lock's numbers are wrong
    if lied:
        problem("DA105: wheel sizes in the lock differ from the index's (the budgets used the index's)")
    return 1 if breaches or failing or (lied and conf["limits"].any) else 0


def _to_terminal(output: str | None) -> bool:
    return output in (None, "-") and sys.stdout.isatty()


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _with_findings(
    report: SizeReport, lock: Lock, pyproject: Path | None, select: Sequence[str] = (), ignore: Sequence[str] = ()
) -> SizeReport:
    """Attach the DA1xx lock findings (and DA2xx of the pyproject beside the lock)."""
    from depaudit.rules.run_lock import lock_findings
    from depaudit.rules.subjects import LockSubject

    findings = lock_findings(LockSubject(lock, report, pyproject), select, ignore)
    return replace(report, findings=tuple(findings))


def _has_findings_at(report: SizeReport, threshold: str) -> bool:
    from depaudit.rules.base import at_or_above

    return any(True for _ in at_or_above(report.findings, threshold))


def _emit(
    report: SizeReport,
    breaches: list[BudgetCheck],
    fmt: OutputFormat,
    output: str | None,
    options: RenderOptions,
    rules: RuleConfig,
) -> None:
    """Render through the one renderer table; budget findings (DA5xx) join the lock findings."""
    from depaudit.render.formats import render
    from depaudit.render.scan import SCAN_RENDERERS, ScanOutput
    from depaudit.rules.base import RuleDoc, describe
    from depaudit.rules.engine import RuleSelection
    from depaudit.rules.run_budgets import budget_findings

    chosen = RuleSelection(rules.select, rules.ignore)
    found = tuple(budget_findings(breaches, rules.select, rules.ignore, binary=options.binary))
    docs: tuple[RuleDoc, ...] = ()
    if fmt is OutputFormat.sarif:  # only SARIF lists the rules that ran (loading DA5xx costs the others)
        docs = tuple(d for family in ("DA1", "DA2", "DA5") for d in describe(family) if chosen.wants(d.id))
    emit(render(SCAN_RENDERERS, fmt, ScanOutput(report, found, docs), options), output)
