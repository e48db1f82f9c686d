"""`run_scan`: the core of `depaudit scan`. Measure what a lock installs per target, run the lock and
project rules (DA1xx, DA2xx), check the lock budgets (DA5xx), and with a baseline compare with the lock
at a git revision. Nothing here prints; depaudit.render.scan renders the outcome."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from depaudit.budgets import BudgetCheck, check_report
from depaudit.fileio import read_text
from depaudit.model import Finding, SizeReport
from depaudit.rules.base import RuleDoc, at_or_above, describe
from depaudit.rules.engine import RuleSelection
from depaudit.rules.run_budgets import budget_findings
from depaudit.rules.run_lock import lock_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import InputOptions, scan_input, unreachable_index
from depaudit.settings import Settings, scan_options
from depaudit.sources.detect import LOCK_KINDS

if TYPE_CHECKING:  # annotations only: a scan without --baseline or a pyproject never loads these
    from depaudit.analysis.lockdiff import LockDiff
    from depaudit.sources.pyproject import Pyproject

Progress = Callable[[int, int], None]


class ScanRequest(NamedTuple):
    """One scan: the input and its kind (`sources.detect.detect_kind`: a lock, a requirements file, an
    unlocked pyproject.toml or a Dockerfile), the settings, the pyproject.toml beside it (parsed once by
    the project context; None when there is none), what sizes to report, how to read an input that is
    not a lock (`inputs`), and a baseline revision."""

    path: Path
    kind: str
    settings: Settings
    text: str | None = None  # the input's content when the caller has read it (read once)
    project: Pyproject | None = None
    pyproject_path: Path | None = None
    installed: bool = False
    bytecode: bool = False
    glibc: str | None = None
    macos: str | None = None
    baseline: str | None = None
    inputs: InputOptions = InputOptions()
    sarif_rules: bool = False
    binary: bool = False
    progress: Progress | None = None


class ScanOutcome(NamedTuple):
    """What a scan found: the size report (with its lock findings), every budget check, the findings of
    those that did not pass, the rules that ran (for SARIF), and the diff against a baseline."""

    report: SizeReport
    budget_findings: tuple[Finding, ...] = ()
    rules: tuple[RuleDoc, ...] = ()
    checks: tuple[BudgetCheck, ...] = ()
    baseline: LockDiff | None = None
    judged: bool = False  # budgets were set: a lock whose sizes differ from the index then fails (DA105)

    @property
    def lock_sizes_differ(self) -> bool:
        """The index was asked and some wheel size in the lock is not the index's (DA105)."""
        return self.report.sizes_checked and any(f.rule == "DA105" for f in self.report.findings)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Lock findings then budget findings."""
        return self.report.findings + self.budget_findings

    @property
    def breaches(self) -> tuple[BudgetCheck, ...]:
        """The budget checks that failed or could not be verified."""
        return tuple(c for c in self.checks if not c.passed)

    @property
    def index_errors(self) -> tuple[str, ...]:
        """Why the index could not be reached for a size (connection, TLS, 5xx...), when that matters: no
        budget is already exceeded (then exit 4 says "retry", not "over budget")."""
        if any(c.verdict == "fail" for c in self.checks):
            return ()
        return unreachable_index(self.report)

    def exit_code(self, fail_on: str) -> int:
        """1 on a budget exceeded; else 4 when the index could not be reached for a size; else 1 on a
        budget not shown to be met, on lock sizes that differ from the index's when budgets are set, or on
        a finding at or above `fail_on` ("never": none); else 0."""
        if self.index_errors:
            return 4
        failing = fail_on != "never" and any(True for _ in at_or_above(self.report.findings, fail_on))
        return 1 if self.breaches or failing or (self.judged and self.lock_sizes_differ) else 0


def run_scan(request: ScanRequest) -> ScanOutcome:
    """Scan, judge and (with a baseline) compare. Raises InputError, UsageError or ToolError as scan_lock
    and the git read of the baseline do."""
    settings = request.settings
    options = {**scan_options(settings), "glibc": request.glibc, "macos": request.macos}
    # a scan that judges budgets (or a change against a baseline) checks the lock's sizes against the index
    options["verify_sizes"] = settings.limits.any or request.baseline is not None
    text = request.text
    if text is None and request.kind in LOCK_KINDS:  # read here once: the scan and the lock's pragmas use it
        text = read_text(request.path, "lock file", allow_empty=False)
    report, lock = scan_input(
        request.path,
        request.kind,
        text=text,
        text_on_disk=True,
        installed=request.installed,
        bytecode=request.bytecode,
        progress=request.progress,
        inputs=request.inputs,
        **options,
    )
    rules = settings.rules.effective()
    if lock is not None and request.kind in LOCK_KINDS:
        subject = LockSubject(lock, report, request.pyproject_path, request.project, text)
        report = report._replace(findings=tuple(lock_findings(subject, rules.select, rules.ignore)))
    checks = tuple(check_report(report, settings.limits, allow_builds=settings.allow_builds))
    failing = [c for c in checks if not c.passed]
    found = tuple(budget_findings(failing, rules.select, rules.ignore, binary=request.binary))
    docs: tuple[RuleDoc, ...] = ()
    if request.sarif_rules:  # only SARIF lists the rules that ran (loading DA5xx costs the others)
        chosen = RuleSelection(rules.select, rules.ignore)
        docs = tuple(d for family in ("DA1", "DA2", "DA5") for d in describe(family) if chosen.wants(d.id))
    baseline = None
    if request.baseline is not None:
        lock_path = request.path
        options.pop("targets")
        options.pop("python")
        from depaudit.diff import diff_against_base  # start-up: git and subprocess only with --baseline

        baseline = diff_against_base(
            report, f"{request.baseline}:./{lock_path.name}", cwd=lock_path.resolve().parent, **options
        )
    return ScanOutcome(report, found, docs, checks, baseline, judged=settings.limits.any)
