"""`depaudit hook lock|requirements|dockerfile FILE...`: the pre-commit entry points
(`.pre-commit-hooks.yaml`). Each takes the files pre-commit passes, prints one compact line per
problem (`path:line:col: ID message`, the GNU form editors and pre-commit show), and exits 1 when
any file fails, 0 otherwise. Nothing is looked up on the network and nothing is written.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from depaudit.cli._app import app

if TYPE_CHECKING:  # imported where used: every `depaudit` run pays for a command module's imports
    from depaudit.gate import GateCheck
    from depaudit.model import Finding

hook_app = typer.Typer(
    help="pre-commit entry points: compact one-line-per-problem output, exit 1 on failure.", no_args_is_help=True
)
app.add_typer(hook_app, name="hook")

DEFAULT_LOCK_BUDGET = "max-accelerator = 0"  # what the lock hook checks when [tool.depaudit] sets no lock budget


class HookFailOn(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"


def gnu_line(path: str, line: int | None, column: int | None, what: str) -> str:
    """`path:line:col: what`, leaving out the parts that are not known (GNU error-message form)."""
    where = path
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    return f"{where}: {what}"


def _print_findings(findings: list[Finding], fail_on: HookFailOn) -> bool:
    """Print findings in the compact form; True when one is at or above `fail_on`."""
    from depaudit.rules.base import at_or_above

    for f in findings:
        print(gnu_line(f.path, f.line, f.column, f"{f.rule} {f.message}"))
    return any(True for _ in at_or_above(findings, fail_on.value))


@hook_app.command("lock")
def lock_hook(
    files: Annotated[
        list[Path], typer.Argument(help="uv.lock / pylock.toml files (pre-commit passes the staged ones).")
    ],
) -> int:
    """Lock budgets from the nearest pyproject's [tool.depaudit] (max-download, max-accelerator,
    no-accelerator-targets, targets), offline. With no lock budget set: no accelerator wheels at all."""
    failed = False
    for file in files:
        for check in _lock_checks(file):
            if not check.passed:
                failed = True
                line = _offender_line(file, check)
                print(gnu_line(str(file), line, 1 if line else None, f"budget {check.message()}"))
    return 1 if failed else 0


def _lock_checks(file: Path) -> list[GateCheck]:
    from depaudit import gate
    from depaudit.settings import find_pyproject

    budgets = gate.load_budgets({"lock": file}, find_pyproject(file))
    # Only the lock's budgets: a commit hook never builds or measures images or reads bench reports.
    budgets = replace(budgets, lock=file, max_image_size=None, images=(), max_latency_ms=None, bench_report=None)
    if budgets.max_download is None and budgets.max_accelerator is None and not budgets.no_accelerator_targets:
        checks = gate.check_lock(replace(budgets, max_accelerator=0), offline=True)
        return [
            replace(c, note=f"default budget {DEFAULT_LOCK_BUDGET}: set lock budgets in [tool.depaudit]")
            for c in checks
        ]
    return gate.check_lock(budgets, offline=True)


def _offender_line(file: Path, check: GateCheck) -> int | None:
    """The lock line of the check's first offender package, so an editor jumps to it."""
    if not check.offenders:
        return None
    from depaudit.sources.uvlock import load_lock

    name = check.offenders[0][0]
    return next((p.line for p in load_lock(file).packages if p.name == name and p.line), None)


@hook_app.command("requirements")
def requirements_hook(
    files: Annotated[list[Path], typer.Argument(help="requirements*.txt / *.in files.")],
    fail_on: Annotated[
        HookFailOn, typer.Option("--fail-on", help="Fail on findings at or above this severity.")
    ] = HookFailOn.warning,
) -> int:
    """Project-config rules (DA2xx) on requirements files."""
    from depaudit.rules.projectcheck import project_findings

    findings = [f for file in files for f in project_findings(file)]
    return 1 if _print_findings(findings, fail_on) else 0


@hook_app.command("dockerfile")
def dockerfile_hook(
    files: Annotated[list[Path], typer.Argument(help="Dockerfiles.")],
    fail_on: Annotated[
        HookFailOn, typer.Option("--fail-on", help="Fail on findings at or above this severity.")
    ] = HookFailOn.warning,
) -> int:
    """Dockerfile rules (DA3xx), with the inline `# depaudit: ignore=` comments honoured."""
    from depaudit.lint import lint_dockerfile

    findings = [f for file in files for f in lint_dockerfile(file)]
    return 1 if _print_findings(findings, fail_on) else 0
