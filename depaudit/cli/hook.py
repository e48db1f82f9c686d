"""`depaudit hook lock FILE...`: the pre-commit entry point for lock budgets (`.pre-commit-hooks.yaml`;
the Dockerfile and requirements hooks run `depaudit lint --format gnu`).

It takes the lock files pre-commit passes, checks each against the lock budgets of its project's
`[tool.depaudit]` (the workspace root's, and the selected member's own), offline, and prints one
`path:line:col: DA5xx message` line per budget a lock breaks or cannot be shown to meet. Exit 1 when any
does, 0 otherwise. The hook's `args` select what installs, as on every command (`--package`, `--extra`,
`--group`, `--target`). Image and latency budgets in the same `[tool.depaudit]` are left to CI: a commit
hook builds and measures nothing.
"""

from __future__ import annotations

from pathlib import Path

import typer

from depaudit.cli.app import app
from depaudit.cli.common import begin, settings_for
from depaudit.cli.output import write_output
from depaudit.cli.params import SELECTION, VERBOSITY, Given, argument, cli_layer, pick, register
from depaudit.gate import check_lock
from depaudit.model import Finding
from depaudit.project import open_project
from depaudit.render.findings import render_gnu
from depaudit.rules.run_budgets import budget_findings

hook_app = typer.Typer(help="pre-commit entry points: one line per problem, exit 1 on any.", no_args_is_help=True)
app.add_typer(hook_app, name="hook")

DEFAULT_NOTE = "the default budget of the lock hook (no lock budget in [tool.depaudit]): no accelerator wheels"
PARAMS = (argument("files", Path, multiple=True), *pick(*SELECTION, "target", "allow_build", *VERBOSITY))


def lock_hook(given: Given) -> int:
    """Lock budgets (max-download, max-accelerator, no-accelerator-targets, per-target, targets) from the
    project's [tool.depaudit], offline. With no lock budget set: no accelerator wheels at all."""
    begin(given.quiet, given.verbose)
    findings = [f for file in given.files for f in lock_budget_findings(file, given)]
    write_output(render_gnu(findings), None)
    return 1 if findings else 0


def lock_budget_findings(file: Path, given: Given | None = None) -> list[Finding]:
    """The DA5xx findings of one lock's budgets (only the budgets it breaks or cannot be shown to meet).
    Raises InputError (unreadable lock or pyproject) or UsageError (a bad budget value)."""
    project = open_project(Path.cwd(), lock=file)
    cli = {**(cli_layer(PARAMS, given) if given is not None else {}), "offline": True}
    settings = settings_for("hook", project, cli)
    default = not settings.limits.any
    if default:
        settings = settings._replace(limits=settings.limits._replace(max_accelerator=0))
    checks = [c for c in check_lock(settings, file) if not c.passed]
    if default:
        checks = [c._replace(note="; ".join(n for n in (DEFAULT_NOTE, c.note) if n)) for c in checks]
    return budget_findings(checks)


register(hook_app, "lock", PARAMS, lock_hook)
