"""`depaudit lint` output in every format."""

from __future__ import annotations

import json
from typing import Any

from depaudit.lint import LintReport
from depaudit.render.findings import finding_dict, findings_markdown, findings_table, render_gnu, summary_line
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions
from depaudit.render.sarif import SarifInput, render_sarif

SCHEMA = 1


def lint_json(report: LintReport, options: RenderOptions) -> str:
    """`{"schema": 1, "files": [...], "findings": [...]}`."""
    doc = {"schema": SCHEMA, "files": list(report.files), "findings": [finding_dict(f) for f in report.findings]}
    return json.dumps(doc, indent=options.indent) + "\n"


def lint_markdown(report: LintReport, options: RenderOptions) -> str:
    """A heading, the summary line, and the findings table."""
    lines = ["## depaudit lint", "", summary_line(report.findings, len(report.files)), ""]
    if report.findings:
        lines += [*findings_markdown(report.findings, options), ""]
    return "\n".join(lines)


def lint_table(report: LintReport, options: RenderOptions) -> HumanOutput:
    """The findings table (when there are findings) and the summary line."""
    from rich.text import Text

    items: list[Any] = [findings_table(report.findings)] if report.findings else []
    items.append(Text(summary_line(report.findings, len(report.files))))
    return HumanOutput(tuple(items))


def lint_sarif(report: LintReport, options: RenderOptions) -> str:
    """SARIF 2.1.0 with the rules that ran and a result per finding."""
    return render_sarif(SarifInput(report.findings, report.rules), options)


def lint_gnu(report: LintReport, options: RenderOptions) -> str:
    """One `path:line:col: DAxxx message` line per finding."""
    return render_gnu(report.findings)


LINT_RENDERERS: dict[OutputFormat, Renderer[LintReport]] = {
    OutputFormat.table: lint_table,
    OutputFormat.json: lint_json,
    OutputFormat.markdown: lint_markdown,
    OutputFormat.sarif: lint_sarif,
    OutputFormat.gnu: lint_gnu,
}
