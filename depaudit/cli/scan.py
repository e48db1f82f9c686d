"""`depaudit scan`: what a lock installs per platform, how big it is, and why each package is there.

This module does not import typer: `depaudit scan` reads its command line with `params.parse_fast` when
it can and registers with typer, from the same `PARAMS`, for everything else. The core is imported
inside the function that uses it, so importing this module (the fast path's first step, and every
`depaudit --help`) does not load the scan engine, the rules, rich or the renderers before they are
needed (measured with `python -X importtime`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from depaudit.cli.common import begin, render_options, settings_for, terminal_indent
from depaudit.cli.output import emit, info, problem, progress_display, refuse_output_over
from depaudit.cli.params import (
    LOCK_BUDGETS,
    LOOKUPS,
    PLATFORM,
    REPORT,
    SELECTION,
    Given,
    argument,
    cli_layer,
    pick,
    value,
)
from depaudit.render.formats import OutputFormat

EXIT_CODES_HELP = (
    "Exit codes: 0 ran, no budget exceeded and no finding at or above --fail-on; 1 a budget "
    "exceeded or not verifiable (a size unknown, a package built from source or not installable), or "
    "findings at or above --fail-on; 2 usage error; 3 lock or pyproject unreadable or invalid; 4 the index "
    "could not be reached (connection, timeout, TLS, 5xx) for a size, and no budget is already exceeded: "
    "the report is still written, with those sizes unknown."
)
PARAMS = (
    argument("lockfile", Path, None, metavar="[LOCKFILE]"),
    *pick(*PLATFORM, *SELECTION, *LOOKUPS, "installed", "bytecode", *REPORT, "top", "show_all"),
    *pick(*LOCK_BUDGETS, "allow_build", "fail_on", "select", "ignore"),
    value("baseline", "--baseline", metavar="REV"),
    value("exclude_newer", "--exclude-newer", metavar="DATE", setting="exclude-newer"),
    *pick("cpu_index_url", "context"),
)


def add_to(app: Any) -> None:
    """Add `scan` to the typer app (the path for --help, errors and unusual command lines)."""
    from depaudit.cli.params import register as add

    add(app, "scan", PARAMS, scan, epilog=EXIT_CODES_HELP)


def scan(given: Given) -> int:
    """Exact per-platform download size of what a lock installs, its accelerator wheels, and why each is there."""
    from depaudit.audit import ScanRequest, run_scan
    from depaudit.project import open_project
    from depaudit.scan import InputOptions
    from depaudit.sources.detect import locate_input

    begin(given.quiet, given.verbose)
    lockfile = given.lockfile
    explicit = lockfile is not None and not lockfile.is_dir()
    project = open_project(
        Path.cwd() if explicit or lockfile is None else lockfile, lock=lockfile if explicit else None
    )
    # the lock uv uses (found, and its pyproject parsed, once), else what else the folder holds
    location, kind = locate_input(
        lockfile if explicit else None, Path.cwd(), found=project.lock_path, folder=project.start
    )
    refuse_output_over(given.output, [location.path, project.pyproject])
    settings = settings_for("scan", project, cli_layer(PARAMS, given))
    progress, stop = progress_display(settings.offline or given.quiet)
    here = Path.cwd().resolve()  # a requirements file's includes may reach anywhere in the working folder
    inputs = InputOptions(
        exclude_newer=settings.exclude_newer,
        cpu_index_url=settings.cpu_index_url,
        context=given.context,
        announce=None if given.quiet else lambda what: info(f"depaudit: {what}"),
        root=here if location.path.resolve().is_relative_to(here) else None,
    )
    request = ScanRequest(
        location.path,
        kind,
        settings,
        location.text,
        project.root_file.model if project.root_file is not None else None,
        project.pyproject,
        installed=given.installed,
        bytecode=given.bytecode,
        glibc=given.glibc,
        macos=given.macos,
        baseline=given.baseline,
        inputs=inputs,
        sarif_rules=given.fmt is OutputFormat.sarif,
        binary=given.binary,
        progress=progress,
    )
    try:
        outcome = run_scan(request)
    finally:
        stop()
    options = render_options(
        settings, binary=given.binary, top=None if given.show_all else given.top, indent=terminal_indent(given.output)
    )
    if outcome.baseline is not None:  # the diff against the lock at REV instead of the scan report
        from depaudit.diff import DiffOutcome
        from depaudit.render.diff import DIFF_RENDERERS as renderers

        emit(renderers[given.fmt](DiffOutcome(outcome.baseline), options), given.output)
    else:
        from depaudit.render.scan import SCAN_RENDERERS

        emit(SCAN_RENDERERS[given.fmt](outcome, options), given.output)
    for breach in outcome.breaches:
        what = "budget not verifiable" if breach.verdict == "unknown" else "budget exceeded"
        problem(f"{what}: {breach.message(given.binary)}")
    if outcome.lock_sizes_differ:
        problem("DA105: wheel sizes in the lock differ from the index's (the budgets used the index's)")
    unknown = sum(len(t.unknown_size) for t in outcome.report.targets)
    if unknown and given.fmt is not OutputFormat.table:
        info(
            f"depaudit: {unknown} wheel sizes unknown{' (offline)' if settings.offline else ''}; totals are lower bounds"
        )
    if outcome.index_errors:
        problem(f"the index could not be reached for some wheel sizes ({'; '.join(outcome.index_errors)}): exit 4")
    return outcome.exit_code(given.fail_on.value)
