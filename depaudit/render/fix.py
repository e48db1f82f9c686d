"""`depaudit fix` output: the unified diff, what happened, the verdict of the lock and, after a re-lock,
the install before and after per target — as a terminal report, markdown or JSON (schema 1)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from depaudit.fixers.pipeline import FixOutcome, TargetDelta
from depaudit.render.escaping import escape_control, escape_lines, markdown_cell, redact_userinfo
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions, with_unsupported
from depaudit.units import format_size

if TYPE_CHECKING:
    from rich.console import RenderableType

SCHEMA = 1
_HEAD = ("target", "download", "accelerator", "packages removed", "versions changed", "unknown sizes after")


def _safe(text: str) -> str:
    """File text for a reader: credentials in URLs redacted, control and bidi characters escaped."""
    return escape_control(redact_userinfo(text))


def _shown_diff(diff: str) -> str:
    """The diff as printed: control and bidi characters escaped (tabs kept), credentials redacted."""
    return escape_lines(redact_userinfo(diff), keep_tabs=True)


def _rows(deltas: tuple[TargetDelta, ...], binary: bool) -> Iterator[tuple[str, ...]]:
    def size(value: int | None, unknown: str = "-") -> str:
        return unknown if value is None else format_size(value, binary)

    for d in deltas:
        yield (
            d.target,
            f"{size(d.before_total)} -> {size(d.after_total, 'unknown')}",
            f"{size(d.before_accelerator)} -> {size(d.after_accelerator, 'unknown')}",
            str(len(d.removed)),
            str(len(d.changed)),
            str(len(d.after_unknown) + len(d.after_no_wheel)),
        )


def _removed_lines(deltas: tuple[TargetDelta, ...]) -> list[str]:
    """Per target: what the re-lock removed, which versions it changed (a torch major or minor jump
    called out) and what has no wheel there any more."""
    lines = []
    for d in deltas:
        if d.removed:
            lines.append(f"{d.target}: removed {', '.join(d.removed)}")
        if d.changed:
            moved = ", ".join(
                f"{c.name} {c.before} -> {c.after}" + (f" ({c.jump.upper()} version change)" if c.jump else "")
                for c in d.changed
            )
            lines.append(f"{d.target}: versions changed: {moved}")
        if d.after_no_wheel:
            lines.append(f"{d.target}: no wheel after the fix for {', '.join(d.after_no_wheel)} (size unknown)")
    return lines


def _notes(outcome: FixOutcome) -> list[str]:
    """The lines under the status: notes, code that imports torch, models to port, the verdict."""
    plan = outcome.plan
    lines = [f"  - {note}" for note in plan.notes]
    lines += [f"  - not fixed: {line}" for line in plan.unfixed[1:]]
    if plan.imports:
        lines.append("code that still imports torch at run time:")
        lines += [f"  {i.path}:{i.line}: import {i.module}" for i in plan.imports]
    if plan.models:
        lines.append("models to export and verify with depaudit port (fill in the input shapes):")
    lines += [f"  {m.path}:{m.line}: {m.port_command}" for m in plan.models]
    if outcome.verdict is not None:
        lines.append(f"lock: {outcome.verdict.message}")
        lines += [f"  {line}" for line in outcome.verdict.details]
    return lines


def fix_table(outcome: FixOutcome, options: RenderOptions) -> HumanOutput:
    """The diff (coloured on a terminal), the status, notes and verdict, then the before/after table."""
    from rich.table import Table
    from rich.text import Text

    items: list[RenderableType] = []
    if outcome.diff:
        diff = Text(no_wrap=True, end="")
        for line in _shown_diff(outcome.diff).splitlines(keepends=True):
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            diff.append(line, style=style)
        items.append(diff)
    items.append(Text(_safe(outcome.message)))
    items += [Text(_safe(line)) for line in _notes(outcome)]
    if outcome.deltas is not None:
        table = Table(title="before / after (uv lock)")
        for i, column in enumerate(_HEAD):
            table.add_column(column, justify="left" if i == 0 else "right", no_wrap=i < 3)
        for row in _rows(outcome.deltas, options.binary):
            table.add_row(*row)
        items.append(table)
        items += [Text(_safe(line)) for line in _removed_lines(outcome.deltas)]
    return HumanOutput(tuple(items))


def fix_markdown(outcome: FixOutcome, options: RenderOptions) -> str:
    """The same as markdown (a pull-request comment or a file)."""
    plan = outcome.plan
    out: list[str] = []
    if outcome.diff:  # a fence longer than any run of backticks in the diff: file text cannot close it
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", outcome.diff)), default=0))
        out += [f"{fence}diff", _shown_diff(outcome.diff.rstrip("\n")), fence, ""]
    out.append(markdown_cell(redact_userinfo(outcome.message)))
    out += [f"- {markdown_cell(redact_userinfo(n))}" for n in plan.notes]
    out += [f"- not fixed: {markdown_cell(redact_userinfo(u))}" for u in plan.unfixed[1:]]
    out += [f"- `{markdown_cell(f'{i.path}:{i.line}')}`: imports `{markdown_cell(i.module)}`" for i in plan.imports]
    out += [f"- `{markdown_cell(f'{m.path}:{m.line}')}`: `{markdown_cell(m.port_command)}`" for m in plan.models]
    if outcome.verdict is not None:
        out += ["", f"lock: {markdown_cell(outcome.verdict.message)}"]
        out += [f"- `{markdown_cell(line)}`" for line in outcome.verdict.details]
    if outcome.deltas is not None:
        out += ["", "| " + " | ".join(_HEAD) + " |", "|" + " --- |" * len(_HEAD)]
        out += [
            "| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in _rows(outcome.deltas, options.binary)
        ]
        out += [""] + [f"- {markdown_cell(line)}" for line in _removed_lines(outcome.deltas)]
    return escape_lines("\n".join(out) + "\n", keep_tabs=True)


def fix_json(outcome: FixOutcome, options: RenderOptions) -> str:
    """`{"schema": 1, "status", "state", "changed", "edits", "diff", "notes", "unfixed", "imports", "models",
    "verdict", "targets"}` (`state`: the status as a stable word)."""
    plan, verdict = outcome.plan, outcome.verdict
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "status": outcome.message,
        "state": outcome.status.value,
        "changed": plan.changed,
        "edits": [{"path": e.path, "summary": list(e.summary), "changed": e.changed} for e in plan.edits],
        "diff": redact_userinfo(outcome.diff),
        "notes": list(plan.notes),
        "unfixed": list(plan.unfixed),
        "imports": [asdict(i) for i in plan.imports],
        "models": [{**asdict(m), "port_command": m.port_command} for m in plan.models],
        "verdict": None
        if verdict is None
        else {"state": verdict.state, "ok": verdict.ok, "message": verdict.message, "details": list(verdict.details)},
        "targets": None if outcome.deltas is None else [asdict(d) for d in outcome.deltas],
    }
    return json.dumps(doc, indent=options.indent if options.indent is not None else 2) + "\n"


FIX_RENDERERS: dict[OutputFormat, Renderer[FixOutcome]] = with_unsupported(
    "fix", {OutputFormat.table: fix_table, OutputFormat.json: fix_json, OutputFormat.markdown: fix_markdown}
)
"""`depaudit fix` reports an edit, not findings: table, JSON and markdown."""
