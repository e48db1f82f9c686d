"""`depaudit lint`: check Dockerfiles (DA3xx), requirements files and pyproject.toml (DA2xx) and locks
(DA1xx) with the rule engine."""

from __future__ import annotations

from pathlib import Path

from depaudit.cli.app import app
from depaudit.cli.common import FailOn, begin, render_options, settings_for
from depaudit.cli.output import emit, refuse_output_over
from depaudit.cli.params import REPORT, SELECTION, Given, argument, cli_layer, flag, pick, register
from depaudit.lint import LintOptions, lint_paths
from depaudit.project import open_project
from depaudit.render.lint import LINT_RENDERERS
from depaudit.rules.base import at_or_above
from depaudit.sources.dockerfile import parse_build_args

EXIT_CODES_HELP = (
    "Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage error; "
    "3 a file unreadable or invalid."
)
PARAMS = (
    argument("paths", Path, None, multiple=True),
    *pick(
        "fail_on",
        fail_on={"default": FailOn.error, "help": "Exit 1 on findings at or above this severity (default: error)."},
    ),
    *pick("select", "ignore", "pyproject", *SELECTION, "target", "python", *REPORT),
    *pick("context", "build_arg"),
    flag("run_sizes", "--sizes"),
    *pick("cpu_index_url"),
    *pick("allow_host", "cache_dir"),
)


def lint(given: Given) -> int:
    """Check Dockerfiles (DA301-DA310), requirements files and pyproject.toml (DA201-DA202) and locks
    (DA101-DA104, scanned offline)."""
    begin(given.quiet, given.verbose)
    paths = given.paths or [Path(".")]
    refuse_output_over(given.output, paths)
    project = open_project(Path.cwd(), pyproject=given.pyproject)
    settings = settings_for("lint", project, cli_layer(PARAMS, given))
    rules = settings.rules.effective()
    options = LintOptions(
        rules.select,
        rules.ignore,
        rules.per_path,
        given.context,
        parse_build_args(given.build_arg),
        settings.targets,
        settings.python,
        settings.selection,
        sizes=given.run_sizes,
        allow_hosts=settings.hosts.trusted,
        project_hosts=settings.hosts.project,
        cpu_index_url=settings.cpu_index_url,
        cache_dir=settings.cache_dir,
    )
    report = lint_paths(paths, options)
    emit(LINT_RENDERERS[given.fmt](report, render_options(settings)), given.output)
    if given.fail_on is FailOn.never:
        return 0
    return 1 if any(True for _ in at_or_above(report.findings, given.fail_on.value)) else 0


register(app, "lint", PARAMS, lint, epilog=EXIT_CODES_HELP)
