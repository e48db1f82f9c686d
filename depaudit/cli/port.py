"""`depaudit port`: export a team's own torch model to ONNX and prove ONNX Runtime gives the same outputs."""

from __future__ import annotations

from pathlib import Path

from depaudit.cli.app import app
from depaudit.cli.common import begin, render_options, settings_for
from depaudit.cli.output import emit, info
from depaudit.cli.params import HELP, REPORT, Given, Param, argument, cli_layer, pick, register, value, values
from depaudit.errors import UsageError
from depaudit.port import build_request, check_dependencies, run_port
from depaudit.project import open_project
from depaudit.render.port import PORT_RENDERERS

EXIT_CODES_HELP = (
    "Exit codes: 0 every case passed and no error finding (DA401-DA403, DA406, DA408, DA409) stands; 1 otherwise; "
    "2 usage error; 3 model, checkpoint or output folder unreadable; 4 torch or the ONNX packages missing."
)
PARAMS = (
    argument("model"),
    Param("inputs", ("--input", "-i"), str, ..., HELP["inputs"], multiple=True),
    value("checkpoint", "--checkpoint", kind=Path),
    value("out", "--out", kind=Path, default=Path("port-out")),
    value("opset", "--opset", kind=int, default=18),
    values("dynamic", "--dynamic"),
    value("min_psnr", "--min-psnr", kind=float, parse=float),
    values("output_name", "--output-name"),
    *pick(*REPORT),
)


def port(given: Given) -> int:
    """Export MODEL to ONNX, name what stops a sound export (DA401-DA409), and compare ONNX Runtime with
    torch on generated inputs."""
    begin(given.quiet, given.verbose)
    if not 7 <= given.opset <= 23:
        raise UsageError(f"--opset {given.opset}: expected 7..23")
    request = build_request(
        given.model,
        list(given.inputs),
        list(given.dynamic or []),
        given.out,
        checkpoint=given.checkpoint,
        opset=given.opset,
        min_psnr=given.min_psnr,
        output_names=tuple(given.output_name or ()),
    )
    settings = settings_for("port", open_project(Path.cwd()), cli_layer(PARAMS, given))
    check_dependencies()
    info(f"depaudit port: exporting {given.model} (torch runs every case; this takes a while)")
    report = run_port(request)
    emit(PORT_RENDERERS[given.fmt](report, render_options(settings)), given.output)
    return 0 if report.passed else 1


register(app, "port", PARAMS, port, epilog=EXIT_CODES_HELP)
