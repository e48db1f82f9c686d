"""`depaudit port` output in every format: table, JSON (the port.json document), markdown, SARIF, gnu."""

from __future__ import annotations

import json
import math
from typing import Any

from depaudit.port.report import CaseResult, OutputResult, PortReport
from depaudit.render.findings import findings_markdown, findings_table, render_gnu
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions
from depaudit.render.sarif import SarifInput, render_sarif
from depaudit.rules.base import describe
from depaudit.units import format_size


def _db(value: float) -> str:
    if value == math.inf:
        return "exact"
    return "-" if value == -math.inf or math.isnan(value) else f"{value:.1f}"


def _num(value: float | None, fmt: str = ".3g") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, fmt)


def _reference(out: OutputResult | None, case: CaseResult) -> str:
    """`ORT / torch` dB from the float64 reference (the worst output), `-` when none was run for this
    case, `n/a` when one was needed and the model does not run in float64."""
    judged = [
        (o.ort_to_reference_db, o.torch_to_reference_db or -math.inf)
        for o in ([out] if out is not None else case.outputs)
        if o.ort_to_reference_db is not None
    ]
    if not judged:
        return "n/a" if case.reference == "unavailable" else "-"
    ort, torch = min(judged)
    return f"{_db(ort)} / {_db(torch)}"


def case_rows(report: PortReport) -> list[list[str]]:
    """One row per case (per case and output when there are several): name, shapes, PSNR against
    torch float32, ONNX Runtime / torch float32 against the float64 reference, SSIM, max abs err, max
    rel err, verdict."""
    rows = []
    several = len(report.output_names) > 1
    for case in report.cases:
        shapes = " ".join("x".join(map(str, s)) for s in case.shapes)
        verdict = "pass" if case.passed else "FAIL"
        parts = case.outputs if several and case.outputs else [None]
        for i, out in enumerate(parts):
            name = case.name if i == 0 else ""
            label = f"{name} ({out.name})" if out is not None and i == 0 else (f"({out.name})" if out else name)
            psnr, ssim, abs_err, rel_err = (
                (out.psnr_db, out.ssim, out.max_abs_err, out.max_rel_err)
                if out is not None
                else (case.psnr_db, case.ssim, case.max_abs_err, case.max_rel_err)
            )
            rows.append(
                [
                    label,
                    shapes if i == 0 else "",
                    _db(psnr),
                    _reference(out, case),
                    _num(ssim, ".6f"),
                    _num(abs_err),
                    _num(rel_err),
                    verdict if i == 0 else "",
                ]
            )
    return rows


def summary_line(report: PortReport) -> str:
    """E.g. `PASS: exported with dynamo at opset 18 (7.8 MB); 9/9 cases >= 100 dB; 1 finding`."""
    verdict = "PASS" if report.passed else "FAIL"
    if not report.exported:
        return f"{verdict}: not exported (see the notes); {len(report.findings)} finding(s)"
    passed = sum(c.passed for c in report.cases)
    size = format_size(report.onnx_bytes)
    blocking = f", {len(report.blocking)} blocking" if report.blocking else ""
    margin, floor = report.precision.get("margin_db"), report.precision.get("float64_floor_db")
    bar = f">= {report.min_psnr_db:g} dB against torch float32"
    rule = bar
    if margin is not None and floor is not None:
        rule = f"{bar}, or from float64 within {margin:g} dB of torch's own distance or >= {floor:g} dB"
    static = f"; {', '.join(report.static_axes)} exported static" if report.static_axes else ""
    return (
        f"{verdict}: exported with {report.exporter} at opset {report.opset} ({size}); {passed}/{len(report.cases)} "
        f"cases pass ({rule}){static}; {len(report.findings)} finding(s){blocking}; "
        f"{report.seconds.get('total', 0):.1f} s"
    )


def render_port_markdown(report: PortReport, options: RenderOptions | None = None) -> str:
    """A markdown section: summary, findings, the per-case table, skipped cases, files written."""
    lines = [f"## depaudit port `{report.model}`", "", summary_line(report), ""]
    if report.findings:
        lines += [*findings_markdown(report.findings, options or RenderOptions()), ""]
    if report.cases:
        lines += [
            "| case | input shapes | PSNR (dB) | float64: ORT / torch (dB) | SSIM | max abs err | max rel err | result |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in case_rows(report)]
        lines.append("")
    lines += [f"- `{c.name}` failed: {_cell('; '.join(c.failures))}" for c in report.cases if c.failures]
    lines += [f"- skipped `{s['name']}`: {_cell(s['reason'])}" for s in report.skipped]
    lines += [f"- {_cell(note)}" for note in report.notes]
    lines += ["", f"Files in `{report.out}`: " + ", ".join(f"`{f}`" for f in report.files), ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def port_table(report: PortReport, options: RenderOptions) -> HumanOutput:
    """Rich renderables for the terminal: findings table, cases table, failures, notes, summary."""
    from rich.table import Table
    from rich.text import Text

    items: list[Any] = [findings_table(report.findings)] if report.findings else []
    if report.cases:
        table = Table(header_style="bold")
        numeric = ("PSNR dB", "f64: ORT / torch", "SSIM")
        for name in ("Case", "Input shapes", *numeric, "Max abs err", "Max rel err", "Result"):
            table.add_column(name, overflow="fold", justify="right" if name in numeric else "left")
        for row in case_rows(report):
            table.add_row(*(Text(cell) for cell in row))
        items.append(table)
    lines = [f"{c.name} failed: {'; '.join(c.failures)}" for c in report.cases if c.failures]
    lines += [f"skipped {s['name']}: {s['reason']}" for s in report.skipped]
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"wrote {report.out}: {', '.join(report.files)}", summary_line(report)]
    items += [Text(line) for line in lines]
    return HumanOutput(tuple(items))


def port_json(report: PortReport, options: RenderOptions) -> str:
    """The port.json document."""
    return json.dumps(report.to_json(), indent=options.indent, allow_nan=False) + "\n"


def port_markdown(report: PortReport, options: RenderOptions) -> str:
    """The markdown section."""
    return render_port_markdown(report, options)


def port_sarif(report: PortReport, options: RenderOptions) -> str:
    """SARIF 2.1.0 with the DA4xx rules and a result per finding."""
    return render_sarif(SarifInput(report.findings, describe("DA4")), options)


def port_gnu(report: PortReport, options: RenderOptions) -> str:
    """One `path:line:col: DAxxx message` line per finding."""
    return render_gnu(report.findings)


PORT_RENDERERS: dict[OutputFormat, Renderer[PortReport]] = {
    OutputFormat.table: port_table,
    OutputFormat.json: port_json,
    OutputFormat.markdown: port_markdown,
    OutputFormat.sarif: port_sarif,
    OutputFormat.gnu: port_gnu,
}
