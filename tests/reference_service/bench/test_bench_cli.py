"""The bench's command line (`python -m reference_service.bench`): its options become the same BenchConfig
`depaudit bench` built before the bench left the package (DEPAUDIT_BASE_IMAGE the default of --base-image),
a run that lost a variant exits 4, --from-json re-renders a real report, and bad input is one line with
its exit code. The bench itself needs Docker: `run_bench` is replaced where a test says so."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reference_service.bench import cli
from reference_service.bench.cli import bench_failures, parser, run
from reference_service.bench.render import render_markdown
from reference_service.bench.run import DEFAULT_SIZES, DEFAULT_WHEEL_DIRS, BenchConfig

REPO = Path(__file__).resolve().parents[3]
REAL_REPORT = REPO / "reports" / "images.json"  # a real bench run, committed with the reports


def _variant(name: str, error: str | None = None, latency_errors: tuple[str | None, ...] = (None,)) -> dict:
    return {
        "variant": name,
        "error": error,
        "latency": [{"size": f"{256 * (i + 1)}x256", "error": e} for i, e in enumerate(latency_errors)],
    }


def test_a_clean_report_has_no_failures() -> None:
    said: list[str] = []
    assert bench_failures({"variants": [_variant("onnxruntime"), _variant("tinygrad")]}, said.append) == []
    assert said == []


def test_requests_answered_500_are_failures_named_per_size() -> None:
    said: list[str] = []
    report = {"variants": [_variant("onnxruntime"), _variant("tinygrad", latency_errors=("answered 500", None))]}
    assert bench_failures(report, said.append) == ["tinygrad at 256x256: answered 500"]
    assert said == ["warning: tinygrad at 256x256: answered 500"]


def test_a_build_that_failed_is_a_failure() -> None:
    report = {"variants": [_variant("torch-cuda", error="docker build failed", latency_errors=())]}
    assert bench_failures(report, lambda _: None) == ["torch-cuda: docker build failed"]


def test_defaults_are_the_ones_depaudit_bench_had() -> None:
    args = parser(environ={}).parse_args([])
    assert args.base_image == "python:3.11-slim" and args.variant is None
    assert args.sizes == list(DEFAULT_SIZES) and args.requests == 5 and args.size_budget == 90.0
    assert args.repo == Path(".") and args.output_dir == Path("reports") and args.wheels is None
    assert not (args.overwrite or args.keep or args.no_compressed or args.quiet or args.verbose)
    assert parser(environ={"DEPAUDIT_BASE_IMAGE": "depaudit/python:3.11-slim"}).parse_args([]).base_image == (
        "depaudit/python:3.11-slim"
    )
    assert parser(environ={"DEPAUDIT_BASE_IMAGE": "env:1"}).parse_args(["--base-image", "cli:2"]).base_image == "cli:2"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sizes", "256x256,8x8"], "argument --sizes: '8x8' is not WIDTHxHEIGHT (each at least 16)"),
        (["--requests", "0"], "argument --requests: 0 is not in the range 1-1000"),
        (["--requests", "five"], "argument --requests: 'five' is not a whole number"),
        (["--size-budget", "0.5"], "argument --size-budget: 0.5 is less than 1"),
        (["--variant", "torch-rocm"], "argument --variant/-v: invalid choice: 'torch-rocm'"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_options_exit_2_naming_the_option(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        run(argv, prog="depaudit bench")
    assert exited.value.code == 2
    assert f"depaudit bench: error: {message}" in capsys.readouterr().err


def _fake_bench(report: dict, seen: list[BenchConfig]):
    def fake(cfg: BenchConfig, say) -> dict:
        seen.append(cfg)
        say("built and measured (stand-in: no Docker in this test)")
        return report

    return fake


def test_options_become_the_bench_config_and_a_lost_variant_exits_4(tmp_path: Path, monkeypatch, capsys) -> None:
    report = json.loads(REAL_REPORT.read_text())
    lost = copy.deepcopy(report)
    lost["variants"][3]["error"] = "docker build of tinygrad failed"
    seen: list[BenchConfig] = []
    monkeypatch.setattr(cli, "run_bench", _fake_bench(lost, seen))
    monkeypatch.setenv("DEPAUDIT_BASE_IMAGE", "depaudit/python:3.11-slim")
    argv = ["-v", "onnxruntime", "--variant", "tinygrad", "--sizes", "64x48", "--requests", "2", "--keep"]
    argv += ["--size-budget", "5", "--wheels", str(tmp_path), "--no-compressed", "--output-dir", str(tmp_path / "out")]
    assert run(argv, prog="depaudit bench") == 4
    (cfg,) = seen
    assert cfg.variants == ("onnxruntime", "tinygrad") and cfg.base_image == "depaudit/python:3.11-slim"
    assert cfg.sizes == [(64, 48)] and cfg.requests == 2 and cfg.size_budget_seconds == 5.0
    assert cfg.keep and not cfg.measure_compressed and cfg.wheel_dirs == (tmp_path,) and cfg.repo == Path.cwd()
    assert cfg.command == "depaudit bench " + " ".join(argv)
    out = capsys.readouterr()
    assert "depaudit bench: warning: tinygrad: docker build of tinygrad failed" in out.err
    assert out.out == render_markdown(lost) and (tmp_path / "out" / "images.md").is_file()
    assert json.loads((tmp_path / "out" / "images.json").read_text()) == lost


def test_a_clean_run_exits_0_and_quiet_says_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    seen: list[BenchConfig] = []
    monkeypatch.setattr(cli, "run_bench", _fake_bench(json.loads(REAL_REPORT.read_text()), seen))
    assert run(["--quiet", "--output-dir", str(tmp_path)]) == 0
    assert seen[0].wheel_dirs == DEFAULT_WHEEL_DIRS and len(seen[0].variants) == 4
    assert capsys.readouterr().err == ""


def test_from_json_rerenders_a_real_report(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reference_service.bench",
            "--from-json",
            str(REAL_REPORT),
            "--output-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "python -m reference_service.bench: re-rendered" in proc.stderr
    markdown = (tmp_path / "images.md").read_text()
    assert "| onnxruntime |" in markdown and (tmp_path / "images-size.svg").is_file()


def test_an_unreadable_report_is_one_line_and_exit_3(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "images.json"
    bad.write_text('{"schema": 1}')
    assert cli.main(["--from-json", str(bad), "--output-dir", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"python -m reference_service.bench: error: {bad}: not a depaudit bench report (expected schema 1 with variants)"
    ]
    assert not (tmp_path / "out").exists()
