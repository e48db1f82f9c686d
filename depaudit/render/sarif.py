"""SARIF 2.1.0 output for code-scanning tools (GitHub, GitLab, IDEs): one run, the rules that exist
(with help links to docs/rules/DAxxx.md), and a result per finding."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from depaudit import __version__
from depaudit.model import Finding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
DOCS_BASE = "docs/rules/"


def _uri(path: str, base: Path) -> str:
    """A path relative to `base` (forward slashes) when inside it, else an absolute file URI."""
    resolved = Path(path).resolve()
    try:
        relative = Path(os.path.relpath(resolved, base.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return resolved.as_uri()
    return resolved.as_uri() if relative.startswith("..") else relative


def render_sarif(findings: Sequence[Finding], rule_docs: Sequence, *, base: Path | None = None,
                 docs_base: str = DOCS_BASE) -> str:
    """A SARIF 2.1.0 log. `rule_docs` are `depaudit.rules.base.RuleDoc`s (id, severity, summary,
    fixable) of the rules that ran; `base` is the directory result paths are made relative to."""
    base = base or Path.cwd()
    rules = [
        {
            "id": r.id,
            "name": r.id,
            "shortDescription": {"text": r.summary},
            "helpUri": f"{docs_base}{r.id}.md",
            "defaultConfiguration": {"level": LEVELS[r.severity]},
            "properties": {"fixable": r.fixable},
        }
        for r in rule_docs
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        location = {"artifactLocation": {"uri": _uri(f.path, base)}}
        if f.line is not None:
            region = {"startLine": f.line}
            if f.column is not None:
                region["startColumn"] = f.column
            location["region"] = region
        result = {
            "ruleId": f.rule,
            "level": LEVELS[f.severity],
            "message": {"text": f.message},
            "locations": [{"physicalLocation": location}],
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "depaudit", "version": __version__, "rules": rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(log, indent=2) + "\n"
