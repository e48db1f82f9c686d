"""`depaudit image predict` output: tables, markdown and JSON (`"schema": 1`). A prediction reports
measurements, not findings, so SARIF and `gnu` are refused with a usage error (gate the prediction with
`depaudit gate DOCKERFILE --max-image-size` for those)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

from rich.table import Table

from depaudit.images.predict import InstructionPrediction, Prediction
from depaudit.render.escaping import escape_control, markdown_cell
from depaudit.render.formats import HumanOutput, OutputFormat, Renderer, RenderOptions, with_unsupported
from depaudit.units import format_size

SCHEMA = 1


def _instruction(i: InstructionPrediction) -> dict[str, Any]:
    return {
        "line": i.line,
        "instruction": i.keyword,
        "text": i.text,
        "size": i.size,
        "accelerator_bytes": i.accelerator,
        "hides": i.hides,
        "packages": [
            {"name": n.split("==")[0], "version": n.split("==", 1)[-1], "size": s, "accelerator_bytes": a}
            for n, s, a in i.packages
        ],
        "notes": list(i.notes),
        "not_followed": list(i.unknowns),
    }


def prediction_dict(p: Prediction) -> dict[str, Any]:
    """A prediction as JSON-ready data (sizes in bytes; unknown is null)."""
    return {
        "dockerfile": p.dockerfile,
        "target": p.target,
        "build_args": dict(p.build_args),
        "size": p.size,
        "complete": p.complete,
        "layers_size": p.layers_size,
        "accelerator_bytes": p.accelerator_bytes,
        "wasted_bytes": p.wasted,
        "base": {
            "image": p.base.ref,
            "size": p.base.size,
            "source": p.base.source,
            "python": p.base.python,
            "platform": p.base.platform,
            "accelerator_bytes": p.base.accelerator,
        },
        "stages": [
            {
                "index": s.index,
                "name": s.name,
                "base": s.base,
                "ships": s.ships,
                "size": s.size,
                "instructions": [_instruction(i) for i in s.instructions],
            }
            for s in p.stages
        ],
        "not_followed": list(p.unknowns),
    }


def predict_json(p: Prediction, options: RenderOptions) -> str:
    return json.dumps({"schema": SCHEMA, **prediction_dict(p)}, indent=options.indent) + "\n"


def _headline(p: Prediction, binary: bool) -> list[str]:
    f = partial(format_size, binary=binary)
    size = f(p.size) if p.size is not None else "unknown"
    bound = "" if p.complete else " (a lower bound: some steps were not followed)"
    share = f" ({p.accelerator_bytes / p.size * 100:.1f} %)" if p.size else ""
    lines = [
        f"{p.dockerfile}{' --target ' + p.target if p.target else ''}: predicted {size}{bound}, not built",
        f"base {p.base.ref}: {f(p.base.size) if p.base.size is not None else 'size unknown'} ({p.base.source}); "
        f"Python {p.base.python or '?'}, {p.base.platform or 'platform unknown'}",
        f"layers added: {f(p.layers_size)}; accelerator runtimes: {f(p.accelerator_bytes)}{share}"
        + (f"; wasted: {f(p.wasted)}" if p.wasted else ""),
    ]
    return [escape_control(line) for line in lines]


def _rows(p: Prediction, options: RenderOptions) -> Iterator[Any]:
    f = partial(format_size, binary=options.binary)
    yield "\n".join(_headline(p, options.binary))
    for stage in p.stages:
        label = f"stage {stage.index}" + (f" {stage.name}" if stage.name else "") + f" FROM {stage.base or '?'}"
        label += ": ships in the image" if stage.ships else ": builder (only what COPY --from takes reaches the image)"
        table = Table(title=escape_control(label), title_justify="left")
        for name, justify in (("line", "right"), ("adds", "right"), ("accelerator", "right"), ("instruction", "left")):
            table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        for i in stage.instructions:
            if i.size == 0 and not i.unknowns and i.keyword not in ("RUN", "COPY", "ADD"):
                continue
            text = i.text + ("  [not followed: " + "; ".join(i.unknowns) + "]" if i.unknowns else "")
            table.add_row(str(i.line), f(i.size), f(i.accelerator) if i.accelerator else "", escape_control(text))
        yield table
        packages = [pkg for i in stage.instructions for pkg in i.packages]
        if packages and stage.ships:
            yield _package_table(packages, options)
    for line in p.unknowns:
        yield f"not followed: {escape_control(line)}"


def _package_table(packages: list[tuple[str, int, int]], options: RenderOptions) -> Table:
    f = partial(format_size, binary=options.binary)
    table = Table(title="packages installed in the shipped stage", title_justify="left")
    for name, justify in (("package", "left"), ("installed", "right"), ("accelerator", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for label, size, accel in sorted(packages, key=lambda x: -x[1])[: options.top]:
        table.add_row(escape_control(label), f(size), f(accel) if accel else "")
    return table


def predict_table(p: Prediction, options: RenderOptions) -> HumanOutput:
    return HumanOutput(tuple(_rows(p, options)))


def predict_markdown(p: Prediction, options: RenderOptions) -> str:
    f = partial(format_size, binary=options.binary)
    lines = [f"### depaudit image predict: `{markdown_cell(p.dockerfile)}`", ""]
    lines += [f"- {markdown_cell(line)}" for line in _headline(p, options.binary)]
    for stage in p.stages:
        lines += [
            "",
            f"**stage {stage.index} `{markdown_cell(stage.name or '')}` FROM `{markdown_cell(stage.base or '?')}`**"
            + (" (ships)" if stage.ships else " (builder)"),
            "",
        ]
        lines += ["| line | adds | accelerator | instruction |", "| ---: | ---: | ---: | --- |"]
        for i in stage.instructions:
            if i.keyword in ("RUN", "COPY", "ADD") or i.size:
                accel = f(i.accelerator) if i.accelerator else ""
                lines.append(f"| {i.line} | {f(i.size)} | {accel} | `{markdown_cell(i.text)}` |")
    if p.unknowns:
        lines += ["", "Not followed (the size is a lower bound):", ""] + [f"- {markdown_cell(u)}" for u in p.unknowns]
    return "\n".join(lines) + "\n"


PREDICT_RENDERERS: dict[OutputFormat, Renderer[Prediction]] = with_unsupported(
    "image predict",
    {OutputFormat.table: predict_table, OutputFormat.json: predict_json, OutputFormat.markdown: predict_markdown},
)
