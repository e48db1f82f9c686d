"""Every rule has a docs page (why, bad, good, auto-fixable) and a row in the index that matches the
registry; every registered rule is linked from the index. SARIF help comes from these pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.rules.base import describe

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules"
DOCKER_RULES = [r for r in describe() if r.id.startswith("DA3")]
PORT_RULES = [r for r in describe() if r.id.startswith("DA4")]


def test_da4_rules_registered():
    rules = {r.id: r for r in describe() if r.id.startswith("DA4")}
    assert sorted(rules) == [f"DA40{n}" for n in range(1, 10)]
    errors = {"DA401", "DA402", "DA403", "DA406", "DA408", "DA409"}
    assert {r for r, d in rules.items() if d.severity == "error"} == errors
    assert {r for r, d in rules.items() if d.fixable} == {"DA407"}


def test_ids_are_stable():
    assert [r.id for r in DOCKER_RULES] == [f"DA3{n:02d}" for n in range(1, 11)]
    assert {r.id for r in DOCKER_RULES if r.fixable} == {"DA302", "DA304", "DA307"}


@pytest.mark.parametrize("rule", DOCKER_RULES + PORT_RULES, ids=lambda r: r.id)
def test_docs_page(rule):
    page = (DOCS / f"{rule.id}.md").read_text()
    assert page.startswith(f"# {rule.id} — ")
    if rule in PORT_RULES:  # DA4xx pages are titled with the rule's summary
        assert page.startswith(f"# {rule.id} — {rule.summary}\n")
    for section in ("## Why", "## Bad", "## Good"):
        assert section in page, section
    assert f"| Severity | {rule.severity} |" in page
    assert f"| Auto-fixable | {'yes' if rule.fixable else 'no'}" in page


def test_index_matches_registry():
    index = (DOCS / "README.md").read_text()
    for rule in DOCKER_RULES + PORT_RULES:
        assert (
            f"| [{rule.id}]({rule.id}.md) | {rule.severity} | {rule.summary} | {'yes' if rule.fixable else 'no'} |"
            in index
        )
    for rule in describe():
        assert f"[{rule.id}]({rule.id}.md)" in index, f"{rule.id} missing from docs/rules/README.md"


@pytest.mark.parametrize("rule", describe(), ids=lambda r: r.id)
def test_every_rule_has_a_page_sarif_can_use(rule):
    from depaudit.render.rule_help import rule_help

    page = (DOCS / f"{rule.id}.md").read_text()
    assert page.startswith(f"# {rule.id} — ") and "## Why" in page and "## Bad" in page and "## Good" in page
    assert (
        f"| [{rule.id}]({rule.id}.md) | {rule.severity} | {rule.summary} | {'yes' if rule.fixable else 'no'} |"
        in (DOCS / "README.md").read_text()
    )
    info = rule_help(rule.id, rule.summary)
    assert info.markdown == page and info.full_description != rule.summary and "##" not in info.text
