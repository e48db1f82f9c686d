"""`depaudit scan` output in every format: the size report (table, JSON, markdown) and its findings
— the lock rules' (DA1xx/DA2xx) and the budgets' (DA5xx) — also as SARIF and `gnu` lines."""

from __future__ import annotations

from typing import Any

from depaudit.audit import ScanOutcome
from depaudit.render.escaping import escape_lines
from depaudit.render.findings import findings_markdown, gnu_line, render_gnu
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions
from depaudit.render.scan_json import render_json
from depaudit.render.scan_markdown import render_markdown
from depaudit.render.scan_table import report_renderables


def scan_table(doc: ScanOutcome, options: RenderOptions) -> HumanOutput:
    """Per target a package table and a per-dependency cost table, then one line per finding."""
    from rich.text import Text

    items: list[Any] = list(report_renderables(doc.report, binary=options.binary, top=options.top))
    items += [Text(gnu_line(f)) for f in doc.report.findings]
    return HumanOutput(tuple(items))


def scan_json(doc: ScanOutcome, options: RenderOptions) -> str:
    """The scan JSON contract (schema 1)."""
    return render_json(doc.report, indent=options.indent)


def scan_markdown(doc: ScanOutcome, options: RenderOptions) -> str:
    """The scan report in markdown (findings with links to their rule pages)."""
    text = render_markdown(
        doc.report, binary=options.binary, top=options.top, docs_url=options.docs_url, checks=doc.checks
    )
    if doc.budget_findings:
        text += "\n".join(["", "### budgets", "", *findings_markdown(doc.budget_findings, options), ""])
    return escape_lines(text)  # names and versions from the lock: no control characters in a comment


def scan_sarif(doc: ScanOutcome, options: RenderOptions) -> str:
    """SARIF of the lock and budget findings."""
    # Imported here: SARIF brings hashlib and friends (~3 ms), which every other scan format skips.
    from depaudit.render.sarif import SarifInput, render_sarif

    return render_sarif(SarifInput(doc.findings, doc.rules), options)


def scan_gnu(doc: ScanOutcome, options: RenderOptions) -> str:
    """One `path:line: DAxxx message` line per lock or budget finding."""
    return render_gnu(doc.findings)


SCAN_RENDERERS: dict[OutputFormat, Renderer[ScanOutcome]] = {
    OutputFormat.table: scan_table,
    OutputFormat.json: scan_json,
    OutputFormat.markdown: scan_markdown,
    OutputFormat.sarif: scan_sarif,
    OutputFormat.gnu: scan_gnu,
}
