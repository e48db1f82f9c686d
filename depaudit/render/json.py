"""The JSON contract (`"schema": 1`) of `depaudit scan`: sizes in integer bytes, unknown as null."""

from __future__ import annotations

import json
from typing import Any

from depaudit.model import SizeReport, TargetReport
from depaudit.render.findings import finding_dict  # one JSON shape of a finding in every command

SCHEMA = 1


def target_dict(report: TargetReport) -> dict[str, Any]:
    target = report.target
    if not report.supported:
        return {
            "target": target.name, "python": target.python, "supported": False,
            "reason": report.unsupported_reason, "total_bytes": None, "accelerator_bytes": None,
            "unknown_size": [], "sdist_only": [], "packages": [], "top_level": [],
        }
    return {
        "target": target.name,
        "python": target.python,
        "supported": True,
        "total_bytes": report.total_bytes,
        "accelerator_bytes": report.accelerator_bytes,
        "unknown_size": list(report.unknown_size),
        "sdist_only": list(report.sdist_only),
        "packages": [
            {
                "name": p.name,
                "version": p.package.version,
                "wheel": p.wheel.filename if p.wheel else None,
                "size": p.size,
                "accelerator": p.accelerator is not None,
                "family": p.accelerator,
                "via": list(p.via),
                **({"reason": p.reason} if p.reason else {}),
                **({"size_error": p.size_error} if p.size_error else {}),
            }
            for p in report.packages
        ],
        "top_level": [
            {"name": c.name, "total_bytes": c.total_bytes, "accelerator_bytes": c.accelerator_bytes,
             "packages": list(c.packages), "unknown_size": c.unknown}
            for c in report.top_level
        ],
    }


def render_json(report: SizeReport, indent: int | None = None) -> str:
    """The scan report as the documented JSON document (schema 1); compact unless `indent` is given
    (the C encoder only runs without indentation, and a 2 MB lock's report is 1 MB of JSON)."""
    doc = {
        "schema": SCHEMA,
        "lockfile": report.lockfile,
        "size_kind": "installed" if report.installed_sizes else "download",
        "targets": [target_dict(t) for t in report.targets],
        "findings": [finding_dict(f) for f in report.findings],
    }
    return json.dumps(doc, indent=indent) + "\n"
