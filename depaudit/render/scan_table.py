"""Human output of `depaudit scan`: one rich table per target, biggest first, with totals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from depaudit.model import InstallScope, Resolved, RunReport, SizeReport, TargetReport, Via
from depaudit.render.escaping import escape_control
from depaudit.units import format_size

# rich is imported where a table is built: `--format json` and `markdown` scans never pay for it (the
# scan path's start-up is measured: tests/cli/test_scan_fastpath.py).
if TYPE_CHECKING:
    from rich.console import RenderableType

SHOWN_LINKS = 6  # a path longer than this is printed as its first two and last three links


def brought_by(via: tuple[str, ...] | Via) -> str:
    """The path minus the root and the package itself: `torch` for root → torch → nvidia-cudnn-cu12;
    `direct (root)` for a dependency of the project. A long path keeps its two first and three last
    links around `… N more …`, so printing stays linear in the lock whatever its depth."""
    if isinstance(via, Via):
        if via.depth > SHOWN_LINKS + 2:
            head = via.head[1:3]
            tail = via.tail(4)[:-1]
            return " → ".join([*head, f"… {via.depth - 2 - len(head) - len(tail)} more …", *tail])
        via = via.names()
    if len(via) <= 2:
        return f"direct ({via[0]})" if len(via) == 2 else ""
    return " → ".join(via[1:-1])


def describe_scope(scope: InstallScope, basis: str) -> str:
    """One line saying which install is measured and what a size counts (the report header)."""
    if scope.how == "pylock":
        what = "every package the pylock.toml lists for the target"
    elif scope.how == "resolved":
        what = "what uv resolves for each target"
    elif scope.how in ("poetry.lock", "pdm.lock"):
        what = f"the packages the {scope.how} locks for the selected groups, markers evaluated per target"
    else:
        what = f"{', '.join(scope.packages)} ({scope.how})"
    extras = f" with extras {', '.join(scope.extras)}" if scope.extras else ""
    groups = (
        f"; dependency groups: {', '.join(scope.groups)}"
        if scope.groups
        else "; production install: no dependency groups (not even [tool.uv] default-groups)"
    )
    return f"install set: {what}{extras}{groups}. Sizes: {BASIS[basis]}."


def run_cells(run: RunReport, binary: bool = False) -> tuple[str, str, str, str, str]:
    """(download, installed, accelerator share, from the CPU index, saving) of one RUN line, for humans."""
    if run.problem is not None:
        return ("not resolved", "", "", "", run.problem)
    unknown = f" + {run.unknown} unknown" if run.unknown else ""
    share = run.accelerator_share
    accel = f"{format_size(run.accelerator, binary)} ({share:.0%})" if share is not None else "0 B"
    if run.cpu_download is None:
        cpu, saving = "unknown", run.cpu_problem or "the CPU index did not resolve"
    else:
        cpu = format_size(run.cpu_download, binary)
        saving = format_size(max((run.download or 0) - run.cpu_download, 0), binary) if not run.unknown else "unknown"
    return (f"{format_size(run.download, binary)}{unknown}", format_size(run.installed, binary), accel, cpu, saving)


def runs_table(runs: tuple[RunReport, ...], binary: bool = False) -> RenderableType:
    """One row per RUN line and target: what it downloads and installs, its accelerator part, and the
    same line from the CPU index."""
    from rich.table import Table

    table = Table(title="RUN lines that install Python packages", title_justify="left", title_style="bold")
    for name, justify in [("line", "right"), ("target", "left"), ("command", "left"), ("download", "right")]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for name in ("installed", "accelerator", "from CPU index", "saving"):
        table.add_column(name, justify="right", overflow="fold")
    for run in runs:
        table.add_row(str(run.line), run.target, run.command, *run_cells(run, binary))
    return table


def describe_resolution(resolved: Resolved) -> str:
    """One line saying the install set is a fresh resolution, not a lock, and how to pin it."""
    if resolved.exclude_newer:
        return (
            f"{resolved.kind}: resolved per target by {resolved.tool} from packages published before "
            f"{resolved.exclude_newer} (--exclude-newer): reproducible."
        )
    return (
        f"{resolved.kind}: no lock; resolved per target by {resolved.tool}: a fresh resolution as of "
        f"{resolved.as_of}, which may change as packages are released (--exclude-newer DATE pins it)."
    )


BASIS = {
    "download": "wheel download size",
    "installed": "installed = uncompressed wheel contents (no bytecode)",
    "bytecode": "installed with compiled bytecode (.pyc), estimated",
}


def _title(report: TargetReport, binary: bool, kind: str) -> str:
    t = report.target
    if not report.supported:
        what = "not installable" if report.unresolved else "not supported"
        return f"{t.name} · Python {t.python} · {what}: {report.unsupported_reason}"
    total, accel = report.total_bytes, report.accelerator_bytes
    share = f" ({accel / total:.0%})" if total else ""
    unknown = f" + {len(report.unknown_size)} unknown" if report.unknown_size else ""
    accel_unknown = sum(1 for p in report.packages if p.accelerator and p.size is None and p.wheel is not None)
    accel_more = f" + {accel_unknown} unknown" if accel_unknown else ""
    blocked = f" · cannot install: {len(report.not_installable)} without a wheel" if report.not_installable else ""
    maybe = f" ({len(report.conditional)} may install)" if report.conditional else ""
    return (
        f"{t.name} · Python {t.python} · {len(report.packages)} packages{maybe} · "
        f"{format_size(total, binary)}{unknown} {kind} · accelerator {format_size(accel, binary)}{accel_more}{share}"
        f"{blocked}"
    )


def target_renderables(
    report: TargetReport, *, binary: bool = False, top: int | None = 15, kind: str = "download"
) -> list[RenderableType]:
    """Renderables for one target: a package table (largest first; `top` rows, None for all) and a
    per-dependency cost table."""
    from rich.table import Table
    from rich.text import Text

    title = _title(report, binary, kind)
    if not report.supported:
        return [Text(title, style="yellow")]
    rows = sorted(report.packages, key=lambda p: (p.size is None, -(p.size or 0), p.name))
    shown = rows if top is None else rows[:top]
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    table.add_column("package", no_wrap=True)
    table.add_column("version")
    table.add_column("size", justify="right")
    table.add_column("accelerator")
    table.add_column("brought in by", overflow="fold")
    for item in shown:
        size = format_size(item.size, binary) if item.wheel else (item.reason or "no wheel")
        style = "red" if item.accelerator else None
        via = brought_by(item.path) + (f" (may install: {item.condition})" if item.condition else "")
        table.add_row(item.name, item.package.version or "", size, item.accelerator or "", via, style=style)
    if len(rows) > len(shown):
        rest = rows[len(shown) :]
        rest_size = sum(p.size or 0 for p in rest)
        table.add_row(
            f"… {len(rest)} more", "", format_size(rest_size, binary), "", "(--all shows every package)", style="dim"
        )
    out: list[RenderableType] = [table]
    if report.top_level:
        costs = Table(
            title="what each direct dependency costs (with everything only it pulls in)",
            title_justify="left",
            title_style="italic",
            expand=False,
        )
        costs.add_column("dependency")
        costs.add_column("total", justify="right")
        costs.add_column("accelerator", justify="right")
        costs.add_column("packages", justify="right")
        shown_costs = report.top_level[: top or None]
        for cost in shown_costs:
            unknown = f" + {cost.unknown} unknown" if cost.unknown else ""  # a lower bound, never a bare 0 B
            costs.add_row(
                cost.name,
                format_size(cost.total_bytes, binary) + unknown,
                format_size(cost.accelerator_bytes, binary) if cost.accelerator_bytes else "",
                str(len(cost.packages)),
                style="red" if cost.accelerator_bytes else None,
            )
        hidden = report.top_level[len(shown_costs) :]
        if hidden:  # a cut table says so, with what the hidden rows add up to
            costs.add_row(
                f"… {len(hidden)} more (--all shows every dependency)",
                format_size(sum(c.total_bytes for c in hidden), binary),
                format_size(sum(c.accelerator_bytes for c in hidden), binary),
                str(sum(len(c.packages) for c in hidden)),
                style="dim",
            )
        out.append(costs)
    out.extend(Text(escape_control(n), style="yellow") for n in target_notes(report))
    return out


def target_notes(report: TargetReport) -> list[str]:
    """What a target's totals leave out, one sentence per kind: unknown sizes, packages that cannot be
    installed there, packages built from source, and the project's own packages."""
    notes = []
    if report.unknown_size:
        notes.append(unknown_size_note(report))
    if report.not_installable:
        notes.append(
            f"cannot install on {report.target.name}: {', '.join(report.not_installable)} "
            "(no wheel and no sdist for this target)"
        )
    if report.builds:
        notes.append(f"built from source at install time (no wheel): {', '.join(report.builds)}")
    if report.local_paths:
        notes.append(f"from the project's own tree (workspace members, local paths): {', '.join(report.local_paths)}")
    if report.conditional:
        notes.append(conditional_note(report))
    return notes


def unknown_size_note(report: TargetReport, shown: int = 8) -> str:
    """Why sizes are unknown, grouped by reason: `size unknown for 3 (totals are lower bounds): offline:
    torch, triton; HTTP 404: foo`."""
    by_reason: dict[str, list[str]] = {}
    for item in report.packages:
        if item.size is None and item.wheel is not None:
            by_reason.setdefault(escape_control(item.size_error or "not looked up"), []).append(item.name)
    parts = [
        f"{reason}: {', '.join(names[:shown])}{' …' if len(names) > shown else ''}"
        for reason, names in by_reason.items()
    ]
    return f"size unknown for {len(report.unknown_size)} (totals are lower bounds): {'; '.join(parts)}"


def unverified_note(report: SizeReport) -> str:
    """Said when sizes come from the lock unchecked (offline, or a scan without budgets)."""
    return (
        f"{report.lock_sizes_used} wheel sizes are taken from the lock as written, not checked against the "
        "index (offline, or no budget asked for it): a lock's numbers can be edited"
    )


def conditional_note(report: TargetReport, shown: int = 8) -> str:
    """Which packages may install, grouped by the marker depaudit cannot decide for this target:
    `may install (counted, the worst case): 'SMP' in platform_version: torch, triton, …`."""
    by_marker: dict[str, list[str]] = {}
    for item in report.packages:
        if item.condition is not None:
            by_marker.setdefault(escape_control(item.condition), []).append(item.name)
    parts = [
        f"{marker}: {', '.join(names[:shown])}{' …' if len(names) > shown else ''}"
        for marker, names in by_marker.items()
    ]
    return (
        f"may install (counted, the worst case): {len(report.conditional)} packages whose marker turns on "
        f"what depaudit cannot know for {report.target.name} (the installing machine's kernel): {'; '.join(parts)}"
    )


def report_renderables(report: SizeReport, *, binary: bool = False, top: int | None = 15) -> list[RenderableType]:
    """The header line, then each target's tables."""
    from rich.text import Text

    kind = {"download": "download", "installed": "installed", "bytecode": "installed+pyc"}[report.size_basis]
    out: list[RenderableType] = [Text(describe_scope(report.scope, report.size_basis), style="dim")]
    if report.resolved is not None:
        out.append(Text(describe_resolution(report.resolved), style="dim"))
    if report.lock_sizes_used:
        out.append(Text(unverified_note(report), style="yellow"))
    if report.runs:
        out += [runs_table(report.runs, binary), ""]
    for target in report.targets:
        out.extend(target_renderables(target, binary=binary, top=top, kind=kind))
        out.append("")
    return out
