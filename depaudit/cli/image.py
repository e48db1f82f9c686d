"""`depaudit image measure IMAGE...` and `depaudit image compare BEFORE AFTER`."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from depaudit.cli._app import image_app, info, stdout_console, write_output


class ImageFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


def _measure(refs: list[str], compressed: bool, top: int | None):
    from depaudit.images.engine import require_engine
    from depaudit.images.measure import measure_image

    require_engine()
    results = []
    for ref in refs:
        info(f"depaudit: measuring {ref} (docker save{' + gzip' if compressed else ''})")
        results.append(measure_image(ref, compressed=compressed, top=top))
    return results


def _print_renderables(items, output: str | None) -> None:
    if output in (None, "-"):
        console = stdout_console()
        for item in items:
            console.print(item)
        return
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    console = Console(file=buffer, width=160, no_color=True)
    for item in items:
        console.print(item)
    write_output(buffer.getvalue(), output)


def _indent(output: str | None) -> int | None:
    return 2 if output not in (None, "-") or sys.stdout.isatty() else None


@image_app.command("measure")
def measure(
    images: Annotated[list[str], typer.Argument(help="Image references on the local engine.")],
    fmt: Annotated[ImageFormat, typer.Option("--format", "-f", help="Output format.")] = ImageFormat.table,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
    binary: Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")] = False,
    top: Annotated[int, typer.Option("--top", help="Python packages and shared libraries to list.")] = 15,
    no_compressed: Annotated[bool, typer.Option("--no-compressed", help="Skip the gzip pass (faster; compressed size unknown).")] = False,
) -> int:
    """Size on disk and compressed, layers, largest Python packages and shared libraries, accelerator bytes."""
    from depaudit.render import images as render

    results = _measure(images, not no_compressed, top)
    if fmt is ImageFormat.json:
        write_output(render.render_measurements_json(results, _indent(output)), output)
    elif fmt is ImageFormat.markdown:
        write_output(render.render_measurements_markdown(results, binary), output)
    else:
        _print_renderables([r for m in results for r in render.measurement_renderables(m, binary)], output)
    return 0


@image_app.command("compare")
def compare(
    before: Annotated[str, typer.Argument(help="The image before the change.")],
    after: Annotated[str, typer.Argument(help="The image after the change.")],
    fmt: Annotated[ImageFormat, typer.Option("--format", "-f", help="Output format.")] = ImageFormat.table,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write to FILE ('-' for stdout).")] = None,
    binary: Annotated[bool, typer.Option("--binary", help="Show MiB/GiB instead of MB/GB.")] = False,
    top: Annotated[int, typer.Option("--top", help="Python packages to list per image.")] = 25,
    no_compressed: Annotated[bool, typer.Option("--no-compressed", help="Skip the gzip pass.")] = False,
) -> int:
    """Two images side by side: sizes, accelerator bytes, and Python packages."""
    from depaudit.render import images as render

    # every package of both images: the lists are merged first, then cut to --top
    b, a = _measure([before, after], not no_compressed, None)
    if fmt is ImageFormat.json:
        write_output(render.render_comparison_json(b, a, _indent(output), top), output)
    elif fmt is ImageFormat.markdown:
        write_output(render.render_comparison_markdown(b, a, binary, top), output)
    else:
        _print_renderables(list(render.comparison_renderables(b, a, binary, top)), output)
    return 0
