"""`depaudit port`: export a team's own torch model to ONNX and prove ONNX Runtime gives the same outputs."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from depaudit.cli._app import app, info, stdout_console, write_output


class PortFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


@app.command()
def port(
    model: Annotated[str, typer.Argument(help="path/to/file.py:callable or package.module:callable (an nn.Module, "
                                              "a class built without arguments, or a function returning one).")],
    inputs: Annotated[list[str], typer.Option("--input", "-i", help="NAME=SHAPE[:DTYPE[:LOW..HIGH]] per forward "
                                                                    "argument, in order (e.g. image=1x3x224x224).")],
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", help="A state_dict to load (weights_only).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for model.onnx, goldens.npz, port.json, runtime.py "
                                                    "and the torch-free test.")] = Path("port-out"),
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (default 18).")] = 18,
    dynamic: Annotated[Optional[list[str]], typer.Option("--dynamic", help="NAME:AXIS[=DIM] left dynamic (repeatable).")] = None,
    min_psnr: Annotated[float, typer.Option("--min-psnr", help="Per-case PSNR bar in dB (default 100).")] = 100.0,
    output_name: Annotated[Optional[list[str]], typer.Option("--output-name", help="Names of the outputs, in order "
                                                                                    "(default output_0, output_1, ...).")] = None,
    fmt: Annotated[PortFormat, typer.Option("--format", "-f", help="Output format.")] = PortFormat.table,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write the report to FILE ('-' for stdout).")] = None,
) -> int:
    """Export MODEL to ONNX, name what stops a sound export (DA401-DA407), and compare ONNX Runtime with
    torch on generated inputs. Exit 0 only when every case meets --min-psnr and no error finding stands."""
    from depaudit.errors import UsageError
    from depaudit.port import build_request, check_dependencies, run_port

    if not 7 <= opset <= 23:
        raise UsageError(f"--opset {opset}: expected 7..23")
    request = build_request(model, list(inputs), list(dynamic or []), out, checkpoint=checkpoint, opset=opset,
                            min_psnr=min_psnr, output_names=tuple(output_name or ()))
    check_dependencies()
    info(f"depaudit port: exporting {model} (torch runs every case; this takes a while)")
    report = run_port(request)
    _emit(report, fmt, output)
    return 0 if report.passed else 1


def _emit(report, fmt: PortFormat, output: Optional[str]) -> None:
    from depaudit.render import port as render

    if fmt is PortFormat.json:
        write_output(render.render_port_json(report), output)
    elif fmt is PortFormat.markdown:
        write_output(render.render_port_markdown(report), output)
    elif fmt is PortFormat.sarif:
        from depaudit.render.sarif import render_sarif
        from depaudit.rules.base import describe

        write_output(render_sarif(report.findings, [d for d in describe() if d.id.startswith("DA4")]), output)
    elif output not in (None, "-"):
        from rich.console import Console

        console = Console(record=True, width=160, no_color=True)
        with console.capture():
            for item in render.port_renderables(report):
                console.print(item)
        write_output(console.export_text(), output)
    else:
        console = stdout_console()
        for item in render.port_renderables(report):
            console.print(item)
