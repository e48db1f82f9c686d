"""`depaudit image measure` and `depaudit image compare` output: table, JSON and markdown. They report
measurements, not findings, so SARIF and `gnu` are refused with a usage error (exit 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from depaudit.model import ImageMeasurement
from depaudit.render import image_measurements as measurements
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions, with_unsupported


@dataclass(frozen=True)
class Comparison:
    """Two images measured: before and after a change."""

    before: ImageMeasurement
    after: ImageMeasurement
    top: int | None = None  # package rows, cut after the two lists are merged


def _measure_table(items: Sequence[ImageMeasurement], options: RenderOptions) -> HumanOutput:
    return HumanOutput(tuple(r for m in items for r in measurements.measurement_renderables(m, options.binary)))


def _measure_json(items: Sequence[ImageMeasurement], options: RenderOptions) -> str:
    return measurements.render_measurements_json(items, options.indent)


def _measure_markdown(items: Sequence[ImageMeasurement], options: RenderOptions) -> str:
    return measurements.render_measurements_markdown(items, options.binary)


def _compare_table(doc: Comparison, options: RenderOptions) -> HumanOutput:
    return HumanOutput(tuple(measurements.comparison_renderables(doc.before, doc.after, options.binary, doc.top)))


def _compare_json(doc: Comparison, options: RenderOptions) -> str:
    return measurements.render_comparison_json(doc.before, doc.after, options.indent, doc.top)


def _compare_markdown(doc: Comparison, options: RenderOptions) -> str:
    return measurements.render_comparison_markdown(doc.before, doc.after, options.binary, doc.top)


MEASURE_RENDERERS: dict[OutputFormat, Renderer[Sequence[ImageMeasurement]]] = with_unsupported(
    "image measure",
    {
        OutputFormat.table: _measure_table,
        OutputFormat.json: _measure_json,
        OutputFormat.markdown: _measure_markdown,
    },
)
COMPARE_RENDERERS: dict[OutputFormat, Renderer[Comparison]] = with_unsupported(
    "image compare",
    {
        OutputFormat.table: _compare_table,
        OutputFormat.json: _compare_json,
        OutputFormat.markdown: _compare_markdown,
    },
)
