"""`depaudit image measure IMAGE...` and `depaudit image compare BEFORE AFTER`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from depaudit.cli import options as opt
from depaudit.cli.app import image_app
from depaudit.cli.common import FormatChoice
from depaudit.cli.output import emit, info
from depaudit.images.engine import require_engine
from depaudit.images.measure import measure_image
from depaudit.model import ImageMeasurement
from depaudit.render.formats import RenderOptions, check_supported, render
from depaudit.render.image import COMPARE_RENDERERS, MEASURE_RENDERERS, Comparison

EXIT_CODES_HELP = "Exit codes: 0 measured; 2 usage error (sarif and gnu: no findings to report); 4 Docker failed."


def _measure(refs: list[str], compressed: bool, top: int | None) -> list[ImageMeasurement]:
    require_engine()
    results = []
    for ref in refs:
        info(f"depaudit: measuring {ref} (docker save{' + gzip' if compressed else ''})")
        results.append(measure_image(ref, compressed=compressed, top=top))
    return results


def _options(output: str | None, binary: bool) -> RenderOptions:
    indent = 2 if output not in (None, "-") or sys.stdout.isatty() else None
    return RenderOptions(binary=binary, indent=indent)


@image_app.command("measure", epilog=EXIT_CODES_HELP)
def measure(
    images: Annotated[list[str], typer.Argument(help="Image references on the local engine.")],
    fmt: Annotated[FormatChoice, opt.format_option(MEASURE_RENDERERS)] = opt.TABLE,
    output: opt.OutputOption = None,
    binary: opt.BinaryOption = False,
    top: Annotated[int, typer.Option("--top", help="Python packages and shared libraries to list.")] = 15,
    no_compressed: Annotated[
        bool, typer.Option("--no-compressed", help="Skip the gzip pass (faster; compressed size unknown).")
    ] = False,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
) -> int:
    """Size on disk and compressed, layers, largest Python packages and shared libraries, accelerator bytes."""
    opt.begin(fmt, quiet, verbose)
    check_supported(MEASURE_RENDERERS, fmt.format)
    results = _measure(images, not no_compressed, top)
    emit(render(MEASURE_RENDERERS, fmt.format, results, _options(output, binary)), output)
    return 0


@image_app.command("compare", epilog=EXIT_CODES_HELP)
def compare(
    before: Annotated[str, typer.Argument(help="The image before the change.")],
    after: Annotated[str, typer.Argument(help="The image after the change.")],
    fmt: Annotated[FormatChoice, opt.format_option(COMPARE_RENDERERS)] = opt.TABLE,
    output: opt.OutputOption = None,
    binary: opt.BinaryOption = False,
    top: Annotated[int, typer.Option("--top", help="Python packages to list per image.")] = 25,
    no_compressed: Annotated[bool, typer.Option("--no-compressed", help="Skip the gzip pass.")] = False,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
) -> int:
    """Two images side by side: sizes, accelerator bytes, and Python packages."""
    opt.begin(fmt, quiet, verbose)
    check_supported(COMPARE_RENDERERS, fmt.format)
    # every package of both images: the lists are merged first, then cut to --top
    b, a = _measure([before, after], not no_compressed, None)
    emit(render(COMPARE_RENDERERS, fmt.format, Comparison(b, a, top), _options(output, binary)), output)
    return 0
