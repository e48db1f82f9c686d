"""depaudit.gate: budgets resolved from pyproject < env < command line, every lock budget applied to
every selected target unless it names targets, per-target budgets, latency budgets, and the gate report
with its DA5xx findings. (Image-size budgets need an engine: tests/docker/test_service_image.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.budgets import LockLimits
from depaudit.errors import InputError, UsageError
from depaudit.gate import GateRequest, check_latency, check_lock, lock_targets, run_checks, run_gate
from depaudit.project import open_project
from depaudit.rules.config import RuleConfig
from depaudit.settings import Settings, load_settings

from bench_reports import write_bench_report
from fixture_paths import LOCKS

TORCH_DEFAULT = LOCKS / "torch-default" / "uv.lock"


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\nversion = "0"\n\n[tool.depaudit]\n' + body)
    return path


def load_budgets(cli: dict, pyproject: Path | None, environ: dict) -> Settings:
    """gate's settings from a pyproject (None: none), the environment and the command line."""
    files = [open_project(pyproject.parent).root_file.settings] if pyproject is not None else []
    return load_settings("gate", files, environ, cli)


@pytest.fixture
def cached(size_cache):
    """Offline look-ups answered from the committed size cache (every fixture wheel has a size)."""
    return size_cache


def _settings(cache: Path, **values) -> Settings:
    return Settings(cache / "state", offline=True, cache_dir=cache, **values)


def test_precedence_pyproject_then_env_then_command_line(tmp_path):
    project = _pyproject(
        tmp_path, 'max-image-size = "1GB"\nmax-latency-ms = 900\nno-accelerator-targets = ["linux-x86_64"]\n'
    )
    only_file = load_budgets({}, project, environ={})
    assert only_file.max_image_size == 10**9 and only_file.max_latency_ms == 900.0
    assert only_file.limits.no_accelerator_targets == ("linux-x86_64",)
    env = {"DEPAUDIT_MAX_IMAGE_SIZE": "500MB", "DEPAUDIT_NO_ACCELERATOR_TARGETS": "linux-x86_64,linux-aarch64"}
    with_env = load_budgets({}, project, environ=env)
    assert with_env.max_image_size == 500 * 10**6
    assert with_env.limits.no_accelerator_targets == ("linux-x86_64", "linux-aarch64")
    assert with_env.max_latency_ms == 900.0  # untouched keys keep the file's value
    with_cli = load_budgets({"max-image-size": "250MB", "max-latency-ms": None}, project, environ=env)
    assert with_cli.max_image_size == 250 * 10**6
    sources = dict(with_cli.origins)
    assert sources["max-image-size"] == "--max-image-size"
    assert sources["no-accelerator-targets"] == "DEPAUDIT_NO_ACCELERATOR_TARGETS"
    assert sources["max-latency-ms"].endswith("[tool.depaudit]")


def test_bad_values_name_where_they_came_from(tmp_path):
    project = _pyproject(tmp_path, 'max-image-size = "huge"\n')
    with pytest.raises(InputError, match=r"pyproject.toml:6: \[tool.depaudit\] max-image-size") as info:
        load_budgets({}, project, environ={})
    assert info.value.exit_code == 3
    with pytest.raises(UsageError, match="DEPAUDIT_MAX_LATENCY_MS"):
        load_budgets({}, None, environ={"DEPAUDIT_MAX_LATENCY_MS": "-5"})
    with pytest.raises(UsageError, match="--max-download"):
        load_budgets({"max-download": ["12 parsecs"]}, None, environ={})
    with pytest.raises(UsageError, match="unknown target 'plan9-mips'"):
        load_budgets({"max-download": ["plan9-mips=1GB"]}, None, environ={})
    bad_table = _pyproject(tmp_path, '\n[tool.depaudit.per-target.linux-x86_64]\nmax-download = "lots"\n')
    with pytest.raises(InputError, match=r"per-target.linux-x86_64\] max-download"):
        load_budgets({}, bad_table, environ={})


def test_a_lock_path_in_pyproject_is_set_aside(tmp_path):
    """The lock a gate measures is the command line's (or the environment's): a checkout could name a decoy."""
    project = _pyproject(tmp_path, 'lock = "locks/uv.lock"\n')
    settings = load_budgets({}, project, environ={})
    assert settings.lock is None and any("lock: ignored" in note for note in settings.notes)
    assert load_budgets({"lock": "mine.lock"}, project, environ={}).lock == Path("mine.lock")


def test_per_target_budgets_from_tables_inline_and_env(tmp_path):
    project = _pyproject(
        tmp_path,
        'max-download = "1GB"\n\n[tool.depaudit.per-target.linux-aarch64]\n'
        'max-download = "4GB"\nno-accelerator = true\n',
    )
    limits = load_budgets({}, project, environ={}).limits
    assert limits.limit("max-download", "linux-x86_64") == 10**9
    assert limits.limit("max-download", "linux-aarch64") == 4 * 10**9
    assert limits.no_accelerator_targets == ("linux-aarch64",)
    # an inline TARGET=SIZE on the command line tightens the table for that target only
    inline = load_budgets({"max-download": ["linux-aarch64=2GB"]}, project, environ={}).limits
    assert inline.limit("max-download", "linux-aarch64") == 2 * 10**9
    assert inline.limit("max-download", "linux-x86_64") == 10**9
    # a smaller budget for every target from the environment applies where it is smaller
    env = load_budgets({}, project, environ={"DEPAUDIT_MAX_DOWNLOAD": "500MB,macos-arm64=50MB"}).limits
    assert env.limit("max-download", "linux-aarch64") == 500 * 10**6
    assert env.limit("max-download", "macos-arm64") == 50 * 10**6


def test_every_budget_applies_to_every_selected_target(cached):
    # the issue-10 case: --no-accelerator-target linux-x86_64 --max-download 500MB must check aarch64 too
    settings = _settings(cached, limits=LockLimits(max_download=500 * 10**6, no_accelerator_targets=("linux-x86_64",)))
    assert lock_targets(settings) is None  # all presets
    checks = check_lock(settings, TORCH_DEFAULT)
    download = {c.target: c for c in checks if c.check == "download"}
    assert set(download) == {"linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"}
    assert download["linux-aarch64"].verdict == "fail" and download["linux-aarch64"].measured > 500 * 10**6
    assert download["macos-arm64"].verdict == "pass"
    assert [c.target for c in checks if c.check == "no-accelerator"] == ["linux-x86_64"]


def test_selected_targets_plus_the_targets_a_budget_names(cached):
    limits = LockLimits(max_download=10**12, per_target=(("macos-arm64", "max-download", 10**6),))
    settings = _settings(cached, limits=limits, targets=("linux-x86_64",))
    assert lock_targets(settings) == ["linux-x86_64", "macos-arm64"]
    verdicts = {c.target: (c.verdict, c.limit) for c in check_lock(settings, TORCH_DEFAULT)}
    assert verdicts == {"linux-x86_64": ("pass", 10**12), "macos-arm64": ("fail", 10**6)}


def test_no_accelerator_target_fails_on_the_cuda_lock_and_names_the_wheels(cached):
    settings = _settings(cached, limits=LockLimits(no_accelerator_targets=("linux-x86_64", "macos-arm64")))
    checks = {c.target: c for c in check_lock(settings, TORCH_DEFAULT)}
    linux, mac = checks["linux-x86_64"], checks["macos-arm64"]
    assert linux.verdict == "fail" and linux.measured > 10**9
    assert any(name.startswith("nvidia-") for name, _ in linux.offenders)
    assert linux.path == str(TORCH_DEFAULT) and linux.line is not None  # the biggest offender's package
    assert mac.passed and not mac.offenders


def test_unknown_size_is_never_a_pass(tmp_path):
    # no cache, offline: sizes the lock lacks stay unknown, so a lax budget cannot be shown to hold
    settings = _settings(tmp_path / "empty", limits=LockLimits(max_download=10**12), targets=("macos-arm64",))
    (check,) = check_lock(settings, TORCH_DEFAULT)
    assert check.verdict == "unknown" and not check.passed and "unknown" in check.note
    assert "cannot verify" in check.message()


def test_latency_budget_uses_the_chosen_percentile(tmp_path):
    path = write_bench_report(tmp_path)
    p95 = {c.subject: c.passed for c in check_latency(path, 1500.0, "p95")}
    assert p95 == {"onnxruntime 256x256 p95": True, "onnxruntime 512x512 p95": False, "tinygrad 256x256 p95": False}
    p50 = {c.subject: c.passed for c in check_latency(path, 1500.0, "p50")}
    assert p50["onnxruntime 512x512 p50"] is True


def test_latency_report_that_is_not_awrite_bench_report(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"schema": 2}')
    with pytest.raises(InputError, match=r"other\.json: not a depaudit bench report"):
        check_latency(path, 100.0)


def test_nothing_to_check_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no budget"):
        run_checks(GateRequest(Settings(tmp_path / "state")))


def test_report_findings_are_the_checks_that_did_not_pass(tmp_path):
    settings = Settings(tmp_path / "state", max_latency_ms=1500.0, bench_report=write_bench_report(tmp_path))
    report = run_gate(GateRequest(settings))
    assert not report.passed and [d.id for d in report.rules] == [f"DA50{i}" for i in range(1, 6)]
    assert [(f.rule, f.path) for f in report.findings] == [("DA505", str(settings.bench_report))] * 2
    with pytest.raises(UsageError, match="leave out every budget check"):
        run_gate(GateRequest(settings._replace(rules=RuleConfig(ignore=("DA505",)))))  # nothing checked never passes
    with pytest.raises(UsageError, match="leave out every budget check"):
        run_gate(GateRequest(settings._replace(rules=RuleConfig(select=("DA3",)))))  # a lint select must not silence it
