"""`depaudit image measure IMAGE...`, `image compare BEFORE AFTER`, `image scan IMAGE` (no daemon needed)
and `image predict DOCKERFILE` (no build)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from depaudit.analysis.size_lookup import default_cache_dir
from depaudit.cli import options as opt
from depaudit.cli.app import image_app, parse_size_option
from depaudit.cli.output import emit, info, problem
from depaudit.errors import UsageError
from depaudit.gate import image_scan_report
from depaudit.images.engine import require_engine
from depaudit.images.lookups import PredictOptions, predict_dockerfile
from depaudit.images.measure import measure_image
from depaudit.model import ImageMeasurement
from depaudit.render.formats import RenderOptions, check_supported, render
from depaudit.render.image import COMPARE_RENDERERS, MEASURE_RENDERERS, Comparison
from depaudit.render.image_predict import PREDICT_RENDERERS
from depaudit.render.image_scan import SCAN_RENDERERS

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
    fmt: opt.FormatOption = opt.TABLE,
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
    fmt: opt.FormatOption = opt.TABLE,
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


SCAN_EXIT_CODES = (
    "Exit codes: 0 scanned, every budget within its limit; 1 a budget exceeded; 2 usage error; "
    "3 the archive cannot be read or is no image; 4 Docker failed (a reference needs the engine)."
)


@image_app.command("scan", epilog=SCAN_EXIT_CODES)
def scan(
    image: Annotated[
        str,
        typer.Argument(
            help="A `docker save` archive (.tar, .tar.gz), an OCI image-layout folder, or a reference on the "
            "local engine (exported with docker save as it is read)."
        ),
    ],
    max_accelerator: Annotated[
        str | None, typer.Option("--max-accelerator", help="Budget for accelerator runtime bytes (0 forbids them).")
    ] = None,
    max_waste: Annotated[
        str | None,
        typer.Option("--max-waste", help="Budget for wasted bytes (files later layers delete or overwrite)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Rows per list (packages, files, wasted files).")] = 15,
    compressed: Annotated[
        bool, typer.Option("--compressed", help="Also count each plain layer gzip-compressed (slow on GB images).")
    ] = False,
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="The os/arch to read from a multi-platform OCI index (linux/amd64)."),
    ] = None,
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    binary: opt.BinaryOption = False,
    select: opt.SelectOption = None,
    ignore: opt.IgnoreOption = None,
    docs_url: opt.DocsUrlOption = None,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
) -> int:
    """What an image carries, read without a daemon: bytes per layer, wasted bytes and dive's efficiency,
    Python packages per environment, accelerator runtimes by package and file, caches left behind."""
    opt.begin(fmt, quiet, verbose)
    info(f"depaudit: reading {image}")
    report = image_scan_report(
        image,
        top=top,
        compress=compressed,
        platform=platform,
        max_accelerator=parse_size_option(max_accelerator, "--max-accelerator"),
        max_waste=parse_size_option(max_waste, "--max-waste"),
        select=select or (),
        ignore=ignore or (),
        binary=binary,
    )
    options = opt.render_options(None, docs_url, binary=binary, top=top)
    emit(render(SCAN_RENDERERS, fmt.format, report, options), output)
    for check in report.checks:
        if not check.passed:
            problem(f"budget exceeded: {check.message(binary)}")
    return 0 if report.passed else 1


PREDICT_EXIT_CODES = (
    "Exit codes: 0 predicted; 2 usage error (unknown --target, a FROM whose build argument has no value); "
    "3 the Dockerfile, context or a base archive cannot be read; 4 Docker or the resolver failed."
)


def build_args(values: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or ():
        name, eq, rest = value.partition("=")
        if not eq or not name:
            raise UsageError(f"{option} {value!r}: expected NAME=VALUE")
        pairs[name] = rest
    return pairs


def predict_options(
    base_image: list[str] | None,
    base_size: str | None,
    python: str | None,
    platform: str | None,
    wheel_dir: list[Path] | None,
    allow_host: list[str] | None,
    offline: bool,
) -> PredictOptions:
    """PredictOptions from the command line (`--base-image [REF=]PATH` may repeat)."""
    archives: dict[str | None, Path] = {}
    for value in base_image or ():
        ref, eq, path = value.rpartition("=") if "=" in value else ("", "", value)
        archives[ref if eq else None] = Path(path)
    return PredictOptions(
        archives=archives,
        base_size=parse_size_option(base_size, "--base-size"),
        python=python,
        platform=platform,
        wheel_dirs=tuple(wheel_dir or ()),
        allow_hosts=tuple(allow_host or ()),
        offline=offline,
        cache_dir=default_cache_dir(),
    )


BuildArgOption = Annotated[
    list[str] | None, typer.Option("--build-arg", help="NAME=VALUE, as docker build takes it (repeatable).")
]
ContextOption = Annotated[
    Path | None, typer.Option("--context", help="The build context folder (default: the current folder).")
]
BaseImageOption = Annotated[
    list[str] | None,
    typer.Option(
        "--base-image",
        help="[REF=]PATH: read base image REF (every base without REF) from a docker save archive or OCI layout.",
    ),
]
BaseSizeOption = Annotated[
    str | None,
    typer.Option("--base-size", help="The base image's size when it cannot be read (no engine, no archive)."),
]


@image_app.command("predict", epilog=PREDICT_EXIT_CODES)
def predict(
    dockerfile: Annotated[Path, typer.Argument(help="The Dockerfile to predict.")],
    build_arg: BuildArgOption = None,
    target: Annotated[
        str | None, typer.Option("--target", help="The stage to build, as docker build --target.")
    ] = None,
    context: ContextOption = None,
    base_image: BaseImageOption = None,
    base_size: BaseSizeOption = None,
    python: Annotated[
        str | None, typer.Option("--python", help="The image's Python (default: the base image's).")
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="uv's --python-platform for installs (default: from the base image, e.g. x86_64-manylinux_2_36).",
        ),
    ] = None,
    wheel_dir: Annotated[
        list[Path] | None, typer.Option("--wheel-dir", help="A folder of wheels read before any index (repeatable).")
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="No network: what is not cached stays unknown.")] = False,
    allow_host: opt.AllowHostOption = None,
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    binary: opt.BinaryOption = False,
    top: Annotated[int, typer.Option("--top", help="Package rows to list.")] = 15,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
) -> int:
    """The image's size before it is built: its base, then each stage and instruction (installs resolved
    for the image's platform, COPY from the context or other stages), with the accelerator share."""
    opt.begin(fmt, quiet, verbose)
    check_supported(PREDICT_RENDERERS, fmt.format)
    options = predict_options(base_image, base_size, python, platform, wheel_dir, allow_host, offline)
    prediction = predict_dockerfile(
        dockerfile,
        context=context or Path.cwd(),
        build_args=build_args(build_arg, "--build-arg"),
        target=target,
        options=options,
        say=info,
    )
    emit(render(PREDICT_RENDERERS, fmt.format, prediction, RenderOptions(binary=binary, top=top, indent=2)), output)
    return 0
