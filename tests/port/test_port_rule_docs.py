"""Every DA4xx rule has a docs page (why, bad, good, severity, auto-fixable) and an index row that
matches the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.rules.base import describe

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"
PORT_RULES = [r for r in describe() if r.id.startswith("DA4")]


@pytest.mark.parametrize("rule", PORT_RULES, ids=lambda r: r.id)
def test_docs_page(rule):
    page = (DOCS / f"{rule.id}.md").read_text()
    assert page.startswith(f"# {rule.id} — {rule.summary}\n")
    for section in ("## Why", "## Bad", "## Good"):
        assert section in page, section
    assert f"| Severity | {rule.severity} |" in page
    assert f"| Auto-fixable | {'yes' if rule.fixable else 'no'}" in page


def test_index_rows():
    index = (DOCS / "README.md").read_text()
    for rule in PORT_RULES:
        assert (
            f"| [{rule.id}]({rule.id}.md) | {rule.severity} | {rule.summary} | {'yes' if rule.fixable else 'no'} |"
            in index
        )
