"""`depaudit image measure IMAGE...`, `image compare BEFORE AFTER`, `image scan IMAGE` (no daemon needed)
and `image predict DOCKERFILE` (no build)."""

from __future__ import annotations

import sys
from pathlib import Path

from depaudit.cli.app import image_app
from depaudit.cli.common import begin, render_options, settings_for
from depaudit.cli.output import emit, info, problem
from depaudit.cli.params import (
    LOOKUPS,
    VERBOSITY,
    Given,
    argument,
    cli_layer,
    flag,
    format_param,
    pick,
    register,
    value,
    values,
)
from depaudit.cli.prediction import PREDICTION, predictor
from depaudit.gate import image_scan_report
from depaudit.images.engine import require_engine
from depaudit.images.measure import measure_image
from depaudit.model import ImageMeasurement
from depaudit.project import open_project
from depaudit.render.formats import RenderOptions
from depaudit.render.image import COMPARE_RENDERERS, MEASURE_RENDERERS, Comparison
from depaudit.render.image_predict import PREDICT_RENDERERS
from depaudit.render.image_scan import SCAN_RENDERERS
from depaudit.units import parse_size

EXIT_CODES_HELP = "Exit codes: 0 measured; 2 usage error (sarif and gnu: no findings to report); 4 Docker failed."
SCAN_EXIT_CODES = (
    "Exit codes: 0 scanned, every budget within its limit; 1 a budget exceeded; 2 usage error; "
    "3 the archive cannot be read or is no image; 4 Docker failed (a reference needs the engine)."
)
PREDICT_EXIT_CODES = (
    "Exit codes: 0 predicted; 2 usage error (unknown --target, a FROM whose build argument has no value); "
    "3 the Dockerfile, context or a base archive cannot be read; 4 Docker or the resolver failed."
)
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
SCAN_PARAMS = (
    argument("image"),
    value("image_max_accelerator", "--max-accelerator", parse=parse_size, kind=int),
    value("max_waste", "--max-waste", parse=parse_size, kind=int),
    *pick("top", top={"help": "Rows per list (packages, files, wasted files)."}),
    flag("compressed", "--compressed"),
    value("image_platform", "--platform"),
    *pick("fmt", "output", "binary", "select", "ignore", "docs_url", *VERBOSITY),
)
PREDICT_PARAMS = (
    argument("dockerfile", Path),
    *PREDICTION,
    value("stage", "--target"),
    *pick("python", python={"help": "The image's Python (default: the base image's)."}),
    value("predict_platform", "--platform"),
    values("wheel_dir", "--wheel-dir", kind=Path),
    *pick(*LOOKUPS),
    format_param(PREDICT_RENDERERS),
    *pick("output", "binary", "top", *VERBOSITY, top={"help": "Package rows to list."}),
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
    begin(given.quiet, given.verbose)
    results = _measure(given.refs, not given.no_compressed, given.top)
    emit(MEASURE_RENDERERS[given.fmt](results, _options(given.output, given.binary)), given.output)
    return 0


def compare(given: Given) -> int:
    """Two images side by side: sizes, accelerator bytes, and Python packages."""
    begin(given.quiet, given.verbose)
    # every package of both images: the lists are merged first, then cut to --top
    b, a = _measure([given.before, given.after], not given.no_compressed, None)
    comparison = Comparison(b, a, given.top)
    emit(COMPARE_RENDERERS[given.fmt](comparison, _options(given.output, given.binary)), given.output)
    return 0


def scan(given: Given) -> int:
    """What an image carries, read without a daemon: bytes per layer, wasted bytes and dive's efficiency,
    Python packages per environment, accelerator runtimes by package and file, caches left behind."""
    begin(given.quiet, given.verbose)
    settings = settings_for("image", open_project(Path.cwd()), cli_layer(SCAN_PARAMS, given))
    rules = settings.rules.effective()
    info(f"depaudit: reading {given.image}")
    report = image_scan_report(
        given.image,
        top=given.top,
        compress=given.compressed,
        platform=given.image_platform,
        max_accelerator=given.image_max_accelerator,
        max_waste=given.max_waste,
        select=rules.select,
        ignore=rules.ignore,
        binary=given.binary,
    )
    emit(
        SCAN_RENDERERS[given.fmt](report, render_options(settings, binary=given.binary, top=given.top)),
        given.output,
    )
    for check in report.checks:
        if not check.passed:
            problem(f"budget exceeded: {check.message(given.binary)}")
    return 0 if report.passed else 1


def predict(given: Given) -> int:
    """The image's size before it is built: its base, then each stage and instruction (installs resolved
    for the image's platform, COPY from the context or other stages), with the accelerator share."""
    begin(given.quiet, given.verbose)
    settings = settings_for("image", open_project(Path.cwd()), cli_layer(PREDICT_PARAMS, given))
    run = predictor(
        given,
        settings,
        stage=given.stage,
        python=given.python,
        platform=given.predict_platform,
        wheel_dirs=tuple(given.wheel_dir or ()),
    )
    prediction = run(given.dockerfile)
    options = RenderOptions(binary=given.binary, top=given.top, indent=2)
    emit(PREDICT_RENDERERS[given.fmt](prediction, options), given.output)
    return 0


register(image_app, "measure", MEASURE_PARAMS, measure, epilog=EXIT_CODES_HELP)
register(image_app, "compare", COMPARE_PARAMS, compare, epilog=EXIT_CODES_HELP)
register(image_app, "scan", SCAN_PARAMS, scan, epilog=SCAN_EXIT_CODES)
register(image_app, "predict", PREDICT_PARAMS, predict, epilog=PREDICT_EXIT_CODES)
