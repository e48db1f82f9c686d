"""Rendering of image measurements (`depaudit image measure` / `compare`): JSON, markdown, rich tables."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from rich.table import Table

from depaudit.model import ImageMeasurement
from depaudit.units import format_size

SCHEMA = 1
_INSTRUCTION_WIDTH = 110


def measurement_to_dict(m: ImageMeasurement) -> dict[str, Any]:
    """A JSON-ready dict (sizes in bytes; an unknown size is null)."""
    return {
        "image": m.image,
        "size": m.size,
        "compressed_size": m.compressed_size,
        "accelerator_bytes": m.accelerator_bytes,
        "layers": [{"created_by": layer.created_by, "size": layer.size} for layer in m.layers],
        "python_packages": [{"name": name, "size": size} for name, size in m.python_packages],
        "shared_libraries": [{"path": path, "size": size} for path, size in m.shared_libraries],
        **dict(m.extra),
    }


def render_measurements_json(items: Sequence[ImageMeasurement], indent: int | None = 2) -> str:
    return json.dumps({"schema": SCHEMA, "images": [measurement_to_dict(m) for m in items]}, indent=indent) + "\n"


def _pkg_name(spec: str) -> str:
    return spec.split("==", 1)[0]


def comparison(before: ImageMeasurement, after: ImageMeasurement, top: int | None = None) -> dict[str, Any]:
    """Side-by-side figures and per-package sizes (by name; versions may differ).

    The two images' package lists are merged first and only then cut to the ``top`` largest, so a
    package both images hold shows its size on both sides (the measurements should therefore carry
    every package: ``measure_image(..., top=None)``).
    """

    def delta(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else b - a

    b_pk = {_pkg_name(n): (n, s) for n, s in before.python_packages}
    a_pk = {_pkg_name(n): (n, s) for n, s in after.python_packages}
    names = sorted(set(b_pk) | set(a_pk), key=lambda n: (-max(b_pk.get(n, ("", 0))[1], a_pk.get(n, ("", 0))[1]), n))
    names = names[:top] if top is not None else names
    packages = [
        {"name": n, "before": b_pk[n][1] if n in b_pk else None, "after": a_pk[n][1] if n in a_pk else None}
        for n in names
    ]
    rows: dict[str, dict[str, Any]] = {}
    for key in ("size", "compressed_size", "accelerator_bytes"):
        b, a = getattr(before, key), getattr(after, key)
        rows[key] = {
            "before": b,
            "after": a,
            "delta": delta(b, a),
            "ratio": (round(b / a, 2) if a and b is not None else None),
        }
    rows["layers"] = {"before": len(before.layers), "after": len(after.layers)}
    return {"before": before.image, "after": after.image, "figures": rows, "packages": packages}


def render_comparison_json(
    before: ImageMeasurement, after: ImageMeasurement, indent: int | None = 2, top: int | None = None
) -> str:
    data = {
        "schema": SCHEMA,
        **comparison(before, after, top),
        "images": [measurement_to_dict(before), measurement_to_dict(after)],
    }
    return json.dumps(data, indent=indent) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sizer(binary: bool) -> Callable[[int | None], str]:
    return partial(format_size, binary=binary)


def _families(extra: dict[str, object]) -> dict[str, int]:
    """Accelerator bytes by family, as `measure_image` records them in `extra` (empty when absent)."""
    families = extra.get("accelerator_families")
    return families if isinstance(families, dict) else {}


def _short(text: str, width: int = _INSTRUCTION_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_measurement_markdown(m: ImageMeasurement, binary: bool = False) -> str:
    """One image as markdown: summary, layers, packages, shared libraries."""
    f = _sizer(binary)
    extra = dict(m.extra)
    lines = [
        f"## `{m.image}`",
        "",
        "| | |",
        "| --- | --- |",
        f"| size on disk | {f(m.size)} |",
        f"| compressed (gzip layers, as a registry stores them) | {f(m.compressed_size)} |",
        f"| accelerator libraries | {f(m.accelerator_bytes)} |",
        f"| user | {extra.get('user', '?')} |",
        "",
    ]
    families = _families(extra)
    if families:
        lines += ["Accelerator bytes by family: " + ", ".join(f"{k} {f(v)}" for k, v in families.items()), ""]
    lines += ["| layer size | instruction |", "| ---: | --- |"]
    lines += [f"| {f(layer.size)} | `{_md_escape(_short(layer.created_by))}` |" for layer in m.layers]
    lines += ["", "| Python package | size |", "| --- | ---: |"]
    lines += [f"| {_md_escape(name)} | {f(size)} |" for name, size in m.python_packages]
    lines += ["", "| shared library | size |", "| --- | ---: |"]
    lines += [f"| `{_md_escape(path)}` | {f(size)} |" for path, size in m.shared_libraries]
    return "\n".join(lines) + "\n"


def render_measurements_markdown(items: Sequence[ImageMeasurement], binary: bool = False) -> str:
    return "\n".join(render_measurement_markdown(m, binary) for m in items)


def render_comparison_markdown(
    before: ImageMeasurement, after: ImageMeasurement, binary: bool = False, top: int | None = None
) -> str:
    f = _sizer(binary)
    data = comparison(before, after, top)
    labels = {"size": "size on disk", "compressed_size": "compressed", "accelerator_bytes": "accelerator libraries"}
    lines = [
        f"## `{before.image}` → `{after.image}`",
        "",
        "| | before | after | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, label in labels.items():
        row = data["figures"][key]
        change = (
            ""
            if row["delta"] is None
            else f"{'+' if row['delta'] > 0 else '−' if row['delta'] < 0 else ''}{f(abs(row['delta']))}"
        )
        if row["ratio"] and row["delta"] and row["delta"] < 0:
            change += f" ({row['ratio']}× smaller)"
        lines.append(f"| {label} | {f(row['before'])} | {f(row['after'])} | {change} |")
    lines += [
        f"| layers | {data['figures']['layers']['before']} | {data['figures']['layers']['after']} | |",
        "",
        "| Python package | before | after |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {p['name']} | {f(p['before']) if p['before'] is not None else '—'} | "
        f"{f(p['after']) if p['after'] is not None else '—'} |"
        for p in data["packages"]
    ]
    return "\n".join(lines) + "\n"


def measurement_renderables(m: ImageMeasurement, binary: bool = False) -> Iterator[Table]:
    """rich tables for one image (terminal output)."""
    f = _sizer(binary)
    extra = dict(m.extra)
    summary = Table(title=m.image, show_header=False, title_justify="left")
    summary.add_column()
    summary.add_column(justify="right")
    summary.add_row("size on disk", f(m.size))
    summary.add_row("compressed (registry)", f(m.compressed_size))
    summary.add_row("accelerator libraries", f(m.accelerator_bytes))
    for family, size in _families(extra).items():
        summary.add_row(f"  {family}", f(size))
    summary.add_row("user", str(extra.get("user", "?")))
    yield summary
    layers = Table(title="layers (base first)", title_justify="left")
    layers.add_column("size", justify="right")
    layers.add_column("instruction", overflow="fold")
    for layer in m.layers:
        layers.add_row(f(layer.size), _short(layer.created_by))
    yield layers
    packages = Table(title="largest Python packages", title_justify="left")
    packages.add_column("package")
    packages.add_column("size", justify="right")
    for name, size in m.python_packages:
        packages.add_row(name, f(size))
    yield packages
    libs = Table(title="largest shared libraries", title_justify="left")
    libs.add_column("path", overflow="fold")
    libs.add_column("size", justify="right")
    for path, size in m.shared_libraries:
        libs.add_row(path, f(size))
    yield libs


def comparison_renderables(
    before: ImageMeasurement, after: ImageMeasurement, binary: bool = False, top: int | None = None
) -> Iterator[Table]:
    """rich tables comparing two images (terminal output)."""
    f = _sizer(binary)
    data = comparison(before, after, top)
    table = Table(title=f"{before.image} → {after.image}", title_justify="left")
    table.add_column("")
    for name in ("before", "after", "change"):
        table.add_column(name, justify="right")
    labels = {"size": "size on disk", "compressed_size": "compressed", "accelerator_bytes": "accelerator libraries"}
    for key, label in labels.items():
        row = data["figures"][key]
        change = (
            ""
            if row["delta"] is None
            else ("+" if row["delta"] > 0 else "-" if row["delta"] < 0 else "") + f(abs(row["delta"]))
        )
        if row["ratio"] and row["delta"] and row["delta"] < 0:
            change += f" ({row['ratio']}x smaller)"
        table.add_row(label, f(row["before"]), f(row["after"]), change)
    yield table
    packages = Table(title="Python packages", title_justify="left")
    packages.add_column("package")
    for name in ("before", "after"):
        packages.add_column(name, justify="right")
    for p in data["packages"]:
        packages.add_row(
            p["name"],
            f(p["before"]) if p["before"] is not None else "-",
            f(p["after"]) if p["after"] is not None else "-",
        )
    yield packages
