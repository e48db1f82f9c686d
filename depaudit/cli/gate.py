"""`depaudit gate`: exit 1 when an image, a lock or the service's latency is over budget (or a budget
cannot be verified)."""

from __future__ import annotations

from pathlib import Path

from depaudit.cli.app import app
from depaudit.cli.common import begin, render_options, settings_for
from depaudit.cli.output import append_step_summary, emit, info, problem, refuse_output_over
from depaudit.cli.params import (
    LOCK_BUDGETS,
    LOOKUPS,
    REPORT,
    SELECTION,
    Given,
    argument,
    cli_layer,
    pick,
    register,
    value,
)
from depaudit.cli.prediction import PREDICTION, predictor
from depaudit.gate import GateRequest, run_gate
from depaudit.images.predict import Prediction
from depaudit.project import open_project
from depaudit.render.gate import GATE_RENDERERS, gate_markdown

EXIT_CODES_HELP = (
    "Exit codes: 0 every check passed; 1 a budget exceeded or not verifiable (a size unknown, a package "
    "built from source or not installable); 2 usage error (no budget, bad option or DEPAUDIT_* value); 3 "
    "unreadable input (bad [tool.depaudit] value, lock or bench report); 4 Docker failed, or the index could "
    "not be reached for a size a check needs and no check is already over its budget."
)
PARAMS = (
    argument("images", str, None, multiple=True, setting="images"),
    *pick("max_image_size", "lock", *LOCK_BUDGETS, "allow_build", *SELECTION, "target", "python"),
    *pick("bench_report", "max_latency_ms", "latency_percentile", "pyproject", *LOOKUPS, *REPORT, "select", "ignore"),
    *PREDICTION,
    value("build_target", "--build-target"),
)


def gate(given: Given) -> int:
    """Check budgets; every check is listed PASS, FAIL or UNKNOWN, and only PASS passes. Appends a
    markdown summary to $GITHUB_STEP_SUMMARY when it is set."""
    begin(given.quiet, given.verbose)
    project = open_project(Path.cwd(), lock=given.lock, pyproject=given.pyproject)
    settings = settings_for("gate", project, cli_layer(PARAMS, given))
    lock_path = settings.lock if settings.lock is not None else project.lock_path
    refuse_output_over(given.output, [lock_path, project.pyproject, settings.bench_report])
    file = project.root_file.settings if project.root_file is not None else None
    predict = predictor(given, settings, stage=given.build_target)

    def predicted(dockerfile: str | Path) -> Prediction:
        info(f"depaudit gate: predicting {dockerfile} (not built)")
        return predict(dockerfile)

    report = run_gate(GateRequest(settings, lock_path, file, given.binary), predicted)
    options = render_options(settings, binary=given.binary)
    emit(GATE_RENDERERS[given.fmt](report, options), given.output)
    written = append_step_summary(gate_markdown(report, options))
    if written is not None:
        info(f"depaudit gate: summary appended to {written}")
    for breach in report.result.breaches:
        what = "budget not verifiable" if breach.verdict == "unknown" else "budget exceeded"
        problem(f"{what}: {breach.message(given.binary)}")
    for finding in report.result.lock_findings:
        problem(f"{finding.rule} {finding.message}")
    if report.index_errors:
        problem(
            f"the index could not be reached for sizes these checks need ({'; '.join(report.index_errors)}): exit 4"
        )
    return report.exit_code


register(app, "gate", PARAMS, gate, epilog=EXIT_CODES_HELP)
