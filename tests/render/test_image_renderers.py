"""`image scan` and `image predict` output: every format of the one enum, JSON with `"schema": 1`, SARIF
valid against the official schema, and names read from an image (hostile: control characters, markdown
pipes, terminal escapes) escaped in every human format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from depaudit.cli.output import plain_text
from depaudit.errors import UsageError
from depaudit.gate import ImageScanReport, image_scan_checks
from depaudit.images.archive import read_saved
from depaudit.images.contents import analyse
from depaudit.images.predict import InstructionPrediction, PredictedBase, Prediction, StagePrediction
from depaudit.render.formats import HumanOutput, OutputFormat, RenderOptions, render
from depaudit.render.image_predict import PREDICT_RENDERERS
from depaudit.render.image_scan import SCAN_RENDERERS
from depaudit.rules.base import describe
from depaudit.rules.run_budgets import budget_findings

from image_builders import docker_save, layer_tar
from sarif_schema import validate_sarif

EVIL = "evil\x1b[31m|`name`\n"
SITE = "usr/lib/python3.11/site-packages"


def _record() -> str:
    """RECORD is CSV: the path holding a newline is quoted."""
    rows = io.StringIO()
    csv.writer(rows, lineterminator="\n").writerows([[f"{EVIL}.py", "", ""], ["nvidia_x-1.0.dist-info/RECORD", "", ""]])
    return rows.getvalue()


def _report(max_accelerator: int | None = 0, max_waste: int | None = 10) -> ImageScanReport:
    record = _record()
    layers = [
        layer_tar([(f"{SITE}/{EVIL}.py", b"1" * 30), (f"{SITE}/nvidia_x-1.0.dist-info/RECORD", record.encode())]),
        layer_tar([(f"opt/{EVIL}", b"2" * 40), ("usr/lib/libcudart.so.12", b"3" * 50)]),
        layer_tar([(f"opt/.wh.{EVIL}", b"")]),
    ]
    contents = analyse(read_saved(io.BytesIO(docker_save(layers, tag=f"img:{EVIL}")), f"img:{EVIL}"))
    checks = image_scan_checks(contents, max_accelerator=max_accelerator, max_waste=max_waste)
    rules = tuple(d for d in describe("DA5") if d.id in ("DA508", "DA509"))
    return ImageScanReport(contents, tuple(checks), tuple(budget_findings(checks)), rules)


def _text(rendered) -> str:
    return plain_text(rendered) if isinstance(rendered, HumanOutput) else rendered


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=lambda f: f.value)
def test_image_scan_renders_every_format_and_escapes_names(fmt):
    assert set(SCAN_RENDERERS) == set(OutputFormat)
    text = _text(render(SCAN_RENDERERS, fmt, _report(), RenderOptions()))
    assert "\x1b" not in text and "evil" in text
    if fmt is OutputFormat.json:
        doc = json.loads(text)
        assert doc["schema"] == 1 and doc["wasted_bytes"] == 40 and not doc["passed"]
        assert [c["rule"] for c in doc["checks"]] == ["DA508", "DA509"]
        assert doc["accelerator"]["packages"][0]["name"] == "nvidia-x"
    elif fmt is OutputFormat.sarif:
        validate_sarif(text)
        assert sorted(r["ruleId"] for r in json.loads(text)["runs"][0]["results"]) == ["DA508", "DA509"]
    elif fmt is OutputFormat.markdown:
        assert "| evil" not in text  # a pipe in a name never opens a new cell
    elif fmt is OutputFormat.table:
        assert "FAIL" in text and "image-accelerator" in text


def test_image_scan_checks_pass_within_budget_and_name_offenders_over_it():
    report = _report(max_accelerator=10**9, max_waste=10**9)
    assert report.passed and all(c.offenders == () for c in report.checks)
    failing = _report(max_accelerator=0, max_waste=None)
    (check,) = failing.checks
    assert check.measured == 50 + 30 + len(_record())
    assert any("libcudart" in name for name, _ in check.offenders)


def _prediction() -> Prediction:
    run = InstructionPrediction(
        1, 9, "RUN", f"RUN pip install {EVIL}", 5_000_000, 4_000_000, 0, ((f"{EVIL}==1", 5_000_000, 4_000_000),)
    )
    copy = InstructionPrediction(1, 10, "COPY", "COPY . /app", 1_000, 0, 0, unknowns=("`curl` is not followed",))
    return Prediction(
        dockerfile="Dockerfile",
        target=None,
        build_args=(("BASE", "x"),),
        base=PredictedBase("python:3.11-slim", 130_000_000, "local engine", "3.11", "x86_64-manylinux_2_36", 0),
        stages=(StagePrediction(1, None, "python:3.11-slim", True, (run, copy)),),
        layers_size=5_001_000,
        accelerator_bytes=4_000_000,
        wasted=0,
    )


@pytest.mark.parametrize("fmt", [OutputFormat.table, OutputFormat.json, OutputFormat.markdown], ids=lambda f: f.value)
def test_image_predict_renders_and_says_when_it_is_a_lower_bound(fmt):
    text = _text(render(PREDICT_RENDERERS, fmt, _prediction(), RenderOptions()))
    assert "\x1b" not in text
    if fmt is OutputFormat.json:
        doc = json.loads(text)
        assert doc["schema"] == 1 and doc["size"] == 135_001_000 and doc["complete"] is False
        assert doc["not_followed"] == ["line 10: `curl` is not followed"]
    else:
        assert "lower bound" in text and "135.0 MB" in text


@pytest.mark.parametrize("fmt", [OutputFormat.sarif, OutputFormat.gnu], ids=lambda f: f.value)
def test_image_predict_refuses_finding_formats(fmt):
    with pytest.raises(UsageError, match="image predict"):
        render(PREDICT_RENDERERS, fmt, _prediction(), RenderOptions())
