"""Output of `depaudit diff`: JSON (schema 1), markdown (the pull-request comment) and rich tables.

JSON contract (integer bytes; an unknown size is null, never 0)::

    {"schema": 1, "base": "origin/main:uv.lock", "head": "uv.lock", "python": "3.11",
     "targets": [{"target", "before_bytes", "after_bytes", "delta_bytes",
                  "before_accelerator_bytes", "after_accelerator_bytes",
                  "added": [{"name", "version", "size", "accelerator"}], "removed": [...],
                  "changed": [{"name", "before_version", "after_version", "before_size", "after_size",
                               "before_accelerator", "after_accelerator"}],
                  "before_unknown_size": [...], "after_unknown_size": [...],
                  "before_builds": [...], "after_builds": [...],
                  "before_not_installable": [...], "after_not_installable": [...], "exact": bool,
                  "new_accelerator_causes": [{"direct", "via", "packages", "bytes", "unknown_size"}]}],
     "sizes_checked": bool, "lock_sizes_differ": ["uv.lock: torch-….whl: the lock says 1 B, the index …"],
     "checks": [...], "findings": [...]}

`checks` are the diff budgets (DA506 download increase, DA507 new accelerator) in gate's shape
(`render.gate.check_dict`), each with its verdict; `findings` those that did not pass.

Totals count known sizes, exactly as `depaudit scan` does, and the lists name what they leave out
exactly as the scan's `unknown_size`, `builds` and `not_installable` do; `delta_bytes` is the totals'
difference and is exact only when all six lists are empty. A side that does not support a target has
null totals (and then `delta_bytes` is null). `sizes_checked`: both locks' wheel sizes were checked
against the index (online) and the index's numbers used; `lock_sizes_differ` names each wheel whose lock
size was wrong (DA105).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from depaudit.analysis.causes import Cause
from depaudit.analysis.lockdiff import LockDiff, PackageChange, TargetDiff
from depaudit.budgets import BudgetCheck
from depaudit.diff import DiffOutcome
from depaudit.render.findings import finding_dict, render_gnu
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions
from depaudit.render.gate import check_dict
from depaudit.render.markdown import cause_line, code, code_cell, verdict_lines
from depaudit.render.sarif import SarifInput, render_sarif
from depaudit.units import format_size

if TYPE_CHECKING:  # rich is imported only when a table is printed (start-up time)
    from rich.console import RenderableType

SCHEMA = 1
MARKER = "<!-- depaudit-diff -->"  # finds the pull-request comment to update (.github/actions/depaudit/)
_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def diff_dict(diff: LockDiff) -> dict[str, Any]:
    """The diff as the documented JSON document."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "base": diff.base,
        "head": diff.head,
        "python": diff.python,
        "targets": [_target_dict(t) for t in diff.targets],
        "sizes_checked": diff.sizes_checked,
        "lock_sizes_differ": list(diff.lock_sizes_differ),
    }
    return out


def cause_dict(cause: Cause) -> dict[str, Any]:
    """A cause in JSON: the direct dependency, the path to its largest package, counts and bytes."""
    return {
        "direct": cause.direct,
        "via": list(cause.path),
        "packages": cause.packages,
        "bytes": cause.bytes,
        "unknown_size": cause.unknown,
    }


def _target_dict(t: TargetDiff) -> dict[str, Any]:
    def side(c: PackageChange, before: bool) -> dict[str, Any]:
        return {
            "name": c.name,
            "version": c.before_version if before else c.after_version,
            "size": c.before_size if before else c.after_size,
            "accelerator": c.before_accelerator if before else c.after_accelerator,
        }

    return {
        "target": t.target,
        "before_bytes": t.before_bytes,
        "after_bytes": t.after_bytes,
        "delta_bytes": t.delta_bytes,
        "before_accelerator_bytes": t.before_accelerator_bytes,
        "after_accelerator_bytes": t.after_accelerator_bytes,
        "added": [side(c, False) for c in t.added],
        "removed": [side(c, True) for c in t.removed],
        "changed": [
            {
                "name": c.name,
                "before_version": c.before_version,
                "after_version": c.after_version,
                "before_size": c.before_size,
                "after_size": c.after_size,
                "before_accelerator": c.before_accelerator,
                "after_accelerator": c.after_accelerator,
            }
            for c in t.changed
        ],
        "before_unknown_size": list(t.before_unknown),
        "after_unknown_size": list(t.after_unknown),
        "before_builds": list(t.before_builds),
        "after_builds": list(t.after_builds),
        "before_not_installable": list(t.before_not_installable),
        "after_not_installable": list(t.after_not_installable),
        "exact": t.exact,
        "new_accelerator_causes": [cause_dict(c) for c in t.new_accelerator_causes],
    }


def signed_size(delta: int | None, binary: bool = False) -> str:
    """`+1.2 MB`, `-2.6 GB`, `0 B`; "unknown" for None."""
    if delta is None:
        return "unknown"
    if delta == 0:
        return "0 B"
    return ("+" if delta > 0 else "-") + format_size(abs(delta), binary)


def _total(value: int | None, reason: str | None, binary: bool) -> str:
    return f"not supported ({reason})" if value is None else format_size(value, binary)


def _delta(t: TargetDiff, binary: bool) -> str:
    text = signed_size(t.delta_bytes, binary)
    if t.delta_bytes is not None and not t.exact:
        text += " (inexact)"
    return text


def _accelerator(t: TargetDiff, binary: bool) -> str:
    before = "n/a" if t.before_accelerator_bytes is None else format_size(t.before_accelerator_bytes, binary)
    after = "n/a" if t.after_accelerator_bytes is None else format_size(t.after_accelerator_bytes, binary)
    return f"{before} → {after}"


def _version_size(version: str | None, size: int | None, present: bool, binary: bool) -> str:
    if not present:
        return ""
    return f"{version or '?'} ({format_size(size, binary)})"


def change_cells(c: PackageChange, binary: bool = False) -> tuple[str, str, str, str, str]:
    """(sign, name, before, after, size change) for one row; the name carries a new accelerator family."""
    name = c.name + (f" [{c.after_accelerator}]" if c.new_accelerator else "")
    before = _version_size(c.before_version, c.before_size, c.kind != "added", binary)
    after = _version_size(c.after_version, c.after_size, c.kind != "removed", binary)
    return _SIGN[c.kind], name, before, after, signed_size(c.delta, binary)


def unknown_note(t: TargetDiff, name: Callable[[str], str] = str) -> str | None:
    """A sentence naming what the totals leave out on each side, and why, or None when nothing. `name`
    shows a package name (markdown passes `code`)."""
    parts = []
    for side, unknown, builds, blocked in (
        ("before", t.before_unknown, t.before_builds, t.before_not_installable),
        ("after", t.after_unknown, t.after_builds, t.after_not_installable),
    ):
        shown = [name(n) for n in unknown] + [f"{name(n)} (built from source)" for n in builds]
        shown += [f"{name(n)} (no wheel for this target: cannot install)" for n in blocked]
        if shown:
            parts.append(f"{side}: {', '.join(shown)}")
    if not parts:
        return None
    return (
        f"{t.target}: size unknown for {'; '.join(parts)}; the totals leave these out, so the change is "
        "inexact (without --offline, sizes missing from the lock are looked up on the index)"
    )


def header(diff: LockDiff) -> str:
    names = ", ".join(t.target for t in diff.targets)
    return f"{diff.base} → {diff.head} · Python {diff.python} · targets: {names} · download size"


def render_diff_markdown(
    diff: LockDiff, *, checks: Sequence[BudgetCheck] = (), binary: bool = False, top: int | None = 20
) -> str:
    """The pull-request comment: the verdict first (which budget, on which target, by how much) and what
    caused it (the direct dependency and path that bring new accelerator wheels in, with sizes), then a
    summary table, each target's changes folded, and (invisible, last) the marker the GitHub Action finds
    its comment by. Names, versions and paths from the locks are code spans."""
    lines = [f"### depaudit diff: {code(diff.base)} → {code(diff.head)}", "", *_lead(diff, checks, binary), ""]
    lines += [
        f"Python {diff.python} · targets: {', '.join(t.target for t in diff.targets)} · download size",
        "",
        "| target | before | after | change | accelerator |",
        "|---|---:|---:|---:|---|",
    ]
    for t in diff.targets:
        lines.append(
            f"| {t.target} | {_total_cell(t.before_bytes, t.before_reason, binary)} | "
            f"{_total_cell(t.after_bytes, t.after_reason, binary)} | **{_delta(t, binary)}** | "
            f"{_accelerator(t, binary)} |"
        )
    for t in diff.targets:
        lines += _markdown_changes(t, binary, top)
    if not any(t.changes for t in diff.targets):
        lines += ["", "No package changes on any target."]
    return "\n".join([*lines, "", MARKER]) + "\n"


def _total_cell(value: int | None, reason: str | None, binary: bool) -> str:
    return f"not supported ({code_cell(reason or '')})" if value is None else format_size(value, binary)


def _lead(diff: LockDiff, checks: Sequence[BudgetCheck], binary: bool) -> list[str]:
    """The verdict of the diff budgets (DA506/DA507) or, with none set, the largest change; then the
    causes of new accelerator packages per target."""
    lines = verdict_lines(checks, binary) if checks else [_largest_change(diff, binary)]
    for t in diff.targets:
        lines += [f"  - cause on {t.target}: {cause_line(c, binary)}" for c in t.new_accelerator_causes[:2]]
    return lines


def _largest_change(diff: LockDiff, binary: bool) -> str:
    moved = [t for t in diff.targets if t.delta_bytes]
    if not moved:
        return "No diff budget set (`--max-increase`, `--fail-on-new-accelerator`); no target changes size."
    t = max(moved, key=lambda t: abs(t.delta_bytes or 0))
    return (
        f"No diff budget set (`--max-increase`, `--fail-on-new-accelerator`). Largest change: "
        f"**{_delta(t, binary)}** on {t.target} (accelerator {_accelerator(t, binary)})."
    )


def _markdown_changes(t: TargetDiff, binary: bool, top: int | None) -> list[str]:
    changes = t.changes
    if not changes and t.exact:
        return []
    counts = ", ".join(
        f"{len(items)} {kind}"
        for kind, items in (("added", t.added), ("removed", t.removed), ("changed", t.changed))
        if items
    )
    lines = ["", f"<details><summary>{t.target}: {counts or 'no package changes'}</summary>", ""]
    if changes:
        lines += ["| | package | before | after | size change |", "|---|---|---|---|---:|"]
        for c in changes[: top or None]:
            family = f" [{c.after_accelerator}]" if c.new_accelerator else ""
            before = _version_cell(c.before_version, c.before_size, c.kind != "added", binary)
            after = _version_cell(c.after_version, c.after_size, c.kind != "removed", binary)
            lines.append(
                f"| {_SIGN[c.kind]} | {code_cell(c.name)}{family} | {before} | {after} | {signed_size(c.delta, binary)} |"
            )
        if top and len(changes) > top:
            lines.append(f"| | … {len(changes) - top} more (`--all` shows every change) | | | |")
    note = unknown_note(t, code)
    if note:
        lines += ["", note]
    return [*lines, "", "</details>"]


def _version_cell(version: str | None, size: int | None, present: bool, binary: bool) -> str:
    return f"{code_cell(version or '?')} ({format_size(size, binary)})" if present else ""


def diff_renderables(diff: LockDiff, *, binary: bool = False, top: int | None = 20) -> Iterator[RenderableType]:
    """Rich renderables for a terminal: the header, a summary table, then each target's changes."""
    # rich is imported here so that JSON and markdown runs (CI) do not pay for it.
    from rich.table import Table
    from rich.text import Text

    yield Text(header(diff))
    summary = Table("target", "before", "after", "change", "accelerator", title=None)
    for t in diff.targets:
        summary.add_row(
            t.target,
            _total(t.before_bytes, t.before_reason, binary),
            _total(t.after_bytes, t.after_reason, binary),
            _delta(t, binary),
            _accelerator(t, binary),
        )
    yield summary
    for t in diff.targets:
        if not t.changes:
            continue
        table = Table("", "package", "before", "after", "size change", title=f"{t.target}: package changes")
        for c in t.changes[: top or None]:
            table.add_row(*change_cells(c, binary))
        if top and len(t.changes) > top:
            table.add_row("", f"… {len(t.changes) - top} more (--all shows every change)", "", "", "")
        yield table
    for t in diff.targets:
        note = unknown_note(t)
        if note:
            yield Text(note)


def diff_table(outcome: DiffOutcome, options: RenderOptions) -> HumanOutput:
    """The terminal tables (plain and unwrapped when piped or written to a file)."""
    return HumanOutput(tuple(diff_renderables(outcome.diff, binary=options.binary, top=options.top)))


def diff_json(outcome: DiffOutcome, options: RenderOptions) -> str:
    """The JSON contract above, plus `checks` (the diff budgets, as gate's) and `findings`."""
    doc = diff_dict(outcome.diff)
    doc["checks"] = [check_dict(c) for c in outcome.checks]
    doc["findings"] = [finding_dict(f) for f in outcome.findings]
    return json.dumps(doc, indent=options.indent) + "\n"


def diff_markdown(outcome: DiffOutcome, options: RenderOptions) -> str:
    """The pull-request comment."""
    return render_diff_markdown(outcome.diff, checks=outcome.checks, binary=options.binary, top=options.top)


def diff_sarif(outcome: DiffOutcome, options: RenderOptions) -> str:
    """SARIF with the diff budget rules and a result per check that did not pass."""
    return render_sarif(SarifInput(outcome.findings, outcome.rules), options)


def diff_gnu(outcome: DiffOutcome, options: RenderOptions) -> str:
    """One `path:line: DA50x message` line per diff budget not shown to be met."""
    return render_gnu(outcome.findings)


DIFF_RENDERERS: dict[OutputFormat, Renderer[DiffOutcome]] = {
    OutputFormat.table: diff_table,
    OutputFormat.json: diff_json,
    OutputFormat.markdown: diff_markdown,
    OutputFormat.sarif: diff_sarif,
    OutputFormat.gnu: diff_gnu,
}
