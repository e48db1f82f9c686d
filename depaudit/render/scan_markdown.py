"""Markdown output of `depaudit scan`, for pull-request comments and step summaries."""

from __future__ import annotations

from depaudit.model import InstalledPackage, SizeReport
from depaudit.render.escaping import markdown_cell as cell
from depaudit.render.findings import findings_markdown
from depaudit.render.formats import RenderOptions
from depaudit.render.scan_table import brought_by, conditional_note, describe_scope, unverified_note
from depaudit.units import format_size


def render_markdown(
    report: SizeReport, *, binary: bool = False, top: int | None = 15, docs_url: str | None = None
) -> str:
    """A summary table of all targets, then the largest packages of each, then the findings (rule IDs
    link to their pages under `docs_url`)."""
    kind = {"download": "download", "installed": "installed", "bytecode": "installed+pyc"}[report.size_basis]
    lines = [
        f"## depaudit scan: `{report.lockfile}`",
        "",
        describe_scope(report.scope, report.size_basis),
        "",
        *([unverified_note(report), ""] if report.lock_sizes_used else []),
        f"| target | python | packages | {kind} | accelerator | unknown size |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for t in report.targets:
        if not t.supported:
            reason = cell(t.unsupported_reason or "")
            lines.append(f"| {cell(t.target.name)} | {t.target.python} | not supported: {reason} | | | |")
            continue
        lines.append(
            f"| {cell(t.target.name)} | {t.target.python} | {len(t.packages)} | {format_size(t.total_bytes, binary)} "
            f"| {format_size(t.accelerator_bytes, binary)} | {len(t.unknown_size)} |"
        )
    for t in report.targets:
        if not t.supported:
            continue
        rows = sorted(t.packages, key=lambda p: (p.size is None, -(p.size or 0), p.name))
        lines += [
            "",
            f"### {t.target.name}",
            "",
            "| package | version | size | accelerator | via |",
            "|---|---|---:|---|---|",
        ]
        for p in rows[: top or None]:
            size = format_size(p.size, binary) if p.wheel else (p.reason or "no wheel")
            name, version, via = cell(p.name), cell(p.package.version or ""), cell(_via(p))
            lines.append(f"| {name} | {version} | {cell(size)} | {p.accelerator or ''} | {via} |")
        if top and len(rows) > top:
            lines.append(f"| … {len(rows) - top} more | | | | |")
        if t.conditional:
            lines += ["", cell(conditional_note(t))]
    if report.findings:
        lines += ["", "### findings", "", *findings_markdown(report.findings, RenderOptions(docs_url=docs_url))]
    return "\n".join(lines) + "\n"


def _via(item: InstalledPackage) -> str:
    """The whole path for ordinary depths; the bounded form of the table for absurd ones."""
    return " → ".join(item.via) if item.path.depth <= 8 else f"{item.path.root} → {brought_by(item.path)} → {item.name}"
