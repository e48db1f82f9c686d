"""The one output-format enum: every command's renderer table covers every member, and every
(command, format) pair run through the real CLI either writes that format or refuses with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from depaudit.cli import main
from depaudit.errors import UsageError
from depaudit.render.diff import DIFF_RENDERERS
from depaudit.render.fix import FIX_RENDERERS
from depaudit.render.formats import OutputFormat, Unsupported, offered, parse_format
from depaudit.render.gate import GATE_RENDERERS
from depaudit.render.image import COMPARE_RENDERERS, MEASURE_RENDERERS
from depaudit.render.lint import LINT_RENDERERS
from depaudit.render.port import PORT_RENDERERS
from depaudit.render.scan import SCAN_RENDERERS

from fixture_paths import FIXTURES, LOCKS
from sarif_schema import validate_sarif

TABLES = {
    "lint": LINT_RENDERERS,
    "scan": SCAN_RENDERERS,
    "gate": GATE_RENDERERS,
    "image measure": MEASURE_RENDERERS,
    "image compare": COMPARE_RENDERERS,
    "diff": DIFF_RENDERERS,
    "fix": FIX_RENDERERS,
}
FINDING_COMMANDS = ("lint", "scan", "gate", "diff")


@pytest.mark.parametrize("command", TABLES)
def test_every_table_covers_every_format(command):
    assert set(TABLES[command]) == set(OutputFormat)  # a renderer or a refusal for every member
    if command in FINDING_COMMANDS:  # commands that report findings offer every format, SARIF included
        assert offered(TABLES[command]) == tuple(OutputFormat)
    else:
        assert offered(TABLES[command]) == (OutputFormat.table, OutputFormat.json, OutputFormat.markdown)


def test_port_renders_every_format():
    """`depaudit port` reports findings: its table offers SARIF and gnu too. (Its CLI runs with torch, in
    tests/port; the (command, format) loop below covers the torch-free commands.)"""
    assert set(PORT_RENDERERS) == set(OutputFormat)
    assert offered(PORT_RENDERERS) == tuple(OutputFormat)


def test_parse_format_names_the_formats_when_it_refuses():
    assert parse_format(" SARIF ") is OutputFormat.sarif
    for unknown in ("xml", "text"):  # `text`, the 0.1.0 spelling of `table`, is gone like any other
        with pytest.raises(UsageError, match=f"'{unknown}' is not one of table, json, markdown, sarif, gnu"):
            parse_format(unknown)


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def _args(command: str, tmp_path: Path) -> list[str]:
    if command == "fix":  # a requirements file that pins PyPI's torch: a dry run shows the edit
        (tmp_path / "requirements.txt").write_text("torch==2.8.0\n")
        return ["fix", str(tmp_path / "requirements.txt"), "--dry-run"]
    if command == "lint":
        return ["lint", str(FIXTURES / "dockerfiles" / "cuda-twice.Dockerfile")]
    if command == "scan":
        return [
            "scan",
            str(LOCKS / "torch-2.8" / "uv.lock"),
            "--offline",
            "-t",
            "linux-x86_64",
            "--max-download",
            "1GB",
        ]
    if command == "gate":
        report = tmp_path / "images.json"
        report.write_text(
            json.dumps(
                {
                    "schema": 1,
                    "variants": [
                        {"variant": "onnxruntime", "latency": [{"size": "256x256", "p50_ms": 9.0, "p95_ms": 20.0}]}
                    ],
                }
            )
        )
        return ["gate", "--bench-report", str(report), "--max-latency-ms", "10", "--pyproject", str(_empty(tmp_path))]
    if command == "diff":  # the fixed lock back to the CUDA one: new accelerator packages
        case = FIXTURES / "diff" / "cpu-index"
        return [
            "diff",
            str(case / "after" / "uv.lock"),
            str(case / "before" / "uv.lock"),
            "--offline",
            "-t",
            "linux-x86_64",
            "--fail-on-new-accelerator",
        ]
    return [*command.split(), "demo:one", *(["demo:two"] if command == "image compare" else [])]


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\n')
    return path


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=lambda f: f.value)
@pytest.mark.parametrize("command", TABLES)
def test_every_command_and_format(command, fmt, tmp_path, capsys, monkeypatch, size_cache):
    monkeypatch.setenv("DEPAUDIT_CACHE_DIR", str(size_cache))
    monkeypatch.setenv("DEPAUDIT_DOCKER", str(tmp_path / "no-docker-here"))  # image commands fail at the engine
    monkeypatch.chdir(tmp_path)
    code, out, err = _run([*_args(command, tmp_path), "--format", fmt.value], capsys)
    if isinstance(TABLES[command][fmt], Unsupported):
        assert code == 2 and "reports no findings and writes table, json, markdown" in err and out == ""
        return
    if command.startswith("image"):
        assert code == 4 and "no Docker engine" in err  # the format was accepted; the engine is missing
        return
    if command == "fix":
        assert code == 0 and "requirements.txt" in out, err  # an edit, not a finding
        return
    assert code == 1, err  # each sample has a finding or a breach
    if fmt is OutputFormat.json:
        assert json.loads(out)["schema"] == 1
    elif fmt is OutputFormat.sarif:
        assert validate_sarif(out)["runs"][0]["results"]
    elif fmt is OutputFormat.gnu:
        assert out and all(": DA" in line for line in out.splitlines())
    elif fmt is OutputFormat.markdown:
        assert out.startswith("#")
    else:
        assert out.strip()
