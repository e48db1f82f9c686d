"""depaudit gate: settings precedence, lock and latency budgets, exit codes, the GitHub step summary.
(Image-size budgets need an engine: tests/images/test_docker_service.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.errors import InputError, UsageError
from depaudit.gate import Budgets, check_latency, check_lock, load_budgets, run_gate
from fixture_paths import LOCKS

REPO = Path(__file__).resolve().parents[2]
TORCH_DEFAULT = LOCKS / "torch-default" / "uv.lock"


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = \"demo\"\nversion = \"0\"\n\n[tool.depaudit]\n" + body)
    return path


def test_precedence_pyproject_then_env_then_command_line(tmp_path):
    project = _pyproject(tmp_path, 'max-image-size = "1GB"\nmax-latency-ms = 900\nno-accelerator-targets = ["linux-x86_64"]\n')
    only_file = load_budgets({}, project, environ={})
    assert only_file.max_image_size == 10**9 and only_file.max_latency_ms == 900.0
    assert only_file.no_accelerator_targets == ("linux-x86_64",)
    env = {"DEPAUDIT_MAX_IMAGE_SIZE": "500MB", "DEPAUDIT_NO_ACCELERATOR_TARGETS": "linux-x86_64,linux-aarch64"}
    with_env = load_budgets({}, project, environ=env)
    assert with_env.max_image_size == 500 * 10**6
    assert with_env.no_accelerator_targets == ("linux-x86_64", "linux-aarch64")
    assert with_env.max_latency_ms == 900.0  # untouched keys keep the file's value
    with_cli = load_budgets({"max-image-size": "250MB", "max-latency-ms": None}, project, environ=env)
    assert with_cli.max_image_size == 250 * 10**6
    sources = dict(with_cli.sources)
    assert sources["max-image-size"] == "--max-image-size"
    assert sources["no-accelerator-targets"] == "DEPAUDIT_NO_ACCELERATOR_TARGETS"
    assert sources["max-latency-ms"].endswith("[tool.depaudit]")


def test_bad_values_name_where_they_came_from(tmp_path):
    project = _pyproject(tmp_path, 'max-image-size = "huge"\n')
    with pytest.raises(InputError, match=r"pyproject.toml: \[tool.depaudit\] max-image-size") as info:
        load_budgets({}, project, environ={})
    assert info.value.exit_code == 3
    with pytest.raises(UsageError, match="DEPAUDIT_MAX_LATENCY_MS"):
        load_budgets({}, None, environ={"DEPAUDIT_MAX_LATENCY_MS": "-5"})
    with pytest.raises(UsageError, match="--max-download"):
        load_budgets({"max-download": "12 parsecs"}, None, environ={})


def test_lock_path_in_pyproject_is_relative_to_it(tmp_path):
    project = _pyproject(tmp_path, 'lock = "locks/uv.lock"\n')
    assert load_budgets({}, project, environ={}).lock == tmp_path / "locks" / "uv.lock"


def test_no_accelerator_target_fails_on_the_cuda_lock_and_names_the_wheels():
    budgets = Budgets(lock=TORCH_DEFAULT, no_accelerator_targets=("linux-x86_64", "macos-arm64"))
    checks = {c.subject.split()[-1]: c for c in check_lock(budgets, offline=True)}
    linux, mac = checks["linux-x86_64"], checks["macos-arm64"]
    assert not linux.passed and linux.measured > 10**9
    names = [name for name, _ in linux.offenders]
    assert any(n.startswith("nvidia-") for n in names)
    assert mac.passed and not mac.offenders


def test_download_budget_per_target(tmp_path):
    lax = check_lock(Budgets(lock=TORCH_DEFAULT, max_download=10**12, targets=("linux-x86_64",)), offline=True)
    assert [c.passed for c in lax] == [True]
    strict = check_lock(Budgets(lock=TORCH_DEFAULT, max_download=10**8, targets=("linux-x86_64",)), offline=True)
    assert not strict[0].passed and strict[0].offenders[0][1] >= strict[0].offenders[-1][1]


def _bench_report(tmp_path: Path) -> Path:
    """A bench report in the schema `depaudit bench` writes (values chosen for the test)."""
    report = {"schema": 1, "variants": [
        {"variant": "onnxruntime", "latency": [{"size": "256x256", "p50_ms": 300.0, "p95_ms": 420.0},
                                               {"size": "512x512", "p50_ms": 1400.0, "p95_ms": 1700.0}]},
        {"variant": "tinygrad", "latency": [{"size": "256x256", "p50_ms": None, "p95_ms": None, "error": "timed out"}]},
    ]}
    path = tmp_path / "images.json"
    path.write_text(json.dumps(report))
    return path


def test_latency_budget_uses_the_chosen_percentile(tmp_path):
    path = _bench_report(tmp_path)
    p95 = {c.subject: c.passed for c in check_latency(path, 1500.0, "p95")}
    assert p95 == {"onnxruntime 256x256 p95": True, "onnxruntime 512x512 p95": False, "tinygrad 256x256 p95": False}
    p50 = {c.subject: c.passed for c in check_latency(path, 1500.0, "p50")}
    assert p50["onnxruntime 512x512 p50"] is True


def test_latency_report_that_is_not_a_bench_report(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"schema": 2}')
    with pytest.raises(InputError, match="other.json: not a depaudit bench report"):
        check_latency(path, 100.0)


def test_nothing_to_check_is_a_usage_error():
    with pytest.raises(UsageError, match="no budget"):
        run_gate(Budgets())


def _gate(args: list[str], cwd: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPAUDIT_") and k != "GITHUB_STEP_SUMMARY"}
    env.update(env_extra, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "depaudit", "gate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_breach_exits_1_names_offenders_and_appends_the_step_summary(tmp_path):
    report = _bench_report(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    project = _pyproject(tmp_path, f'max-latency-ms = 5000\nbench-report = "{report.name}"\n')
    done = _gate(["--max-latency-ms", "1500"], tmp_path, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1, done.stderr
    assert "onnxruntime 512x512 p95" in done.stderr and "budget exceeded" in done.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, not replaced
    assert "depaudit gate: FAILED" in text and "`onnxruntime 512x512 p95`" in text
    assert "--max-latency-ms" in text and str(project.name) in text  # where budgets came from
    # the file's looser budget alone passes the ORT sizes but the failed tinygrad run still breaches
    again = _gate(["--format", "json"], tmp_path, {"DEPAUDIT_MAX_LATENCY_MS": "2000"})
    data = json.loads(again.stdout)
    assert again.returncode == 1 and data["sources"]["max-latency-ms"] == "DEPAUDIT_MAX_LATENCY_MS"
    assert [c["passed"] for c in data["checks"]] == [True, True, False]


def test_cli_bad_pyproject_value_exits_3_without_traceback(tmp_path):
    _pyproject(tmp_path, "max-latency-ms = \"fast\"\n")
    done = _gate([], tmp_path, {})
    assert done.returncode == 3
    assert "pyproject.toml: [tool.depaudit] max-latency-ms" in done.stderr and "Traceback" not in done.stderr
