"""Markdown output of `depaudit scan`, for pull-request comments and step summaries: the verdict first
(each budget that did not pass, by how much, with what causes it), then what brings the accelerator wheels
in per target, the summary table, each target's largest packages and the findings. Every name, version,
path and message from the lock is a code span (`render.markdown`)."""

from __future__ import annotations

from collections.abc import Sequence

from depaudit.analysis.causes import accelerator_causes
from depaudit.budgets import BudgetCheck
from depaudit.model import InstalledPackage, InstallScope, SizeReport, TargetReport
from depaudit.render.findings import findings_markdown
from depaudit.render.formats import RenderOptions
from depaudit.render.markdown import cause_line, code, code_cell, path_text, verdict_lines
from depaudit.render.scan_table import (
    BASIS,
    brought_by,
    conditional_note,
    describe_resolution,
    run_cells,
    unverified_note,
)
from depaudit.units import format_size


def render_markdown(
    report: SizeReport,
    *,
    binary: bool = False,
    top: int | None = 15,
    docs_url: str | None = None,
    checks: Sequence[BudgetCheck] = (),
) -> str:
    """The verdict of `checks` (the budget checks that did not pass), the causes of each target's
    accelerator bytes, a summary table of all targets, then the largest packages of each, then the
    findings (rule IDs link to their pages under `docs_url` when one is configured)."""
    kind = {"download": "download", "installed": "installed", "bytecode": "installed+pyc"}[report.size_basis]
    lines = [f"## depaudit scan: {code(report.lockfile)}", ""]
    lead = verdict_lines(checks, binary) + _cause_lines(report, binary)
    if lead:
        lines += [*lead, ""]
    lines += [
        _scope(report.scope, report.size_basis),
        "",
        *((describe_resolution(report.resolved), "") if report.resolved is not None else ()),
        *((unverified_note(report), "") if report.lock_sizes_used else ()),
        *_runs(report, binary),
        f"| target | python | packages | {kind} | accelerator | unknown size |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for t in report.targets:
        if not t.supported:
            reason = code_cell(t.unsupported_reason or "")
            what = "not installable" if t.unresolved else "not supported"
            lines.append(f"| {t.target.name} | {t.target.python} | {what}: {reason} | | | |")
            continue
        lines.append(
            f"| {t.target.name} | {t.target.python} | {len(t.packages)} | {format_size(t.total_bytes, binary)} "
            f"| {format_size(t.accelerator_bytes, binary)} | {len(t.unknown_size)} |"
        )
    for t in report.targets:
        if t.supported:
            lines += _target_table(t, binary, top)
    if report.findings:
        lines += ["", "### findings", "", *findings_markdown(report.findings, RenderOptions(docs_url=docs_url))]
    return "\n".join(lines) + "\n"


def _cause_lines(report: SizeReport, binary: bool) -> list[str]:
    """Per target with accelerator wheels: the direct dependencies that bring them in (two at most)."""
    lines = []
    for t in report.targets:
        for cause in accelerator_causes(t.packages)[:2] if t.supported else ():
            lines.append(f"- accelerator on {t.target.name}: {cause_line(cause, binary)}")
    return lines


def _scope(scope: InstallScope, basis: str) -> str:
    """`describe_scope` with the members, extras and groups (names from the lock) as code spans."""
    if scope.how == "pylock":
        what = "every package the pylock.toml lists for the target"
    else:
        what = f"{', '.join(code(p) for p in scope.packages)} ({scope.how})"
    extras = f" with extras {', '.join(code(e) for e in scope.extras)}" if scope.extras else ""
    groups = (
        f"; dependency groups: {', '.join(code(g) for g in scope.groups)}"
        if scope.groups
        else "; production install: no dependency groups (not even [tool.uv] default-groups)"
    )
    return f"Install set: {what}{extras}{groups}. Sizes: {BASIS[basis]}."


def _target_table(t: TargetReport, binary: bool, top: int | None) -> list[str]:
    rows = sorted(t.packages, key=lambda p: (p.size is None, -(p.size or 0), p.name))
    lines = [
        "",
        f"### {t.target.name}",
        "",
        "| package | version | size | accelerator | via |",
        "|---|---|---:|---|---|",
    ]
    for p in rows[: top or None]:
        size = format_size(p.size, binary) if p.wheel else code_cell(p.reason or "no wheel")
        version = code_cell(p.package.version or "")
        lines.append(f"| {code_cell(p.name)} | {version} | {size} | {p.accelerator or ''} | {_via(p)} |")
    if top and len(rows) > top:
        lines.append(f"| … {len(rows) - top} more (`--all` shows every package) | | | | |")
    notes = _notes(t)
    if notes:
        lines += ["", *notes]
    return lines


def _notes(t: TargetReport) -> list[str]:
    """What the target's totals leave out, each name a code span."""
    notes = []
    if t.unknown_size:
        notes.append(f"- size unknown (totals are lower bounds): {', '.join(code(n) for n in t.unknown_size)}")
    if t.not_installable:
        names = ", ".join(code(n) for n in t.not_installable)
        notes.append(f"- cannot install on {t.target.name}: {names} (no wheel and no sdist for this target)")
    if t.builds:
        notes.append(f"- built from source at install time: {', '.join(code(n) for n in t.builds)}")
    if t.conditional:
        notes.append(f"- {code(conditional_note(t))}")
    return notes


def _via(item: InstalledPackage) -> str:
    """The whole path for ordinary depths; the bounded form of the table for absurd ones."""
    if item.path.depth <= 8:
        return path_text(item.via, shown=8).replace("|", "\\|")
    return code_cell(f"{item.path.root} → {brought_by(item.path)} → {item.name}")


def _runs(report: SizeReport, binary: bool) -> list[str]:
    """The RUN lines of a Dockerfile scan as a table (nothing for a lock); the command is a code span."""
    if not report.runs:
        return []
    lines = [
        "| line | target | command | download | installed | accelerator | from CPU index | saving |",
        "|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for run in report.runs:
        cells = " | ".join(code_cell(c) for c in run_cells(run, binary))
        lines.append(f"| {run.line} | {run.target} | {code_cell(run.command)} | {cells} |")
    return [*lines, ""]
