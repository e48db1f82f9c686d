"""`depaudit image scan` output in every format: tables (terminal), markdown, JSON (`"schema": 1`), and the
DA508/DA509 budget findings as SARIF and `gnu` lines. Every name read from an image is escaped: paths in
an archive are data from whoever built it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from rich.table import Table

from depaudit.budgets import BudgetCheck
from depaudit.gate import ImageScanReport
from depaudit.images.contents import ImageContents, OwnedFile, PackageUsage
from depaudit.render.escaping import escape_control, markdown_cell
from depaudit.render.findings import finding_dict, render_gnu
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions
from depaudit.render.gate import VERDICT_WORD
from depaudit.render.sarif import SarifInput, render_sarif
from depaudit.units import format_size

SCHEMA = 1


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


# ---------------------------------------------------------------------------------------------- JSON


def _package(p: PackageUsage) -> dict[str, Any]:
    return {
        "name": p.name,
        "version": p.version,
        "size": p.size,
        "files": p.files,
        "accelerator": p.accelerator,
        "accelerator_bytes": p.accelerator_bytes,
    }


def _file(f: OwnedFile) -> dict[str, Any]:
    return {"path": f.path, "size": f.size, "layer": f.layer, "package": f.owner, "accelerator": f.accelerator}


def _check(c: BudgetCheck) -> dict[str, Any]:
    return {
        "check": c.check,
        "rule": c.rule,
        "subject": c.subject,
        "measured": c.measured,
        "limit": c.limit,
        "verdict": c.verdict,
        "passed": c.passed,
        "offenders": [{"name": n, "value": v} for n, v in c.offenders],
    }


def contents_dict(c: ImageContents) -> dict[str, Any]:
    """An image's contents as JSON-ready data (sizes in bytes; unknown is null)."""
    return {
        "image": c.image,
        "tags": list(c.tags),
        "architecture": c.architecture,
        "os": c.os,
        "size": c.size,
        "compressed_size": c.compressed_size,
        "files": c.files,
        "wasted_bytes": c.wasted,
        "efficiency": round(c.efficiency, 6),
        "layers": [
            {
                "index": layer.index,
                "created_by": layer.created_by,
                "size": layer.size,
                "files": layer.files,
                "wasted": layer.wasted,
                "hides": layer.hides,
                "error": layer.error,
            }
            for layer in c.layers
        ],
        "wasted_files": [
            {"path": "/" + w.path, "size": w.size, "added_in": w.added_in, "hidden_by": w.hidden_by, "how": w.how}
            for w in c.wasted_files
        ],
        "environments": [
            {"site": "/" + e.site, "python": e.python, "size": e.size, "packages": [_package(p) for p in e.packages]}
            for e in c.environments
        ],
        "accelerator": {
            "bytes": c.accelerator_bytes,
            "families": dict(c.accelerator_families),
            "packages": [_package(p) for p in c.packages if p.accelerator_bytes],
            "files": [_file(f) for f in c.accelerator_files],
        },
        "largest_files": [_file(f) for f in c.largest_files],
        "caches": [
            {"kind": k.kind, "size": k.size, "files": k.files, "places": [{"path": p, "size": s} for p, s in k.places]}
            for k in c.caches
        ],
        "notes": list(c.notes),
    }


def scan_json(report: ImageScanReport, options: RenderOptions) -> str:
    doc = {
        "schema": SCHEMA,
        **contents_dict(report.contents),
        "passed": report.passed,
        "checks": [_check(c) for c in report.checks],
        "findings": [finding_dict(f) for f in report.findings],
    }
    return json.dumps(doc, indent=options.indent) + "\n"


# ---------------------------------------------------------------------------------------------- text


def _summary(c: ImageContents, binary: bool) -> list[str]:
    f = partial(format_size, binary=binary)
    platform = f"{c.os}/{c.architecture}" if c.os or c.architecture else "platform unknown"
    lines = [
        f"{c.image} ({platform}): {f(c.size)} on disk in {len(c.layers)} layers, {c.files:,} files"
        + (f"; {f(c.compressed_size)} compressed" if c.compressed_size is not None else ""),
        f"wasted: {f(c.wasted)} (files a later layer deletes or overwrites); efficiency {_pct(c.efficiency)} (dive's score)",
        f"accelerator runtimes: {f(c.accelerator_bytes)}"
        + (" (" + ", ".join(f"{k} {f(v)}" for k, v in c.accelerator_families) + ")" if c.accelerator_families else ""),
    ]
    return [escape_control(line) for line in lines]


def _table(title: str, columns: list[tuple[str, str]], rows: Iterable[Iterable[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(escape_control(cell) for cell in row))
    return table


def _layer_tables(c: ImageContents, f: Callable[[int | None], str]) -> Iterator[Table]:
    columns = [("#", "right"), ("size", "right"), ("wasted", "right"), ("instruction", "left")]
    rows = (
        (str(x.index), f(x.size), f(x.wasted) if x.wasted else "", _short(x.created_by or "(no history)"))
        for x in c.layers
    )
    yield _table("layers (base first)", columns, rows)
    if c.wasted_files:
        columns = [("file", "left"), ("size", "right"), ("added", "right"), ("hidden", "left")]
        hidden = (("/" + w.path, f(w.size), str(w.added_in), f"{w.how} in layer {w.hidden_by}") for w in c.wasted_files)
        yield _table("wasted: largest hidden files", columns, hidden)


def _package_tables(c: ImageContents, f: Callable[[int | None], str], top: int | None) -> Iterator[Table]:
    columns = [("package", "left"), ("version", "left"), ("size", "right"), ("accelerator", "right")]
    for env in c.environments:
        title = (
            f"Python environment /{env.site} (Python {env.python or '?'}): {f(env.size)}, {len(env.packages)} packages"
        )
        rows = (
            (
                p.name,
                p.version,
                f(p.size),
                f"{p.accelerator or 'runtime libraries'} {f(p.accelerator_bytes)}" if p.accelerator_bytes else "",
            )
            for p in env.packages[:top]
        )
        yield _table(escape_control(title), columns, rows)
    if c.accelerator_files:
        columns = [("file", "left"), ("size", "right"), ("package", "left")]
        owned = ((x.path, f(x.size), x.owner or "(no Python package)") for x in c.accelerator_files)
        yield _table(f"accelerator runtime files: {f(c.accelerator_bytes)}", columns, owned)


def _file_tables(c: ImageContents, f: Callable[[int | None], str]) -> Iterator[Table]:
    columns = [("file", "left"), ("size", "right"), ("package", "left"), ("layer", "right")]
    yield _table("largest files", columns, ((x.path, f(x.size), x.owner or "", str(x.layer)) for x in c.largest_files))
    if c.caches:
        columns = [("cache", "left"), ("size", "right"), ("files", "right"), ("where", "left")]
        rows = ((k.kind, f(k.size), f"{k.files:,}", ", ".join(p for p, _ in k.places[:3])) for k in c.caches)
        yield _table("caches left in the image", columns, rows)


def _scan_tables(report: ImageScanReport, options: RenderOptions) -> Iterator[Any]:
    c, binary = report.contents, options.binary
    f = partial(format_size, binary=binary)
    yield "\n".join(_summary(c, binary))
    yield from _layer_tables(c, f)
    yield from _package_tables(c, f, options.top)
    yield from _file_tables(c, f)
    for check in report.checks:
        yield f"{VERDICT_WORD[check.verdict]:<7} {escape_control(check.message(binary))}"
    for note in c.notes:
        yield f"note: {escape_control(note)}"


def _short(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def scan_table(report: ImageScanReport, options: RenderOptions) -> HumanOutput:
    return HumanOutput(tuple(_scan_tables(report, options)))


def scan_markdown(report: ImageScanReport, options: RenderOptions) -> str:
    c, binary = report.contents, options.binary
    f = partial(format_size, binary=binary)
    lines = [f"### depaudit image scan: `{markdown_cell(c.image)}`", ""]
    lines += [f"- {markdown_cell(line)}" for line in _summary(c, binary)]
    lines += ["", "| # | size | wasted | instruction |", "| ---: | ---: | ---: | --- |"]
    for layer in c.layers:
        what = markdown_cell(_short(layer.created_by or "(no history)"))
        lines.append(f"| {layer.index} | {f(layer.size)} | {f(layer.wasted) if layer.wasted else ''} | `{what}` |")
    for env in c.environments:
        lines += ["", f"**`/{markdown_cell(env.site)}`** (Python {env.python or '?'}): {f(env.size)}", ""]
        lines += ["| package | version | size | accelerator |", "| --- | --- | ---: | ---: |"]
        for p in env.packages[: options.top]:
            accel = f(p.accelerator_bytes) if p.accelerator_bytes else ""
            lines.append(f"| `{markdown_cell(p.name)}` | {markdown_cell(p.version)} | {f(p.size)} | {accel} |")
    if c.accelerator_files:
        lines += [
            "",
            f"**Accelerator runtime files** ({f(c.accelerator_bytes)})",
            "",
            "| file | size | package |",
            "| --- | ---: | --- |",
        ]
        lines += [
            f"| `{markdown_cell(x.path)}` | {f(x.size)} | {'`' + markdown_cell(x.owner) + '`' if x.owner else ''} |"
            for x in c.accelerator_files
        ]
    if c.caches:
        lines += ["", "| cache left in the image | size | files | where |", "| --- | ---: | ---: | --- |"]
        lines += [
            f"| {k.kind} | {f(k.size)} | {k.files:,} | "
            + ", ".join(f"`{markdown_cell(p)}`" for p, _ in k.places[:3])
            + " |"
            for k in c.caches
        ]
    for check in report.checks:
        lines += ["", f"{VERDICT_WORD[check.verdict]}: {markdown_cell(check.message(binary))}"]
    return "\n".join(lines) + "\n"


def scan_sarif(report: ImageScanReport, options: RenderOptions) -> str:
    return render_sarif(SarifInput(report.findings, report.rules), options)


def scan_gnu(report: ImageScanReport, options: RenderOptions) -> str:
    return render_gnu(report.findings)


SCAN_RENDERERS: dict[OutputFormat, Renderer[ImageScanReport]] = {
    OutputFormat.table: scan_table,
    OutputFormat.json: scan_json,
    OutputFormat.markdown: scan_markdown,
    OutputFormat.sarif: scan_sarif,
    OutputFormat.gnu: scan_gnu,
}
