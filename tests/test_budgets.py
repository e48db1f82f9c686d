"""depaudit.budgets: the one budget checker behind `scan` and `gate`. Verdicts over hand-made reports
(each case states its data), and the budgets' resolution across layers."""

from __future__ import annotations

import pytest

from depaudit.budgets import LockLimits, check_budgets, check_report, load_lock_limits
from depaudit.errors import InputError, UsageError
from depaudit.model import InstalledPackage, Package, SizeReport, Source, TargetReport, Wheel
from depaudit.settings import SettingSources
from depaudit.targets import make_target


def _item(name: str, size: int | None, accelerator: str | None = None, line: int = 1) -> InstalledPackage:
    package = Package(name, "1.0", Source("registry", "https://pypi.org/simple"), line=line)
    wheel = Wheel(f"{name}-1.0-py3-none-any.whl", f"https://files.example/{name}.whl", size)
    return InstalledPackage(package, wheel, ("root", name), accelerator, size)


def _report(*items: InstalledPackage, target: str = "linux-x86_64", checked: bool = True) -> SizeReport:
    """A report whose sizes were checked against the index (as gate makes online), unless `checked` is False."""
    return SizeReport("uv.lock", (TargetReport(make_target(target), True, tuple(items)),), sizes_checked=checked)


def _verdicts(report: SizeReport, limits: LockLimits) -> list[tuple[str, str]]:
    return [(c.check, c.verdict) for c in check_report(report, limits)]


def test_download_pass_fail_unknown():
    known = _report(_item("a", 100), _item("b", 200))
    assert _verdicts(known, LockLimits(max_download=300)) == [("download", "pass")]
    assert _verdicts(known, LockLimits(max_download=299)) == [("download", "fail")]
    partly = _report(_item("a", 100), _item("b", None))
    assert _verdicts(partly, LockLimits(max_download=10**9)) == [
        ("download", "unknown")
    ]  # a lower bound proves nothing
    assert _verdicts(partly, LockLimits(max_download=50)) == [("download", "fail")]  # already over


def test_zero_accelerator_budget_fails_on_any_accelerator_wheel_even_of_unknown_size():
    report = _report(_item("numpy", 10), _item("nvidia-cublas", None, "nvidia", line=7))
    (check,) = check_report(report, LockLimits(max_accelerator=0))
    assert check.verdict == "fail" and check.line == 7 and check.offenders == (("nvidia-cublas", None),)
    assert _verdicts(report, LockLimits(max_accelerator=10**9)) == [("accelerator", "unknown")]
    assert _verdicts(_report(_item("numpy", 10)), LockLimits(max_accelerator=0)) == [("accelerator", "pass")]


def test_no_accelerator_target_and_unsupported_targets():
    report = SizeReport(
        "uv.lock",
        (
            TargetReport(make_target("linux-x86_64"), True, (_item("triton", 5, "triton"),)),
            TargetReport(make_target("windows-amd64"), False, unsupported_reason="excluded by supported-markers"),
        ),
    )
    limits = LockLimits(no_accelerator_targets=("linux-x86_64", "windows-amd64"), max_download=1)
    checks = {(c.target, c.check): c for c in check_report(report, limits)}
    assert checks[("linux-x86_64", "no-accelerator")].verdict == "fail"
    assert checks[("windows-amd64", "no-accelerator")].verdict == "pass"
    assert "nothing installs" in checks[("windows-amd64", "download")].note


def test_per_target_limits_override_the_every_target_budget():
    limits = LockLimits(max_download=100, per_target=(("macos-arm64", "max-download", 10),))
    assert limits.limit("max-download", "linux-x86_64") == 100
    assert limits.limit("max-download", "macos-arm64") == 10
    assert limits.limit("max-accelerator", "macos-arm64") is None
    assert limits.named_targets == ("macos-arm64",) and limits.any


def test_messages_keep_the_scan_wording():
    (breach,) = check_budgets(_report(_item("torch", 3_900_000_000)), max_download=10**9)
    assert breach.message() == ("linux-x86_64: download 3.9 GB exceeds the budget of 1.0 GB; biggest: torch (3.9 GB)")
    assert breach.rule == "DA501" and not breach.passed


def test_sizes_taken_from_the_lock_unchecked_are_said_so():
    unchecked = _report(_item("torch", 100), checked=False)
    (check,) = check_report(unchecked, LockLimits(max_download=10**9))
    assert check.verdict == "pass" and "taken from the lock, not checked against the index" in check.message()
    (check,) = check_report(_report(_item("torch", 100)), LockLimits(max_download=10**9))
    assert "not checked" not in check.message()


def test_load_lock_limits_across_layers(tmp_path):
    table = {"max-download": "1GB", "per-target": {"linux-aarch64": {"max-download": "4GB", "no-accelerator": True}}}
    limits = load_lock_limits({}, SettingSources(table, {}, tmp_path / "pyproject.toml"))
    assert (limits.max_download, limits.limit("max-download", "linux-aarch64")) == (10**9, 4 * 10**9)
    assert limits.no_accelerator_targets == ("linux-aarch64",)
    cli = load_lock_limits({"max-download": ["2GB"], "max-accelerator": ["0"]}, SettingSources(table, {}))
    assert cli.limit("max-download", "linux-aarch64") == 2 * 10**9 and cli.max_accelerator == 0
    with pytest.raises(InputError, match=r"per-target\] table: unknown target 'beos'"):
        load_lock_limits({}, SettingSources({"per-target": {"beos": {"max-download": "1GB"}}}, {}))
    with pytest.raises(UsageError, match="DEPAUDIT_MAX_ACCELERATOR"):
        load_lock_limits({}, SettingSources({}, {"DEPAUDIT_MAX_ACCELERATOR": "some"}))
