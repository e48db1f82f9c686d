"""Findings of `depaudit lint` as JSON (`{"schema": 1, "findings": [...]}`), markdown, or a rich table."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from depaudit.model import Finding

SCHEMA = 1


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule, "severity": finding.severity, "message": finding.message,
        "path": finding.path, "line": finding.line, "column": finding.column,
        "fixable": finding.fixable,
    }


def render_findings_json(findings: Sequence[Finding], files: Sequence[str] = ()) -> str:
    """The JSON document: schema version, the files linted, and every finding."""
    doc = {"schema": SCHEMA, "files": list(files), "findings": [finding_dict(f) for f in findings]}
    return json.dumps(doc, indent=2) + "\n"


def summary_line(findings: Sequence[Finding], files: int) -> str:
    """E.g. `3 findings (1 error, 2 warnings) in 2 Dockerfiles`."""
    counts = Counter(f.severity for f in findings)
    noun = "Dockerfile" if files == 1 else "Dockerfiles"
    if not findings:
        return f"no findings in {files} {noun}"
    parts = [f"{counts[s]} {s}{'' if counts[s] == 1 else 's'}" for s in ("error", "warning", "info") if counts[s]]
    total = len(findings)
    return f"{total} finding{'' if total == 1 else 's'} ({', '.join(parts)}) in {files} {noun}"


def _where(f: Finding) -> str:
    return f"{f.path}:{f.line}" if f.line is not None else f.path


def render_findings_markdown(findings: Sequence[Finding], files: Sequence[str] = ()) -> str:
    lines = ["## depaudit lint", "", summary_line(findings, len(files)), ""]
    if findings:
        lines += ["| Where | Rule | Severity | Fixable | Message |", "| --- | --- | --- | --- | --- |"]
        for f in findings:
            message = f.message.replace("|", "\\|").replace("\n", " ")
            rule = f"[{f.rule}](docs/rules/{f.rule}.md)"
            lines.append(f"| `{_where(f)}` | {rule} | {f.severity} | {'yes' if f.fixable else 'no'} | {message} |")
        lines.append("")
    return "\n".join(lines)


def findings_table(findings: Sequence[Finding]):
    """A rich Table of findings (where, rule, severity, fixable, message)."""
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for name in ("Where", "Rule", "Severity", "Fix", "Message"):
        table.add_column(name, overflow="fold", no_wrap=name in ("Where", "Rule", "Severity", "Fix"),
                         ratio=1 if name == "Message" else None)
    styles = {"error": "red", "warning": "yellow", "info": "cyan"}
    for f in findings:
        table.add_row(_where(f), f.rule, f"[{styles.get(f.severity, '')}]{f.severity}[/]",
                      "yes" if f.fixable else "", f.message)
    return table
