"""`depaudit image measure IMAGE...` and `depaudit image compare BEFORE AFTER`."""

from __future__ import annotations

import sys

from depaudit.cli.app import image_app
from depaudit.cli.common import begin
from depaudit.cli.output import emit, info
from depaudit.cli.params import VERBOSITY, Given, argument, flag, format_param, pick, register
from depaudit.images.engine import require_engine
from depaudit.images.measure import measure_image
from depaudit.model import ImageMeasurement
from depaudit.render.formats import RenderOptions
from depaudit.render.image import COMPARE_RENDERERS, MEASURE_RENDERERS, Comparison

EXIT_CODES_HELP = "Exit codes: 0 measured; 2 usage error (sarif and gnu: no findings to report); 4 Docker failed."
MEASURE_PARAMS = (
    argument("refs", multiple=True),
    format_param(MEASURE_RENDERERS),
    *pick("output", "binary", "top", top={"help": "Python packages and shared libraries to list."}),
    flag("no_compressed", "--no-compressed"),
    *pick(*VERBOSITY),
)
COMPARE_PARAMS = (
    argument("before"),
    argument("after"),
    format_param(COMPARE_RENDERERS),
    *pick("output", "binary", "top", top={"default": 25, "help": "Python packages to list per image."}),
    flag("no_compressed", "--no-compressed"),
    *pick(*VERBOSITY),
)


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


def measure(given: Given) -> int:
    """Size on disk and compressed, layers, largest Python packages and shared libraries, accelerator bytes."""
    begin(given.fmt, given.quiet, given.verbose)
    results = _measure(given.refs, not given.no_compressed, given.top)
    emit(MEASURE_RENDERERS[given.fmt.format](results, _options(given.output, given.binary)), given.output)
    return 0


def compare(given: Given) -> int:
    """Two images side by side: sizes, accelerator bytes, and Python packages."""
    begin(given.fmt, given.quiet, given.verbose)
    # every package of both images: the lists are merged first, then cut to --top
    b, a = _measure([given.before, given.after], not given.no_compressed, None)
    comparison = Comparison(b, a, given.top)
    emit(COMPARE_RENDERERS[given.fmt.format](comparison, _options(given.output, given.binary)), given.output)
    return 0


register(image_app, "measure", MEASURE_PARAMS, measure, epilog=EXIT_CODES_HELP)
register(image_app, "compare", COMPARE_PARAMS, compare, epilog=EXIT_CODES_HELP)
