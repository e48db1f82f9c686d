"""`depaudit port`: export a team's own torch model to ONNX and prove ONNX Runtime gives the same outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from depaudit.cli import options as opt
from depaudit.cli.app import app
from depaudit.cli.output import emit, info
from depaudit.errors import UsageError
from depaudit.port import build_request, check_dependencies, run_port
from depaudit.render.formats import render
from depaudit.render.port import PORT_RENDERERS

EXIT_CODES_HELP = (
    "Exit codes: 0 every case passed and no error finding (DA401-DA403, DA406, DA408, DA409) stands; 1 otherwise; "
    "2 usage error; 3 model, checkpoint or output folder unreadable; 4 torch or the ONNX packages missing."
)


@app.command(epilog=EXIT_CODES_HELP)
def port(
    model: Annotated[
        str,
        typer.Argument(
            help="path/to/file.py:callable or package.module:callable (an nn.Module, a class built without "
            "arguments, or a function returning one)."
        ),
    ],
    inputs: Annotated[
        list[str],
        typer.Option(
            "--input",
            "-i",
            help="NAME=SHAPE[:DTYPE[:LOW..HIGH]] per forward argument, in order (e.g. image=1x3x224x224, "
            "audio=1x16000:float32:-1..1).",
        ),
    ],
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A state_dict to load (weights_only).")
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for model.onnx, goldens.npz, port.json, runtime.py and the torch-free test."
        ),
    ] = Path("port-out"),
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (default 18).")] = 18,
    dynamic: Annotated[
        list[str] | None,
        typer.Option(
            "--dynamic",
            help="NAME:AXIS[=DIM][:MIN..MAX] left dynamic, or NAME:AXIS=K*DIM+C tied to another axis "
            "(e.g. image:0=batch:1..64, f0:2=2*frames; repeatable).",
        ),
    ] = None,
    min_psnr: Annotated[
        float | None,
        typer.Option(
            "--min-psnr",
            help="An absolute PSNR bar in dB against torch float32 for every output. Default: 100 dB passes; "
            "below it ONNX Runtime must be as close to a float64 torch reference as torch float32 is (6 dB margin).",
        ),
    ] = None,
    output_name: Annotated[
        list[str] | None,
        typer.Option("--output-name", help="Names of the outputs, in order (default output_0, output_1, ...)."),
    ] = None,
    fmt: opt.FormatOption = opt.TABLE,
    output: opt.OutputOption = None,
    docs_url: opt.DocsUrlOption = None,
    quiet: opt.QuietOption = False,
    verbose: opt.VerboseOption = False,
) -> int:
    """Export MODEL to ONNX, name what stops a sound export (DA401-DA407), and compare ONNX Runtime with
    torch on generated inputs."""
    opt.begin(fmt, quiet, verbose)
    if not 7 <= opset <= 23:
        raise UsageError(f"--opset {opset}: expected 7..23")
    request = build_request(
        model,
        list(inputs),
        list(dynamic or []),
        out,
        checkpoint=checkpoint,
        opset=opset,
        min_psnr=min_psnr,
        output_names=tuple(output_name or ()),
    )
    check_dependencies()
    info(f"depaudit port: exporting {model} (torch runs every case; this takes a while)")
    report = run_port(request)
    project = opt.pyproject_option(None, Path.cwd())
    emit(render(PORT_RENDERERS, fmt.format, report, opt.render_options(project, docs_url)), output)
    return 0 if report.passed else 1
