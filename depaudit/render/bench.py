"""Rendering of `depaudit bench` reports: markdown, and SVG bar charts written by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from depaudit.units import format_size

_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def bar_chart_svg(title: str, unit: str, bars: Sequence[tuple[str, float | None]], *, note: str = "",
                  fmt=lambda v: f"{v:,.1f}") -> str:
    """Horizontal bars, one per (label, value); a missing value is drawn as "n/a"."""
    return grouped_bar_chart_svg(title, unit, [""], [(label, [value]) for label, value in bars], note=note,
                                 fmt=fmt, legend=False)


def grouped_bar_chart_svg(title: str, unit: str, groups: Sequence[str],
                          series: Sequence[tuple[str, Sequence[float | None]]], *, note: str = "",
                          fmt=lambda v: f"{v:,.1f}", legend: bool = True) -> str:
    """Horizontal bars grouped by `groups`; each series has one value per group."""
    label_w, chart_w, bar_h, gap, top = 170, 520, 20, 14, 48
    values = [v for _, vals in series for v in vals if v is not None and math.isfinite(v)]
    vmax = _nice_max(max(values) if values else 1.0)
    rows = []
    y = top
    for g, group in enumerate(groups):
        if group:
            rows.append(f'<text x="8" y="{y + 12}" font-weight="bold">{escape(group)}</text>')
            y += 18
        for s, (name, vals) in enumerate(series):
            value = vals[g] if g < len(vals) else None
            colour = _COLOURS[s % len(_COLOURS)]
            rows.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
            if value is None or not math.isfinite(value):
                rows.append(f'<text x="{label_w + 4}" y="{y + 14}" fill="#888">n/a</text>')
            else:
                width = max(1.0, chart_w * value / vmax)
                rows.append(f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{colour}"/>')
                rows.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 14}">{escape(fmt(value))} {escape(unit)}</text>')
            y += bar_h + 4
        y += gap
    axis_y = y
    ticks = []
    for i in range(5):
        tick = vmax * i / 4
        x = label_w + chart_w * i / 4
        ticks.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#ddd"/>')
        ticks.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#555">{escape(fmt(tick))}</text>')
    height = axis_y + 26 + (16 if note else 0)
    width = label_w + chart_w + 150
    footer = f'<text x="8" y="{height - 6}" fill="#555" font-size="11">{escape(note)}</text>' if note else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="8" y="22" font-size="15" font-weight="bold">{escape(title)}</text>\n'
            f'<text x="8" y="38" fill="#555">{escape(unit)}</text>\n'
            + "\n".join(ticks) + "\n" + "\n".join(rows) + "\n" + footer + "\n</svg>\n")


def charts(report: dict) -> dict[str, str]:
    """{file name: SVG} for image size, cold build time and latency (p50 per input size)."""
    variants = report["variants"]
    machine = report["machine"]
    note = f"{machine['vcpus']} vCPU {machine['cpu']}; {report['command']}"
    size = bar_chart_svg("Image size on disk", "MB", [(v["variant"], v["size"] / 1e6 if v["size"] else None) for v in variants],
                         note=note, fmt=lambda x: f"{x:,.0f}")
    build = bar_chart_svg("Cold build time (docker build --no-cache)", "s",
                          [(v["variant"], v["build_seconds"]) for v in variants], note=note, fmt=lambda x: f"{x:,.0f}")
    sizes = report["settings"]["sizes"]
    series = []
    for v in variants:
        by = {lat["size"]: lat["p50_ms"] for lat in v["latency"]}
        series.append((v["variant"], [by.get(s) for s in sizes]))
    latency = grouped_bar_chart_svg("POST /v1/gainmap latency, p50", "ms", sizes, series, note=note,
                                    fmt=lambda x: f"{x:,.0f}")
    return {"images-size.svg": size, "images-build-time.svg": build, "images-latency.svg": latency}


def _load(machine: dict) -> str:
    load = machine.get("load_average")
    if not load:
        return ""
    return (f" Load average (1/5/15 min) at start {' / '.join(map(str, load['start']))}, at end "
            f"{' / '.join(map(str, load['end']))}.")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _seconds(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f} s"


def _sci(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def _db(agreement: dict) -> str:
    if agreement.get("identical"):
        return "identical"
    return "—" if agreement["psnr_db"] is None else f"{agreement['psnr_db']:.1f}"


def render_markdown(report: dict) -> str:
    """The bench report as markdown (machine, command, per-variant tables, targets)."""
    m = report["machine"]
    lines = ["# Reference service images: before and after", "",
             f"Machine: {m['vcpus']} vCPU {m['cpu']}, {m['memory_gib']} GiB RAM, {m['os']}, "
             f"Python {m['python']}, Docker engine {m['docker_engine']}.  ",
             f"Command: `{report['command']}`  ",
             f"Run: {report['started']} UTC, {report['duration_seconds'] / 60:.1f} min. Base image: "
             f"`{report['base_image']}`. Machine shared with other jobs: timings drift, compare within this run."
             + _load(m), "",
             "![image size](images-size.svg)", "", "![build time](images-build-time.svg)", "",
             "![latency](images-latency.svg)", "",
             "| variant | size on disk | compressed | accelerator libraries | cold build | start → ready |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for v in report["variants"]:
        lines.append(f"| {v['variant']} | {format_size(v['size'])} | {format_size(v['compressed_size'])} | "
                     f"{format_size(v['accelerator_bytes'])} | "
                     f"{_seconds(v['build_seconds'], 0)} | {_seconds(v['ready_seconds'], 1)} |")
    lines += ["", "Latency of `POST /v1/gainmap` (one warm-up request, then the timed ones; p95 of a few "
              "samples is close to their maximum):", "",
              "| variant | input | requests | p50 ms | p95 ms | warm-up ms |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for v in report["variants"]:
        for lat in v["latency"]:
            err = f" ({lat['error']})" if lat.get("error") else ""
            lines.append(f"| {v['variant']} | {lat['size']} | {lat['requests']}{err} | {_ms(lat['p50_ms'])} | "
                         f"{_ms(lat['p95_ms'])} | {_ms(lat['warmup_ms'])} |")
    lines += ["", "Agreement with the torch reference (the same input PNG sent to each container; PSNR of the "
              "dequantised 16-bit gain-map PNGs with peak 1.0; qmax and the float gain map's min/max from the "
              "`X-Gainmap-Qmax`/`-Min`/`-Max` headers, the latter relative to the reference's range):", "",
              "| variant | input | reference | PSNR dB | max abs err | qmax rel err | min/max rel err | note |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for v in report["variants"]:
        for a in v["agreement"]:
            lines.append(f"| {v['variant']} | {a['size']} | {a['reference']} | {_db(a)} | "
                         f"{_sci(a['max_abs_err'])} | {_sci(a['qmax_rel_err'])} | {_sci(a.get('range_rel_err'))} | "
                         f"{a.get('note') or ''} |")
    if any(a.get("note") == "reference gain map is constant" for v in report["variants"] for a in v["agreement"]):
        lines += ["", "The reference's gain-map PNG is constant: the gain map is clipped to [0, 1] and quantised to "
                  "16 bits, and this checkpoint's gain maps round to one value, so the PNG comparison cannot tell "
                  "the variants apart. The qmax column compares a float the service returns at full precision "
                  "and is the check that does, with the gain map's min/max where the report has them."]
    failed = [v for v in report["variants"] if v.get("error")]
    if failed:
        lines += ["", "Failures:", ""] + [f"- {v['variant']}: {v['error']}" for v in failed]
    lines += ["", "## Targets", ""] + _target_lines(report["targets"])
    return "\n".join(lines) + "\n"


def _target_lines(t: dict) -> list[str]:
    def mark(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**missed**")

    return [
        f"- ONNX Runtime image ≤ 250 MB on disk: {format_size(t.get('ort_size_bytes'))} — {mark(t.get('ort_within_250MB'))}",
        f"- ONNX Runtime image ≤ 1/20 of torch-cuda: torch-cuda is {t.get('size_ratio', '—')}× larger — "
        f"{mark(t.get('ort_at_most_1_20th'))}",
        f"- ONNX Runtime cold build ≥ 5× faster: {t.get('build_speedup', '—')}× — {mark(t.get('ort_build_5x_faster'))}",
    ]
