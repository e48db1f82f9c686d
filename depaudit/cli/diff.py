"""`depaudit diff BASE HEAD`: how many bytes a change to the lock adds or removes, per platform."""

from __future__ import annotations

from pathlib import Path

from depaudit.cli.app import app
from depaudit.cli.common import begin, render_options, settings_for, terminal_indent
from depaudit.cli.output import emit, info, problem, progress_display, refuse_output_over, warn
from depaudit.cli.params import LOOKUPS, PLATFORM, REPORT, SELECTION, Given, argument, cli_layer, pick, register
from depaudit.diff import DiffRequest, run_diff
from depaudit.project import open_project
from depaudit.render.diff import DIFF_RENDERERS
from depaudit.sources.gitrev import split_rev_spec

EXIT_CODES_HELP = (
    "Exit codes: 0 ran, within budget; 1 --max-increase exceeded or not verifiable (a size the head adds is "
    "unknown), or a new accelerator package with --fail-on-new-accelerator; 2 usage error; 3 a lock, revision "
    "or path unreadable or invalid; 4 git failed, or the index could not be reached for a size (the report is "
    "still written) and no --max-increase is already exceeded."
)
PARAMS = (
    argument("base"),
    argument("head", default="uv.lock"),
    *pick(*PLATFORM, *SELECTION, *LOOKUPS, "max_increase", "fail_on_new_accelerator", *REPORT, "select", "ignore"),
    *pick("top", "show_all", top={"default": 20, "help": "Package changes shown per target."}),
)


def diff(given: Given) -> int:
    """Per-target download before, after and change between two locks, and the packages added, removed and changed."""
    begin(given.quiet, given.verbose)
    head = Path(given.head) if split_rev_spec(given.head) is None else None
    project = open_project(head if head is not None and head.exists() else Path.cwd())
    refuse_output_over(given.output, [given.base, given.head, project.pyproject])
    settings = settings_for("diff", project, cli_layer(PARAMS, given))
    progress, stop = progress_display(settings.offline or given.quiet)
    request = DiffRequest(given.base, given.head, settings, given.glibc, given.macos, None, given.binary, progress)
    try:
        outcome = run_diff(request)
    finally:
        stop()
    top = None if given.show_all else given.top
    options = render_options(settings, binary=given.binary, top=top, indent=terminal_indent(given.output))
    emit(DIFF_RENDERERS[given.fmt](outcome, options), given.output)
    for breach in outcome.breaches:
        what = "budget not verifiable" if breach.verdict == "unknown" else "budget exceeded"
        problem(f"{what}: {breach.message(given.binary)}")
    inexact = [t.target for t in outcome.diff.targets if not t.exact]
    if inexact:
        warn(f"sizes unknown on {', '.join(inexact)}: the change there leaves those packages out")
    for line in outcome.diff.lock_sizes_differ:
        problem(f"DA105 {line} (the change is measured with the index's numbers)")
    if not outcome.diff.sizes_checked and settings.offline:
        info("depaudit: wheel sizes taken from the locks as written, not checked against the index (offline)")
    if outcome.index_errors:
        problem(f"the index could not be reached for some wheel sizes ({'; '.join(outcome.index_errors)}): exit 4")
    return outcome.exit_code


register(app, "diff", PARAMS, diff, epilog=EXIT_CODES_HELP)
