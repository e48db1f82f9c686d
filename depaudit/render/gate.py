"""`depaudit gate` output in every format: a PASS/FAIL/UNKNOWN line per check (table), the markdown step
summary, JSON, SARIF and `gnu` lines of the DA5xx findings."""

from __future__ import annotations

import json
from typing import Any

from depaudit.budgets import BudgetCheck, show
from depaudit.gate import GateReport
from depaudit.render.escaping import escape_control
from depaudit.render.findings import finding_dict, gnu_line, render_gnu, where
from depaudit.render.formats import OutputFormat, Renderer, RenderOptions
from depaudit.render.markdown import code, code_cell, verdict_lines
from depaudit.render.sarif import SarifInput, render_sarif

SCHEMA = 1
VERDICT_WORD = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN"}


def gate_table(report: GateReport, options: RenderOptions) -> str:
    """One line per check: `PASS|FAIL|UNKNOWN <what was checked>`, then the verdict."""
    lines = [f"{VERDICT_WORD[c.verdict]:<7} {escape_control(c.message(options.binary))}" for c in report.result.checks]
    lines += [f"FAIL    {gnu_line(f)}" for f in report.result.lock_findings]
    failed = len(report.result.breaches)
    lock = len(report.result.lock_findings)
    sizes = f"; {lock} wheel size{'s' if lock != 1 else ''} in the lock differ from the index" if lock else ""
    lines.append(
        "gate passed"
        if report.passed
        else f"gate FAILED: {failed} of {len(report.result.checks)} checks did not pass{sizes}"
    )
    return "\n".join(lines) + "\n"


def _limit(check: BudgetCheck, binary: bool) -> str:
    return "none" if check.check == "no-accelerator" else show(check.limit, check.unit, binary)


def gate_markdown(report: GateReport, options: RenderOptions) -> str:
    """A GitHub step summary or pull-request comment: the verdict first (each check that did not pass, by
    how much, and the direct dependencies that cause it), then one row per check, offenders and notes,
    and where the budgets came from. Everything from the lock or the pyproject is a code span."""
    result = report.result
    verdict = (
        "passed" if result.passed else f"FAILED ({len(result.breaches)} of {len(result.checks)} checks did not pass)"
    )
    if result.lock_findings and not result.breaches:
        verdict = "FAILED (the lock's sizes differ from the index)"
    lines = [f"### depaudit gate: {verdict}", "", *verdict_lines(result.checks, options.binary), ""]
    lines += ["| check | subject | measured | budget | result |", "| --- | --- | ---: | ---: | --- |"]
    marks = {"pass": "✅ PASS", "fail": "❌ **FAIL**", "unknown": "⚠️ **UNKNOWN**"}
    for c in result.checks:
        measured = ("≥ " if c.verdict == "unknown" else "") + c.measured_text(options.binary)
        lines.append(
            f"| {c.check} | {code_cell(c.subject)} | {measured} | {_limit(c, options.binary)} | {marks[c.verdict]} |"
        )
    for c in result.breaches:
        if c.offenders:
            lines += ["", f"**{c.check}** {code(c.subject)}: biggest contributors", ""]
            lines += [f"- {code(name)} {show(size, c.unit, options.binary)}" for name, size in c.offenders]
    for c in result.checks:
        if c.passed and c.note:
            lines += ["", f"{code(c.subject)}: {code(c.note)}"]
    if result.lock_findings:
        lines += ["", "**the lock's sizes differ from the index** (the checks above use the index's):", ""]
        lines += [f"- {f.rule} {code(where(f))}: {code(f.message)}" for f in result.lock_findings]
    if report.sources:
        lines += ["", "Budgets from: " + "; ".join(f"{code(k)} ← {code(v)}" for k, v in report.sources)]
    return "\n".join(lines) + "\n"


def check_dict(c: BudgetCheck) -> dict[str, Any]:
    return {
        "check": c.check,
        "rule": c.rule,
        "subject": c.subject,
        "target": c.target,
        "measured": c.measured,
        "limit": c.limit,
        "unit": c.unit,
        "verdict": c.verdict,
        "passed": c.passed,
        "offenders": [{"name": n, "value": v} for n, v in c.offenders],
        "note": c.note or None,
        "path": c.path or None,
        "line": c.line,
        "unknown_size": list(c.unknown_sizes),
        "builds": list(c.builds),
        "not_installable": list(c.not_installable),
        "accelerator_packages": c.count,
    }


def gate_json(report: GateReport, options: RenderOptions) -> str:
    """`{"schema": 1, "passed", "checks": [...], "findings": [...], "sources": {...}}`."""
    doc = {
        "schema": SCHEMA,
        "passed": report.passed,
        "checks": [check_dict(c) for c in report.result.checks],
        "findings": [finding_dict(f) for f in report.findings],
        "sources": dict(report.sources),
    }
    return json.dumps(doc, indent=options.indent) + "\n"


def gate_sarif(report: GateReport, options: RenderOptions) -> str:
    """SARIF with the budget rules and a result per check that did not pass."""
    return render_sarif(SarifInput(report.findings, report.rules), options)


def gate_gnu(report: GateReport, options: RenderOptions) -> str:
    """One `path:line: DA5xx message` line per check that did not pass."""
    return render_gnu(report.findings)


GATE_RENDERERS: dict[OutputFormat, Renderer[GateReport]] = {
    OutputFormat.table: gate_table,
    OutputFormat.json: gate_json,
    OutputFormat.markdown: gate_markdown,
    OutputFormat.sarif: gate_sarif,
    OutputFormat.gnu: gate_gnu,
}
