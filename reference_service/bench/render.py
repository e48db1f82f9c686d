"""The bench report as markdown and hand-written SVG bar charts; partial runs leave out what is empty."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from depaudit.units import format_size

_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948")
Fmt = Callable[[float], str]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * exponent:
            return float(step * exponent)
    return float(10 * exponent)


def bar_chart_svg(
    title: str, unit: str, bars: Sequence[tuple[str, float | None]], *, note: str = "", fmt: Fmt = lambda v: f"{v:,.1f}"
) -> str:
    """Horizontal bars, one per (label, value); a missing value is drawn as "n/a"."""
    return grouped_bar_chart_svg(title, unit, [""], [(label, [value]) for label, value in bars], note=note, fmt=fmt)


def grouped_bar_chart_svg(
    title: str,
    unit: str,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    note: str = "",
    fmt: Fmt = lambda v: f"{v:,.1f}",
) -> str:
    """Horizontal bars grouped by ``groups``; each series has one value per group."""
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
            rows.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
            if value is None or not math.isfinite(value):
                rows.append(f'<text x="{label_w + 4}" y="{y + 14}" fill="#888">n/a</text>')
            else:
                width = max(1.0, chart_w * value / vmax)
                rows.append(
                    f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" '
                    f'fill="{_COLOURS[s % len(_COLOURS)]}"/>'
                )
                rows.append(
                    f'<text x="{label_w + width + 4:.1f}" y="{y + 14}">{escape(fmt(value))} {escape(unit)}</text>'
                )
            y += bar_h + 4
        y += gap
    ticks = []
    for i in range(5):
        x = label_w + chart_w * i / 4
        ticks.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#ddd"/>')
        ticks.append(
            f'<text x="{x:.1f}" y="{y + 14}" text-anchor="middle" fill="#555">{escape(fmt(vmax * i / 4))}</text>'
        )
    height = y + 26 + (16 if note else 0)
    width = label_w + chart_w + 150
    footer = f'<text x="8" y="{height - 6}" fill="#555" font-size="11">{escape(note)}</text>' if note else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n'
        f'<text x="8" y="22" font-size="15" font-weight="bold">{escape(title)}</text>\n'
        f'<text x="8" y="38" fill="#555">{escape(unit)}</text>\n'
        + "\n".join(ticks)
        + "\n"
        + "\n".join(rows)
        + "\n"
        + footer
        + "\n</svg>\n"
    )


def charts(report: dict[str, Any]) -> dict[str, str]:
    """{file name: SVG} for image size, cold build time and p50 latency; a chart with no value is left out."""
    variants = report["variants"]
    machine = report["machine"]
    note = f"{machine['vcpus']} vCPU {machine['cpu']}; {report['command']}"
    if report.get("provisional"):
        note = "PROVISIONAL (load above CPU count): " + note
    out = {}
    sizes = [(v["variant"], v["size"] / 1e6 if v.get("size") else None) for v in variants]
    if any(value is not None for _, value in sizes):
        out["images-size.svg"] = bar_chart_svg("Image size on disk", "MB", sizes, note=note, fmt=lambda x: f"{x:,.0f}")
    builds = [(v["variant"], v.get("build_seconds")) for v in variants]
    if any(value is not None for _, value in builds):
        out["images-build-time.svg"] = bar_chart_svg(
            "Cold build time (docker build --no-cache)", "s", builds, note=note, fmt=lambda x: f"{x:,.0f}"
        )
    labels = report["settings"]["sizes"]
    series = []
    for v in variants:
        by = {lat["size"]: lat["p50_ms"] for lat in v.get("latency") or ()}
        if any(by.get(s) is not None for s in labels):
            series.append((v["variant"], [by.get(s) for s in labels]))
    if series:
        out["images-latency.svg"] = grouped_bar_chart_svg(
            "POST /v1/gainmap latency, p50 (interleaved rounds)",
            "ms",
            labels,
            series,
            note=note,
            fmt=lambda x: f"{x:,.0f}",
        )
    return out


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _seconds(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f} s"


def _sci(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def _header(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    load = report.get("load") or {}
    lines = ["# Reference service images: before and after", ""]
    if report.get("provisional"):
        lines += [
            f"> **Provisional.** The 1-minute load average reached {load.get('max_load1')} on "
            f"{load.get('cpus')} logical CPUs during this run: other work shared the machine and every "
            "timing below is inflated by it. Rerun on a quiet machine for figures to quote.",
            "",
        ]
    samples = load.get("samples") or []
    load_text = ""
    if samples:
        load_text = (
            f" Load average (1/5/15 min) at start {' / '.join(map(str, samples[0]['load']))}, at end "
            f"{' / '.join(map(str, samples[-1]['load']))}, 1-minute peak {load.get('max_load1')}."
        )
    lines += [
        f"Machine: {m['vcpus']} vCPU {m['cpu']}, {m['memory_gib']} GiB RAM, {m['os']}, Python {m['python']}, "
        f"Docker engine {m['docker_engine']}.  ",
        f"Command: `{report['command']}`  ",
        f"Run: {report['started']} UTC, {report['duration_seconds'] / 60:.1f} min. Base image: "
        f"`{report['base_image']}`. " + _timing_note(report["settings"]) + load_text,
        "",
    ]
    return lines


def _timing_note(settings: dict[str, Any]) -> str:
    if settings.get("interleaved"):
        return f"Variants timed side by side in {settings.get('rounds')} interleaved rounds (order rotated each round)."
    return "Variants timed one after the other (a report from before interleaved rounds)."


def _size_table(report: dict[str, Any]) -> list[str]:
    rows = [v for v in report["variants"] if v.get("size") or v.get("build_seconds")]
    if not rows:
        return []
    lines = [
        "| variant | size on disk | predicted (before the build) | compressed | accelerator libraries | cold build | start → ready |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in rows:
        lines.append(
            f"| {v['variant']} | {format_size(v.get('size'))} | {_predicted(v)} | {format_size(v.get('compressed_size'))} | "
            f"{format_size(v.get('accelerator_bytes'))} | {_seconds(v.get('build_seconds'), 0)} | "
            f"{_seconds(v.get('ready_seconds'), 1)} |"
        )
    return [*lines, ""]


def _predicted(v: dict[str, Any]) -> str:
    """`depaudit image predict`'s size and its error against the built size (reports written before the
    column existed have neither)."""
    predicted, built = v.get("predicted_size"), v.get("size")
    if predicted is None:
        return "—"
    text = format_size(predicted) + ("" if v.get("predicted_complete", True) else " (lower bound)")
    return text + (f" ({(predicted - built) / built * 100:+.1f} %)" if built else "")


def _latency_table(report: dict[str, Any]) -> list[str]:
    rows = [(v["variant"], lat) for v in report["variants"] for lat in v.get("latency") or ()]
    if not rows:
        return []
    lines = [
        "Latency of `POST /v1/gainmap` (one warm-up request, then the timed ones; p95 of a few samples is "
        "close to their maximum; load = mean 1-minute load average over the samples):",
        "",
        "| variant | input | requests | p50 ms | p95 ms | warm-up ms | load |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, lat in rows:
        err = f" ({lat['error']})" if lat.get("error") else ""
        loads = lat.get("load1") or []
        mean_load = f"{sum(loads) / len(loads):.1f}" if loads else "—"
        lines.append(
            f"| {variant} | {lat['size']} | {lat['requests']}{err} | {_ms(lat['p50_ms'])} | "
            f"{_ms(lat['p95_ms'])} | {_ms(lat['warmup_ms'])} | {mean_load} |"
        )
    return [*lines, ""]


def _agreement_table(report: dict[str, Any]) -> list[str]:
    rows = [(v["variant"], a) for v in report["variants"] for a in v.get("agreement") or ()]
    if not rows:
        return []
    lines = [
        "Agreement with the torch reference: the same photo-like input PNG sent to each container, the 16-bit "
        "gain-map PNGs compared level by level (levels = distinct values in the reference's PNG; a map with "
        "one level would make the comparison vacuous); qmax and the float gain map's min/max from the "
        "`X-Gainmap-Qmax`/`-Min`/`-Max` headers, the latter relative to the reference's range:",
        "",
        "| variant | input | reference | levels | max level diff | pixels differing | PSNR dB | qmax rel err "
        "| min/max rel err | note |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for variant, a in rows:
        differing = "—" if a.get("differing_pixels") is None else f"{a['differing_pixels']:,} of {a['pixels']:,}"
        psnr = "identical" if a.get("identical") else ("—" if a.get("psnr_db") is None else f"{a['psnr_db']:.1f}")
        lines.append(
            f"| {variant} | {a['size']} | {a['reference']} | {a.get('levels') or '—'} | "
            f"{'—' if a.get('max_level_diff') is None else a['max_level_diff']} | {differing} | {psnr} | "
            f"{_sci(a.get('qmax_rel_err'))} | {_sci(a.get('range_rel_err'))} | {a.get('note') or ''} |"
        )
    return [*lines, ""]


def render_markdown(report: dict[str, Any], chart_names: Sequence[str] = ()) -> str:
    """The bench report as markdown: machine, command, load, then only the tables that have rows."""
    lines = _header(report)
    titles = {"images-size.svg": "image size", "images-build-time.svg": "build time", "images-latency.svg": "latency"}
    for name in chart_names:
        lines += [f"![{titles.get(name, name)}]({name})", ""]
    lines += _size_table(report) + _latency_table(report) + _agreement_table(report)
    failed = [v for v in report["variants"] if v.get("error")]
    if failed:
        lines += ["Failures:", ""] + [f"- {v['variant']}: {v['error']}" for v in failed] + [""]
    lines += ["## Targets", "", *_target_lines(report["targets"])]
    return "\n".join(lines) + "\n"


def _target_lines(t: dict[str, Any]) -> list[str]:
    def mark(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**missed**")

    headroom = t.get("ort_headroom_limit_bytes")
    return [
        f"- ONNX Runtime image ≤ 250 MB on disk: {format_size(t.get('ort_size_bytes'))} — {mark(t.get('ort_within_250MB'))}",
        f"- … with ≥ 10 % headroom (≤ {format_size(headroom)}): {mark(t.get('ort_headroom_10pct'))}",
        f"- ONNX Runtime image ≤ 1/20 of torch-cuda: torch-cuda is {t.get('size_ratio', '—')}x larger — "
        f"{mark(t.get('ort_at_most_1_20th'))}",
        f"- ONNX Runtime cold build ≥ 5x faster: {t.get('build_speedup', '—')}x — {mark(t.get('ort_build_5x_faster'))}",
    ]
