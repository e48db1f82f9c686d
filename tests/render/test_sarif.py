"""SARIF that code scanning accepts: validates against the official schema; rules with descriptions,
help and an absolute helpUri; results relative to the repository root; fingerprints that survive lines
being inserted above a finding and tell identical lines apart."""

from __future__ import annotations

from pathlib import Path

from depaudit.model import Finding
from depaudit.render.formats import RenderOptions
from depaudit.render.rule_help import rule_url
from depaudit.render.sarif import SRCROOT, SarifInput, sarif_log
from depaudit.rules.base import describe
from depaudit.sources.lines import SourceLines

from sarif_schema import validate_sarif

ROOT = Path(__file__).resolve().parents[2]


def _results(findings, options):
    log = validate_sarif(sarif_log(SarifInput(findings, describe("DA3")), options))
    return log, log["runs"][0]["results"]


def test_fingerprints_follow_content_not_line_numbers(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nRUN pip install torch\n")
    before = Finding("DA302", "error", "torch from PyPI", str(dockerfile), 2)
    options = RenderOptions(source_root=tmp_path, read_line=SourceLines())
    _, (first,) = _results([before], options)
    dockerfile.write_text("FROM python:3.11-slim\n# a comment\n\nRUN   pip install torch\n")  # moved, re-spaced
    moved = Finding("DA302", "error", "torch from PyPI", str(dockerfile), 4)
    _, (second,) = _results([moved], RenderOptions(source_root=tmp_path, read_line=SourceLines()))
    assert first["partialFingerprints"] == second["partialFingerprints"]
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    dockerfile.write_text("FROM python:3.11-slim\nRUN pip install torchvision\n")  # different content
    _, (third,) = _results([before], RenderOptions(source_root=tmp_path, read_line=SourceLines()))
    assert third["partialFingerprints"] != first["partialFingerprints"]


def test_identical_lines_get_distinct_fingerprints(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM a\nRUN pip install torch\nFROM b\nRUN pip install torch\n")
    found = [Finding("DA302", "error", "m", str(dockerfile), line) for line in (2, 4)]
    _, results = _results(found, RenderOptions(source_root=tmp_path, read_line=SourceLines()))
    prints = [r["partialFingerprints"]["depaudit/v1"] for r in results]
    assert prints[0].split(":")[0] == prints[1].split(":")[0] and prints[0] != prints[1]


def test_uris_are_relative_to_the_repository_root(tmp_path, monkeypatch):
    (tmp_path / "svc").mkdir()
    monkeypatch.chdir(tmp_path / "svc")
    inside = Finding("DA307", "warning", "root", "Dockerfile", 1)
    outside = Finding("DA307", "warning", "root", "/etc/Dockerfile", None)
    log, results = _results([inside, outside], RenderOptions(source_root=tmp_path))
    assert log["runs"][0]["originalUriBaseIds"][SRCROOT]["uri"] == tmp_path.as_uri() + "/"
    location = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "svc/Dockerfile", "uriBaseId": SRCROOT}
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "file:///etc/Dockerfile"}
    assert "region" not in results[1]["locations"][0]["physicalLocation"]


def test_rules_carry_help_and_absolute_help_uris():
    log = validate_sarif(sarif_log(SarifInput([], describe()), RenderOptions(docs_url="https://example.com/r/")))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [d.id for d in describe()]
    for rule in rules:
        assert rule["helpUri"] == f"https://example.com/r/{rule['id']}.md"
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["markdown"].startswith(f"# {rule['id']}") and rule["help"]["text"]
        assert rule["name"].isidentifier()
    assert rule_url("DA301", "https://example.com/rules/{id}.html") == "https://example.com/rules/DA301.html"


def test_without_a_docs_url_help_points_at_the_shipped_page_never_a_made_up_repository():
    log = validate_sarif(sarif_log(SarifInput([], describe()), RenderOptions()))
    driver = log["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver  # pyproject's project URLs are placeholders: not used
    for rule in driver["rules"]:
        page = ROOT / "docs" / "rules" / f"{rule['id']}.md"
        assert rule["helpUri"] == page.as_uri() and page.is_file()
    assert "github.com" not in str(log)
    assert rule_url("DA999") is None  # no page, no URI


def test_fingerprints_come_from_identity_and_stay_when_other_findings_go():
    """DA101 per target points at the same lock line on every target; when one target's finding goes
    away, the others keep their fingerprints (no ordinal renumbering)."""
    targets = ["linux-x86_64", "linux-aarch64", "windows-amd64"]
    every = [Finding("DA101", "warning", f"{t} installs …", "uv.lock", 376, target=t) for t in targets]
    options = RenderOptions(source_root=ROOT)

    def prints(findings):
        log = validate_sarif(sarif_log(SarifInput(findings, describe("DA1")), options))
        results = log["runs"][0]["results"]
        return {r.get("properties", {}).get("target"): r["partialFingerprints"]["depaudit/v1"] for r in results}

    all_three = prints(every)
    assert len(set(all_three.values())) == 3
    assert prints(every[1:]) == {t: all_three[t] for t in targets[1:]}
    assert prints([every[2], every[0]]) == {t: all_three[t] for t in (targets[2], targets[0])}
    moved = [Finding("DA101", "warning", "other text, other size", "uv.lock", 12, target=t) for t in targets]
    assert prints(moved) == all_three  # the message and the line it points at are not its identity
    package = Finding("DA103", "error", "m", "pyproject.toml", 18, package="torch")
    assert prints([package, every[0]]) == {None: prints([package])[None], "linux-x86_64": all_three["linux-x86_64"]}
