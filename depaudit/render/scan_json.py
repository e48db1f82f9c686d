"""The JSON contract (`"schema": 1`) of `depaudit scan`: sizes in integer bytes, unknown as null.

Within schema 1 keys are only ever added. Each package's `via` is its shortest path from a workspace
root (root first, the package last); `parent` names the package that brings it in. A path longer than
`VIA_LIMIT` names is bounded so a pathological lock (a 20,000-package chain) still gives output linear
in its size: `via` keeps the root and the last `VIA_LIMIT - 1` names, and `via_omitted` says how many
were left out between them; the full path is recovered by following `parent` upwards.
"""

from __future__ import annotations

import json
from typing import Any

from depaudit.model import InstalledPackage, InstallScope, RunReport, SizeReport, TargetReport, Via
from depaudit.render.findings import finding_dict  # one JSON shape of a finding in every command

SCHEMA = 1
VIA_LIMIT = 32


def target_dict(report: TargetReport) -> dict[str, Any]:
    target = report.target
    if not report.supported:
        return {
            "target": target.name,
            "python": target.python,
            "supported": False,
            "installable": False if report.unresolved else None,  # None: the lock excludes the target
            "reason": report.unsupported_reason,
            "total_bytes": None,
            "accelerator_bytes": None,
            "unknown_size": [],
            "sdist_only": [],
            "builds": [],
            "local_paths": [],
            "not_installable": [],
            "conditional": [],
            "packages": [],
            "top_level": [],
        }
    return {
        "target": target.name,
        "python": target.python,
        "supported": True,
        "installable": True,
        "total_bytes": report.total_bytes,
        "accelerator_bytes": report.accelerator_bytes,
        "unknown_size": list(report.unknown_size),
        "sdist_only": list(report.sdist_only),
        "builds": list(report.builds),
        "local_paths": list(report.local_paths),
        "not_installable": list(report.not_installable),
        "conditional": list(report.conditional),
        "packages": [package_dict(p) for p in report.packages],
        "top_level": [
            {
                "name": c.name,
                "total_bytes": c.total_bytes,
                "accelerator_bytes": c.accelerator_bytes,
                "packages": list(c.packages),
                "unknown_size": c.unknown,
            }
            for c in report.top_level
        ],
    }


def bounded_via(path: Via, limit: int = VIA_LIMIT) -> tuple[list[str], int]:
    """(names, omitted): the whole path when it has at most `limit` names, else the root and the last
    `limit - 1` names, with the count of names left out between them."""
    if path.depth <= limit:
        return list(path.names()), 0
    return [path.root, *path.tail(limit - 1)], path.depth - limit


def package_dict(p: InstalledPackage) -> dict[str, Any]:
    via, omitted = bounded_via(p.path)
    out: dict[str, Any] = {
        "name": p.name,
        "version": p.package.version,
        "wheel": p.wheel.filename if p.wheel else None,
        "size": p.size,
        "accelerator": p.accelerator is not None,
        "family": p.accelerator,
        "via": via,
        "parent": p.parent,
        "depth": p.path.depth - 1,
        "install_kind": p.install_kind,
    }
    if p.accelerator_basis:
        out["accelerator_basis"] = p.accelerator_basis
    if omitted:
        out["via_omitted"] = omitted
    if p.reason:
        out["reason"] = p.reason
    if p.size_error:
        out["size_error"] = p.size_error
    if p.condition:
        out["condition"] = p.condition  # may install: the marker turns on what depaudit cannot know
    return out


def scope_dict(scope: InstallScope) -> dict[str, Any]:
    return {
        "packages": list(scope.packages),
        "how": scope.how,
        "extras": list(scope.extras),
        "groups": list(scope.groups),
        "production": scope.production,
    }


def input_dict(report: SizeReport) -> dict[str, Any]:
    """What was scanned: the input kind, and for an input resolved rather than locked, by which tool,
    as of which date and with which `--exclude-newer` cut-off (null: none, the result is as of now)."""
    resolved = report.resolved
    return {
        "kind": report.input_kind,
        "resolved": None
        if resolved is None
        else {"by": resolved.tool, "as_of": resolved.as_of, "exclude_newer": resolved.exclude_newer},
    }


def run_dict(run: RunReport) -> dict[str, Any]:
    """One RUN line of a Dockerfile scan (sizes in bytes, null when unknown or not resolved)."""
    return {
        "path": run.path,
        "line": run.line,
        "end_line": run.end_line,
        "command": run.command,
        "target": run.target,
        "packages": run.packages,
        "download_bytes": run.download,
        "installed_bytes": run.installed,
        "accelerator_bytes": run.accelerator,
        "unknown_size": run.unknown,
        "cpu_index": {
            "download_bytes": run.cpu_download,
            "accelerator_bytes": run.cpu_accelerator,
            "problem": run.cpu_problem,
        },
        "problem": run.problem,
    }


def render_json(report: SizeReport, indent: int | None = None) -> str:
    """The scan report as the documented JSON document (schema 1); compact unless `indent` is given
    (the C encoder only runs without indentation, and a 2 MB lock's report is 1 MB of JSON)."""
    doc = {
        "schema": SCHEMA,
        "lockfile": report.lockfile,
        "size_kind": "installed" if report.installed_sizes else "download",
        "size_basis": report.size_basis,
        "sizes_checked": report.sizes_checked,
        "selection": scope_dict(report.scope),
        "input": input_dict(report),
        "runs": [run_dict(r) for r in report.runs],
        "targets": [target_dict(t) for t in report.targets],
        "findings": [finding_dict(f) for f in report.findings],
    }
    return json.dumps(doc, indent=indent) + "\n"
