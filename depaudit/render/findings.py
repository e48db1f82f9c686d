"""Findings as output, the pieces every command that reports findings shares: the JSON object of one
finding, the compact `gnu` line, the summary line, a rich table and a markdown table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from depaudit.model import Finding
from depaudit.render.escaping import escape_control
from depaudit.render.formats import RenderOptions

if TYPE_CHECKING:
    from rich.table import Table


def finding_dict(finding: Finding) -> dict[str, Any]:
    """The JSON object of one finding (the same keys in every command's JSON)."""
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "fixable": finding.fixable,
        "target": finding.target,
        **({"package": finding.package} if finding.package else {}),
    }


def where(finding: Finding) -> str:
    """`path[:line[:column]]` (lines start at 1: no `:0`)."""
    text = finding.path
    if finding.line:
        text += f":{finding.line}"
        if finding.column is not None:
            text += f":{finding.column}"
    return text


def gnu_line(finding: Finding) -> str:
    """`path:line:col: DAxxx message` on one line (GNU style, what editors and pre-commit parse)."""
    return escape_control(f"{where(finding)}: {finding.rule} {finding.message}")


def render_gnu(findings: Sequence[Finding]) -> str:
    """One `gnu_line` per finding ("" when there are none)."""
    return "".join(gnu_line(f) + "\n" for f in findings)


def summary_line(findings: Sequence[Finding], files: int) -> str:
    """E.g. `3 findings (1 error, 2 warnings) in 2 files`."""
    counts = Counter(f.severity for f in findings)
    noun = "file" if files == 1 else "files"
    if not findings:
        return f"no findings in {files} {noun}"
    parts = [f"{counts[s]} {s}{'' if counts[s] == 1 else 's'}" for s in ("error", "warning", "info") if counts[s]]
    total = len(findings)
    return f"{total} finding{'' if total == 1 else 's'} ({', '.join(parts)}) in {files} {noun}"


def findings_table(findings: Sequence[Finding]) -> Table:
    """A rich Table of findings (where, rule, severity, fixable, message); text escaped."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold", expand=False)
    for name in ("Where", "Rule", "Severity", "Fix", "Message"):
        table.add_column(name, overflow="fold", no_wrap=name != "Message")
    styles = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        table.add_row(
            Text(escape_control(where(f))),
            f.rule,
            Text(f.severity, style=styles.get(f.severity, "")),
            "yes" if f.fixable else "",
            Text(escape_control(f.message)),
        )
    return table


def findings_markdown(findings: Sequence[Finding], options: RenderOptions) -> list[str]:
    """A markdown table of findings (rule IDs link to their pages)."""
    from depaudit.render.markdown import code_cell  # markdown only: scan's other formats skip it (start-up)
    from depaudit.render.rule_help import rule_url  # rule pages: only markdown links need them (start-up)

    lines = ["| Where | Rule | Severity | Fixable | Message |", "| --- | --- | --- | --- | --- |"]
    for f in findings:
        # a link only to a page a reviewer can open: the configured docs URL (a shipped page is local)
        rule = f"[{f.rule}]({rule_url(f.rule, options.docs_url)})" if options.docs_url else f"`{f.rule}`"
        # messages quote names and URLs from the checked files: a code span, where nothing is markup
        lines.append(
            f"| {code_cell(where(f))} | {rule} | {f.severity} | {'yes' if f.fixable else 'no'} | {code_cell(f.message)} |"
        )
    return lines
