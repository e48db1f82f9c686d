"""`depaudit gate` end to end (a real subprocess): exit codes, breaches on stderr, the step summary
appended, every output format, SARIF that validates, bad input without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench_reports import write_bench_report
from childrun import env_without_settings
from fixture_paths import LOCKS
from sarif_schema import validate_sarif

REPO = Path(__file__).resolve().parents[2]
TORCH_DEFAULT = LOCKS / "torch-default" / "uv.lock"


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\nversion = "0"\n\n[tool.depaudit]\n' + body)
    return path


def _gate(args: list[str], cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`depaudit gate ARGS` in `cwd`; a bench report written there is named on the command line (only the
    command line or environment picks the report a gate trusts)."""
    if (cwd / "images.json").exists() and "--bench-report" not in args:
        args = [*args, "--bench-report", "images.json"]
    env = env_without_settings("GITHUB_STEP_SUMMARY")
    env.update(env_extra or {}, PYTHONPATH=str(REPO), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "gate", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_breach_exits_1_names_offenders_and_appends_the_step_summary(tmp_path):
    write_bench_report(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    _pyproject(tmp_path, "max-latency-ms = 5000\n")
    done = _gate(["--max-latency-ms", "1500"], tmp_path, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1, done.stderr
    assert "onnxruntime 512x512 p95" in done.stderr and "budget exceeded" in done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["PASS", "FAIL", "FAIL"]  # every check listed
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, not replaced
    assert "depaudit gate: FAILED" in text and "`onnxruntime 512x512 p95`" in text and "✅ PASS" in text
    assert "`max-latency-ms` ← `--max-latency-ms`" in text and "`bench-report` ← `--bench-report`" in text
    again = _gate(["--format", "json"], tmp_path, {"DEPAUDIT_MAX_LATENCY_MS": "2000"})
    data = json.loads(again.stdout)
    assert again.returncode == 1 and data["sources"]["max-latency-ms"] == "DEPAUDIT_MAX_LATENCY_MS"
    assert [c["verdict"] for c in data["checks"]] == ["pass", "pass", "fail"]
    assert [f["rule"] for f in data["findings"]] == ["DA505"]


def test_every_format_and_sarif_validates(tmp_path):
    write_bench_report(tmp_path)
    _pyproject(tmp_path, "max-latency-ms = 1500\n")
    outputs = {fmt: _gate(["--format", fmt], tmp_path) for fmt in ("table", "json", "markdown", "sarif", "gnu")}
    assert all(done.returncode == 1 for done in outputs.values()), {f: d.stderr for f, d in outputs.items()}
    log = validate_sarif(outputs["sarif"].stdout)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["DA505", "DA505"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("images.json")
    assert (
        outputs["gnu"]
        .stdout.splitlines()[0]
        .endswith("images.json: DA505 onnxruntime 512x512 p95: latency 1,700 ms exceeds the budget of 1,500 ms")
    )
    assert outputs["markdown"].stdout.startswith("### depaudit gate: FAILED")
    unknown = _gate(["--format", "text"], tmp_path)  # 0.1.0's spelling of table: an unknown format now
    assert unknown.returncode == 2 and not unknown.stdout
    assert "'text' is not one of table, json, markdown, sarif, gnu" in unknown.stderr


def test_download_budget_applies_to_every_target(tmp_path, size_cache):
    done = _gate(
        [
            "--lock",
            str(TORCH_DEFAULT),
            "--no-accelerator-target",
            "linux-x86_64",
            "--max-download",
            "500MB",
            "--offline",
            "--format",
            "json",
        ],
        tmp_path,
        {"DEPAUDIT_CACHE_DIR": str(size_cache)},
    )
    checks = json.loads(done.stdout)["checks"]
    download = {c["target"]: c["verdict"] for c in checks if c["check"] == "download"}
    assert download == {"linux-x86_64": "fail", "linux-aarch64": "fail", "macos-arm64": "pass", "windows-amd64": "pass"}
    assert done.returncode == 1 and "linux-aarch64: download" in done.stderr


def test_quiet_prints_only_the_report_and_errors(tmp_path):
    write_bench_report(tmp_path)
    _pyproject(tmp_path, "max-latency-ms = 5000\n")
    summary = tmp_path / "summary.md"
    loud = _gate([], tmp_path, {"GITHUB_STEP_SUMMARY": str(summary)})
    quiet = _gate(["--quiet"], tmp_path, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert "summary appended" in loud.stderr and "summary appended" not in quiet.stderr
    assert "budget exceeded" in quiet.stderr  # the reason for exit 1 is an error: always shown
    assert quiet.stdout == loud.stdout and quiet.returncode == loud.returncode == 1
    verbose = _gate(["--verbose"], tmp_path)
    assert "max-latency-ms = 5000 from" in verbose.stderr


def test_bad_pyproject_value_exits_3_without_traceback(tmp_path):
    _pyproject(tmp_path, 'max-latency-ms = "fast"\n')
    done = _gate([], tmp_path)
    assert done.returncode == 3
    assert "pyproject.toml:6: [tool.depaudit] max-latency-ms" in done.stderr and "Traceback" not in done.stderr


def test_usage_errors_exit_2(tmp_path):
    assert _gate([], tmp_path).returncode == 2  # nothing to check
    assert _gate(["--max-download", "linux-x86_64=lots", "--lock", str(TORCH_DEFAULT)], tmp_path).returncode == 2
    assert _gate(["--format", "xml", "--max-latency-ms", "5"], tmp_path).returncode == 2
    help_text = _gate(["--help"], tmp_path).stdout
    assert "Exit codes: 0 every check passed" in help_text


def test_a_select_that_leaves_no_budget_check_is_not_a_pass(tmp_path):
    # `select = ["DA3"]` in [tool.depaudit] is meant for lint; it must not turn the gate into a pass
    # that checked nothing.
    write_bench_report(tmp_path)
    _pyproject(tmp_path, 'select = ["DA3"]\nmax-latency-ms = 1500\n')
    done = _gate([], tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "leave out every budget check" in done.stderr and "passed" not in done.stdout
    assert "Traceback" not in done.stderr


def test_lock_budget_sarif_validates_whatever_package_is_biggest(tmp_path):
    # On linux-aarch64 the biggest package of this lock is its first [[package]]: its findings must still
    # be valid SARIF (no region with line 0) and gnu lines must not claim line 0.
    lock = LOCKS / "torch-2.8" / "uv.lock"
    args = ["--lock", str(lock), "--offline", "--max-download", "1GB", "-t", "linux-aarch64"]
    empty = {"DEPAUDIT_CACHE_DIR": str(tmp_path / "empty-cache")}  # sizes the lock lacks stay unknown: exit 1
    sarif = _gate([*args, "-f", "sarif"], tmp_path, empty)
    assert sarif.returncode == 1, sarif.stderr
    results = validate_sarif(sarif.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["DA501"]
    gnu = _gate([*args, "-f", "gnu"], tmp_path, empty)
    assert gnu.returncode == 1 and gnu.stdout.startswith(str(lock)) and ":0: " not in gnu.stdout
