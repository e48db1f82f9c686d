"""`depaudit hook lock FILE...`: the pre-commit entry point for lock budgets (`.pre-commit-hooks.yaml`;
the Dockerfile and requirements hooks run `depaudit lint --format gnu`).

It takes the lock files pre-commit passes, checks each against the lock budgets of the pyproject.toml
nearest to it, offline, and prints one `path:line:col: DA5xx message` line per budget a lock breaks or
cannot be shown to meet. Exit 1 when any does, 0 otherwise. Image and latency budgets in the same
`[tool.depaudit]` are left to CI: a commit hook builds and measures nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from depaudit import gate
from depaudit.cli import options as opt
from depaudit.cli.app import app
from depaudit.cli.output import write_output
from depaudit.model import Finding
from depaudit.render.findings import render_gnu
from depaudit.rules.run_budgets import budget_findings
from depaudit.settings import find_pyproject

hook_app = typer.Typer(help="pre-commit entry points: one line per problem, exit 1 on any.", no_args_is_help=True)
app.add_typer(hook_app, name="hook")

DEFAULT_NOTE = "the default budget of the lock hook (no lock budget in [tool.depaudit]): no accelerator wheels"


@hook_app.command("lock")
def lock_hook(
    files: Annotated[
        list[Path], typer.Argument(help="uv.lock / pylock.toml files (pre-commit passes the staged ones).")
    ],
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
) -> int:
    """Lock budgets (max-download, max-accelerator, no-accelerator-targets, per-target, targets) from the
    nearest pyproject's [tool.depaudit], offline. With no lock budget set: no accelerator wheels at all."""
    opt.begin(opt.TABLE, quiet, verbose)
    findings = [f for file in files for f in lock_budget_findings(file)]
    write_output(render_gnu(findings), None)
    return 1 if findings else 0


def lock_budget_findings(file: Path) -> list[Finding]:
    """The DA5xx findings of one lock's budgets (only the budgets it breaks or cannot be shown to meet).
    Raises InputError (unreadable lock or pyproject) or UsageError (a bad budget value)."""
    budgets = gate.load_budgets({"lock": file}, find_pyproject(file))
    limits = budgets.lock_limits
    default = not limits.any
    if default:
        limits = replace(limits, max_accelerator=0)
    budgets = replace(budgets, lock=file, lock_limits=limits)
    checks = [c for c in gate.check_lock(budgets, offline=True) if not c.passed]
    if default:
        checks = [replace(c, note=DEFAULT_NOTE) for c in checks]
    return budget_findings(checks)
