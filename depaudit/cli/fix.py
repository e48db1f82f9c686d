"""`depaudit fix`: rewrite a project toward the PyTorch CPU index, ONNX Runtime or tinygrad — safely."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from depaudit.cli.app import app
from depaudit.cli.common import begin, render_options, settings_for
from depaudit.cli.output import emit, info, refuse_output_over
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
)
from depaudit.fixers.pipeline import FixRequest, classify, run_fix
from depaudit.project import ProjectContext, ProjectFiles, open_project
from depaudit.render.fix import FIX_RENDERERS
from depaudit.settings import scan_options

EXIT_CODES_HELP = (
    "Exit codes: 0 fixed (or nothing to fix); 1 the lock still installs accelerator wheels (or torch at run "
    "time); 2 usage error; 3 bad input; 4 uv failed or a file changed meanwhile; 5 refused (nothing changed)."
)


class FixTo(StrEnum):
    cpu_index = "cpu-index"
    onnxruntime = "onnxruntime"
    tinygrad = "tinygrad"


PARAMS = (
    argument("path", Path, Path(".")),
    value("to", "--to", kind=FixTo, default=FixTo.cpu_index),
    *pick("cpu_index_url"),
    flag("dry_run", "--dry-run"),
    flag("relock", "--lock"),
    flag("force", "--force"),
    flag("allow_torch", "--allow-torch"),
    *pick("target", target={"help": "Targets for the before/after table and the verdict (repeatable; default all)."}),
    *pick("package", "all_packages", *LOOKUPS, "output", "binary", "docs_url", *VERBOSITY),
    format_param(FIX_RENDERERS),
)


def fix(given: Given) -> int:
    """Rewrite a project so it stops installing CUDA wheels it never uses; --dry-run shows the diff."""
    begin(given.quiet, given.verbose)
    kind, file = classify(given.path)
    # Settings come from the [tool.depaudit] of the project being fixed; a requirements file or a
    # Dockerfile has none (the pyprojects above it belong to other projects).
    project = (
        open_project(file)
        if kind == "pyproject"
        else ProjectContext(Path.cwd(), None, None, None, None, ProjectFiles())
    )
    refuse_output_over(given.output, [file, project.lock_path])
    settings = settings_for("fix", project, cli_layer(PARAMS, given))
    request = FixRequest(
        given.path,
        given.to.value,
        settings.cpu_index_url,
        given.dry_run,
        given.relock,
        given.force,
        given.allow_torch,
        settings.targets,
        {k: v for k, v in scan_options(settings).items() if k != "targets"},
        settings.state_dir,
        Path.cwd(),
        lambda message: info(f"depaudit: {message}"),
        lambda paths: refuse_output_over(given.output, paths),
    )
    outcome = run_fix(request)
    emit(FIX_RENDERERS[given.fmt](outcome, render_options(settings, binary=given.binary)), given.output)
    return outcome.exit_code


register(app, "fix", PARAMS, fix, epilog=EXIT_CODES_HELP)
