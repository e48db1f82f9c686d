"""`depaudit fix`: rewrite a project toward the PyTorch CPU index, ONNX Runtime or tinygrad — safely."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from depaudit import settings
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.cli.app import app
from depaudit.cli.options import AllowHostOption, QuietOption, VerboseOption, allow_hosts
from depaudit.cli.output import info, make_console, refuse_output_over, safe, set_verbosity, write_output
from depaudit.fixers.apply import unified_diff
from depaudit.fixers.pipeline import (
    FixPlan,
    TargetDelta,
    apply_and_lock,
    compare,
    dry_run_lock,
    plan_fix,
    plan_verdict,
    recover_interrupted,
)
from depaudit.fixers.verdict import Verdict
from depaudit.model import Selection, SizeReport
from depaudit.render.escaping import escape_lines, redact_userinfo
from depaudit.scan import scan_lock
from depaudit.units import format_size

Lookups = tuple[bool, tuple[str, ...], Selection]  # (offline, allowed hosts, workspace selection)


class FixTo(StrEnum):
    cpu_index = "cpu-index"
    onnxruntime = "onnxruntime"
    tinygrad = "tinygrad"


class FixFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command()
def fix(
    path: Annotated[
        Path, typer.Argument(help="Project folder, pyproject.toml, requirements.txt/.in or Dockerfile.")
    ] = Path("."),
    to: Annotated[
        FixTo,
        typer.Option(
            "--to", help="cpu-index: torch from the PyTorch CPU index; onnxruntime/tinygrad: torch to the dev group."
        ),
    ] = FixTo.cpu_index,
    cpu_index_url: Annotated[
        str | None,
        typer.Option("--cpu-index-url", help="CPU index URL (default https://download.pytorch.org/whl/cpu)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the unified diff; change nothing.")] = False,
    lock: Annotated[
        bool,
        typer.Option(
            "--lock", help="Re-lock with uv and show before/after per target (in a temp copy with --dry-run)."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Switch a project that asks for CUDA on purpose.")] = False,
    allow_torch: Annotated[
        bool,
        typer.Option(
            "--allow-torch",
            help="--to onnxruntime/tinygrad: exit 0 even when runtime dependencies still bring torch in.",
        ),
    ] = False,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target", "-t", help="Targets for the before/after table and the verdict (repeatable; default all)."
        ),
    ] = None,
    package: Annotated[
        list[str] | None,
        typer.Option(
            "--package",
            help="Workspace member whose install the before/after table measures (repeatable; default: the root project).",
        ),
    ] = None,
    all_packages: Annotated[
        bool, typer.Option("--all-packages", help="Measure every workspace member installed together.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Size look-ups never touch the network (sizes may be unknown).")
    ] = False,
    binary: Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")] = False,
    fmt: Annotated[FixFormat, typer.Option("--format", "-f", help="Output format.")] = FixFormat.table,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    allow_host: AllowHostOption = None,
) -> int:
    """Rewrite a project so it stops installing CUDA wheels it never uses; --dry-run shows the diff.
    Exit 0 fixed, 1 the lock still installs accelerator wheels (or torch at run time), 3 bad input,
    4 uv failed or a file changed meanwhile, 5 refused (nothing changed)."""
    set_verbosity(quiet, verbose)
    pyproject = settings.find_pyproject(path) if path.exists() and _is_project(path) else None
    conf = settings.resolve({"cpu-index-url": cpu_index_url, "targets": target}, pyproject)
    targets = conf["targets"]
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    for message in recover_interrupted(path):
        info(f"depaudit: {message}")
    plan = plan_fix(path, to.value, index_url=str(conf["cpu-index-url"] or DEFAULT_CPU_INDEX_URL), force=force)
    refuse_output_over(output, [e.path for e in plan.edits] + ([plan.lock_path] if plan.lock_path else []))
    diff = "".join(unified_diff(e, Path.cwd()) for e in plan.edits if e.changed)
    deltas: list[TargetDelta] | None = None
    verdict: Verdict | None = None
    if plan.kind == "pyproject":
        hosts = allow_hosts(allow_host, pyproject)
        selection = Selection(packages=tuple(package or ()), all_packages=all_packages)
        deltas, verdict = _fix_project(plan, to.value, dry_run, lock, targets, (offline, hosts, selection), allow_torch)
    elif plan.changed and not dry_run:
        apply_and_lock(plan, lock=False)
    if lock and plan.kind != "pyproject":
        info("depaudit: --lock applies to uv projects only; skipped")
    _emit(plan, _status(plan, dry_run, verdict, lock), diff, deltas, verdict, fmt, output, binary)
    return 0 if (verdict is None or verdict.ok) and not plan.unfixed else 1


def _fix_project(
    plan: FixPlan,
    to: str,
    dry_run: bool,
    lock: bool,
    targets: Sequence[str] | None,
    lookups: Lookups,
    allow_torch: bool,
) -> tuple[list[TargetDelta] | None, Verdict | None]:
    """Apply (unless dry run) and, with --lock, re-lock; then judge by the lock: (deltas, verdict)."""
    if plan.changed and lock:
        return _locked_comparison(plan, dry_run, targets, lookups, to, allow_torch)
    if plan.changed and not dry_run:
        apply_and_lock(plan, lock=False)
    if not plan.changed:
        verdict = plan_verdict(plan, to, plan.lock_path, targets=targets, allow_torch=allow_torch)
        if lock and verdict.state == "stale":  # nothing to edit, but --lock asks for a lock that matches
            return _locked_comparison(plan, dry_run, targets, lookups, to, allow_torch)
        return None, verdict
    if to != "cpu-index":  # the old lock still tells which other runtime dependencies bring torch in
        return None, plan_verdict(plan, to, plan.lock_path, allow_torch=allow_torch, check_stale=False)
    return None, None


def _is_project(path: Path) -> bool:
    """Settings come from [tool.depaudit] of the project being fixed, never of a Dockerfile's folder
    parent chain when the fixed file is not a pyproject project."""
    return path.is_dir() or path.name == "pyproject.toml"


def _status(plan: FixPlan, dry_run: bool, verdict: Verdict | None, locked: bool) -> str:
    """One line: what changed, or whether the lock shows the project fixed (never from the config alone)."""
    if plan.unfixed:  # requirements this fix cannot switch: never "fixed"
        more = f" (and {len(plan.unfixed) - 1} more, below)" if len(plan.unfixed) > 1 else ""
        done = f"{'would change' if dry_run else 'changed'} {_files(plan)}; " if plan.changed else ""
        return f"{done}not fixed: {plan.unfixed[0]}{more}"
    if plan.changed:
        files = _files(plan)
        if dry_run:
            return f"would change {files} (dry run)"
        relocked = " and uv.lock" if locked and plan.kind == "pyproject" else ""
        return f"changed {files}{relocked}"
    if plan.kind != "pyproject":
        return "already fixed, nothing to change"
    torch_free = any("installs no torch-family package" in n for n in plan.notes)
    if verdict is not None and verdict.state == "clean":
        return (
            "nothing to change: the project installs no torch-family package"
            if torch_free
            else "already fixed, nothing to change"
        )
    if verdict is not None and verdict.state in ("no-lock", "torch-allowed"):
        return "nothing to change in pyproject.toml"
    return {
        "stale": "not fixed: pyproject.toml is configured, but uv.lock is stale",
        "torch-at-runtime": "not fixed: nothing to change in pyproject.toml, but torch is still installed at run time",
    }.get(
        verdict.state if verdict else "",
        "not fixed: nothing depaudit can change in pyproject.toml, but uv.lock still installs accelerator wheels",
    )


def _files(plan: FixPlan) -> str:
    return ", ".join(sorted({Path(e.path).name for e in plan.edits if e.changed}))


def _locked_comparison(
    plan: FixPlan, dry_run: bool, targets: Sequence[str] | None, lookups: Lookups, to: str, allow_torch: bool
) -> tuple[list[TargetDelta], Verdict]:
    """Scan the lock before, apply (or copy + apply) and re-lock, scan after: (per-target deltas, the
    verdict of the new lock). `lookups`: (offline, allowed hosts) for the size look-ups, and the
    workspace selection the before/after scans measure."""
    offline, hosts, selection = lookups

    def scan(lock: Path) -> SizeReport:
        return scan_lock(lock, targets=targets or None, offline=offline, allow_hosts=hosts, selection=selection)

    before = scan(plan.lock_path) if plan.lock_path else None
    if dry_run:
        info("depaudit: re-locking a copy of the project with uv (dry run: your files stay as they are)")
        new_lock = dry_run_lock(plan)
        try:
            after = scan(new_lock)
            verdict = plan_verdict(plan, to, new_lock, targets=targets, allow_torch=allow_torch)
        finally:
            shutil.rmtree(new_lock.parent.parent, ignore_errors=True)
    else:
        info("depaudit: re-locking with uv")
        apply_and_lock(plan, lock=True)
        new_lock = plan.lock_path or plan.project_dir / "uv.lock"
        after = scan(new_lock)
        verdict = plan_verdict(plan, to, new_lock, targets=targets, allow_torch=allow_torch)
    return compare(before, after), verdict


def _emit(
    plan: FixPlan,
    status: str,
    diff: str,
    deltas: list[TargetDelta] | None,
    verdict: Verdict | None,
    fmt: FixFormat,
    output: str | None,
    binary: bool,
) -> None:
    if fmt is FixFormat.json:
        write_output(json.dumps(_json(plan, status, diff, deltas, verdict), indent=2), output)
        return
    if fmt is FixFormat.markdown or output not in (None, "-"):
        write_output(_markdown(plan, status, diff, deltas, verdict, binary), output)
        return
    console = make_console()
    if diff:  # file text: control and bidi characters escaped (tabs kept), credentials in URLs redacted
        shown = escape_lines(redact_userinfo(diff), keep_tabs=True)
        if sys.stdout.isatty():
            console.print(Syntax(shown, "diff", theme="ansi_dark", background_color="default"))
        else:
            sys.stdout.write(shown)
    console.print(safe(status), markup=False)
    for note in plan.notes:
        console.print(f"  - {safe(note)}", markup=False, soft_wrap=True)
    for line in plan.unfixed[1:]:
        console.print(f"  - not fixed: {safe(line)}", markup=False, soft_wrap=True)
    _print_imports(console, plan)
    if verdict is not None:
        console.print(safe(_verdict_line(verdict)), markup=False, soft_wrap=True)
        for line in verdict.details:
            console.print(f"  {safe(line)}", markup=False, soft_wrap=True)
    if deltas is not None:
        console.print(_delta_table(deltas, binary))
        for line in _removed_lines(deltas):
            console.print(safe(line), markup=False, soft_wrap=True)


def _verdict_line(verdict: Verdict) -> str:
    return f"lock: {verdict.message}"


def _print_imports(console: Console, plan: FixPlan) -> None:
    if not plan.imports:
        return
    console.print("code that still imports torch at run time:", markup=False)
    for item in plan.imports:
        console.print(safe(f"  {item.path}:{item.line}: import {item.module}"), markup=False)
    if plan.models:
        console.print("models to export and verify with depaudit port (fill in the input shapes):", markup=False)
    for entry in plan.models:
        console.print(safe(f"  {entry.path}:{entry.line}: {entry.port_command}"), markup=False, soft_wrap=True)


def _rows(deltas: list[TargetDelta], binary: bool) -> Iterator[tuple[str, ...]]:
    def size(value: int | None) -> str:
        return "-" if value is None else format_size(value, binary)

    for d in deltas:
        yield (
            d.target,
            f"{size(d.before_total)} -> {size(d.after_total)}",
            f"{size(d.before_accelerator)} -> {size(d.after_accelerator)}",
            str(len(d.removed)),
            str(len(d.after_unknown)),
        )


_HEAD = ("target", "download", "accelerator", "packages removed", "unknown sizes after")


def _removed_lines(deltas: list[TargetDelta]) -> list[str]:
    return [f"{d.target}: removed {', '.join(d.removed)}" for d in deltas if d.removed]


def _delta_table(deltas: list[TargetDelta], binary: bool) -> Table:
    table = Table(title="before / after (uv lock)")
    for i, column in enumerate(_HEAD):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=i < 3)
    for row in _rows(deltas, binary):
        table.add_row(*row)
    return table


def _markdown(
    plan: FixPlan, status: str, diff: str, deltas: list[TargetDelta] | None, verdict: Verdict | None, binary: bool
) -> str:
    out: list[str] = []
    if diff:  # a fence longer than any run of backticks in the diff: file text cannot close it
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", diff)), default=0))
        out += [f"{fence}diff", escape_lines(diff.rstrip("\n"), keep_tabs=True), fence, ""]
    out.append(safe(status))
    out += [f"- {safe(n)}" for n in plan.notes]
    out += [f"- not fixed: {safe(u)}" for u in plan.unfixed[1:]]
    out += [f"- `{i.path}:{i.line}`: imports `{i.module}`" for i in plan.imports]
    out += [f"- `{m.path}:{m.line}`: `{m.port_command}`" for m in plan.models]
    if verdict is not None:
        out += ["", _verdict_line(verdict)] + [f"- `{line}`" for line in verdict.details]
    if deltas is not None:
        out += ["", "| " + " | ".join(_HEAD) + " |", "|" + " --- |" * len(_HEAD)]
        out += ["| " + " | ".join(row) + " |" for row in _rows(deltas, binary)]
        out += [""] + [f"- {line}" for line in _removed_lines(deltas)]
    return "\n".join(out) + "\n"


def _json(
    plan: FixPlan, status: str, diff: str, deltas: list[TargetDelta] | None, verdict: Verdict | None
) -> dict[str, Any]:
    return {
        "schema": 1,
        "status": status,
        "changed": plan.changed,
        "edits": [{"path": e.path, "summary": list(e.summary), "changed": e.changed} for e in plan.edits],
        "diff": diff,
        "notes": list(plan.notes),
        "unfixed": list(plan.unfixed),
        "imports": [asdict(i) for i in plan.imports],
        "models": [{**asdict(m), "port_command": m.port_command} for m in plan.models],
        "verdict": None
        if verdict is None
        else {"state": verdict.state, "ok": verdict.ok, "message": verdict.message, "details": list(verdict.details)},
        "targets": None if deltas is None else [asdict(d) for d in deltas],
    }
