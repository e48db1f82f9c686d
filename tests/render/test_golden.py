"""Golden files for every renderer of every command that reports findings (the inputs are in
conftest.py). A change to an output shows up as a diff of a committed file."""

from __future__ import annotations

import json

import pytest

from depaudit.audit import ScanOutcome
from depaudit.cli.output import plain_text
from depaudit.render.formats import HumanOutput, OutputFormat, render
from depaudit.render.gate import GATE_RENDERERS
from depaudit.render.lint import LINT_RENDERERS
from depaudit.render.scan import SCAN_RENDERERS
from depaudit.rules.run_lock import lock_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock

from fixture_paths import LOCKS
from golden_files import golden
from sarif_schema import validate_sarif

SUFFIX = {
    OutputFormat.table: "txt",
    OutputFormat.json: "json",
    OutputFormat.markdown: "md",
    OutputFormat.sarif: "sarif",
    OutputFormat.gnu: "gnu",
}


def _text(rendered) -> str:
    return plain_text(rendered) if isinstance(rendered, HumanOutput) else rendered


def _stable(text: str, tmp_path) -> str:
    return (
        text.replace(tmp_path.as_uri(), "file:///REPO")
        .replace('"version": "0.1.0"', '"version": "X"')
        .replace('"semanticVersion": "0.1.0"', '"semanticVersion": "X"')
    )


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=lambda f: f.value)
@pytest.mark.parametrize("command", ["lint", "gate"])
def test_lint_and_gate_renderers(command, fmt, request, options, tmp_path):
    table = {"lint": LINT_RENDERERS, "gate": GATE_RENDERERS}[command]
    text = _text(render(table, fmt, request.getfixturevalue(f"{command}_report"), options))
    if fmt is OutputFormat.sarif:
        validate_sarif(text)
    golden(f"render/{command}.{SUFFIX[fmt]}", _stable(text, tmp_path))


@pytest.mark.parametrize("fmt", [OutputFormat.gnu, OutputFormat.markdown, OutputFormat.sarif], ids=lambda f: f.value)
def test_scan_finding_renderers(fmt, options, tmp_path, size_cache, gate_report):
    lock = LOCKS / "torch-2.8" / "uv.lock"
    report = scan_lock(lock, targets=["linux-x86_64"], offline=True, cache_dir=size_cache)
    findings = lock_findings(LockSubject(load_lock(lock), report, lock.parent / "pyproject.toml"))
    budget = tuple(f for f in gate_report.findings if f.rule == "DA501")[-1:]
    doc = ScanOutcome(report._replace(findings=tuple(findings)), budget, gate_report.rules)
    text = _text(render(SCAN_RENDERERS, fmt, doc, options)).replace(str(LOCKS), "LOCKS")
    if fmt is OutputFormat.sarif:
        log = validate_sarif(text)
        assert [r["ruleId"] for r in log["runs"][0]["results"]] == [f.rule for f in doc.findings]
        return  # the rule help texts make a SARIF golden of the scan mostly a copy of docs/rules
    golden(f"render/scan.{SUFFIX[fmt]}", text)
    if fmt is OutputFormat.gnu:
        assert text.splitlines()[-1].startswith("uv.lock:40: DA501 ")


def test_json_renderers_are_json(lint_report, gate_report, options):
    for table, doc in ((LINT_RENDERERS, lint_report), (GATE_RENDERERS, gate_report)):
        assert json.loads(render(table, OutputFormat.json, doc, options))["schema"] == 1
