"""SARIF 2.1.0 for code scanning (GitHub, GitLab, IDEs), from any command's findings.

What code scanning needs, and where it comes from:
- every rule that ran, with a short description (its summary), a full description and `help` in text
  and markdown (its docs/rules/DAxxx.md page), a `helpUri` where the page really is (the configured
  docs URL, else the page shipped with depaudit) and its default level;
- each result relative to the repository root: `uri` relative to `%SRCROOT%`, which
  `originalUriBaseIds` maps to the root's absolute file URI (a path outside the root stays absolute);
- stable `partialFingerprints` from the finding's identity: rule, path, and its target and package
  when it has them (a lock finding per target: an alert stays matched when another target's goes away);
  otherwise the finding's line with whitespace normalised — not the line number, so an alert survives
  lines being inserted above it. Only findings with one identity (identical lines in one file) are told
  apart by their order.
The line text is read through `RenderOptions`' caller-supplied reader, so rendering does no I/O itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depaudit import __version__
from depaudit.model import Finding
from depaudit.render.formats import RenderOptions
from depaudit.render.rule_help import rule_help, rule_url
from depaudit.rules.base import RuleDoc

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "depaudit/v1"


@dataclass(frozen=True)
class SarifInput:
    """What a SARIF log is made of: the findings and the rules that ran (a clean run still lists them)."""

    findings: Sequence[Finding]
    rules: Sequence[RuleDoc]


def _uri(path: str, root: Path) -> tuple[str, bool]:
    """(uri, relative?): the path relative to `root` with forward slashes when inside it, else an
    absolute file URI."""
    resolved = Path(path).resolve()
    try:
        relative = Path(os.path.relpath(resolved, root.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return resolved.as_uri(), False
    if relative.startswith(".."):
        return resolved.as_uri(), False
    return relative, True


def line_hash(finding: Finding, uri: str, line_text: str | None) -> str:
    """sha256 (32 hex digits) of the finding's identity: rule, repository path, then its target and
    package when it has either, else the whitespace-normalised line (the message when there is no line)."""
    if finding.target is not None or finding.package is not None:
        content = f"target={finding.target or ''}\0package={finding.package or ''}"
    else:
        content = " ".join(line_text.split()) if line_text is not None else finding.message
    return hashlib.sha256(f"{finding.rule}\0{uri}\0{content}".encode()).hexdigest()[:32]


def _rule(doc: RuleDoc, docs_url: str | None) -> dict[str, Any]:
    page = rule_help(doc.id, doc.summary)
    family = {"1": "lock", "2": "project", "3": "dockerfile", "4": "model-export", "5": "budget"}.get(doc.id[2], "")
    return {
        "id": doc.id,
        "name": doc.name or doc.id,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": page.full_description},
        "help": {"text": page.text, "markdown": page.markdown},
        **({"helpUri": url} if (url := rule_url(doc.id, docs_url)) else {}),
        "defaultConfiguration": {"level": LEVELS[doc.severity]},
        "properties": {"fixable": doc.fixable, "tags": ["depaudit", family] if family else ["depaudit"]},
    }


def _location(finding: Finding, uri: str, relative: bool) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = SRCROOT
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if finding.line:  # SARIF lines start at 1; a finding without a line has no region
        region = {"startLine": finding.line}
        if finding.column is not None:
            region["startColumn"] = finding.column
        physical["region"] = region
    return {"physicalLocation": physical}


def _results(data: SarifInput, options: RenderOptions, root: Path, index: Mapping[str, int]) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    results = []
    for f in data.findings:
        uri, relative = _uri(f.path, root) if f.path else ("", False)
        read = options.read_line
        keyed = f.target is not None or f.package is not None  # identity without the line: not read
        text = read(f.path, f.line) if read is not None and f.line and not keyed else None
        base = line_hash(f, uri, text)
        seen[base] += 1  # identical lines in one file: the first, the second, ...
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [_location(f, uri, relative)] if f.path else [],
            "partialFingerprints": {FINGERPRINT_KEY: f"{base}:{seen[base]}"},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.target:
            result["properties"] = {"target": f.target}
        results.append(result)
    return results


def sarif_log(data: SarifInput, options: RenderOptions) -> dict[str, Any]:
    """The SARIF log as a dict (one run). Paths are relative to `options.source_root` (default: the
    working folder)."""
    root = options.source_root or Path.cwd()
    docs = {d.id: d for d in data.rules}
    for f in data.findings:  # a finding of a rule not listed still gets its rule entry
        docs.setdefault(f.rule, RuleDoc(f.rule, f.severity, f.rule, f.fixable))
    rules = [_rule(d, options.docs_url) for _, d in sorted(docs.items())]
    index = {r["id"]: i for i, r in enumerate(rules)}
    driver: dict[str, Any] = {"name": "depaudit", "version": __version__, "semanticVersion": __version__}
    if options.docs_url:  # only an address that was configured: the project URLs are placeholders
        driver["informationUri"] = options.docs_url.split("{id}", 1)[0]
    driver["rules"] = rules
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: {"uri": root.resolve().as_uri() + "/"}},
        "results": _results(data, options, root, index),
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(data: SarifInput, options: RenderOptions) -> str:
    """The SARIF log as indented JSON text."""
    return json.dumps(sarif_log(data, options), indent=2) + "\n"
