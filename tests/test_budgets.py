"""depaudit.budgets: the one budget checker behind `scan` and `gate`. Verdicts over hand-made reports
(each case states its data), and the budgets' resolution across layers."""

from __future__ import annotations

import re

import pytest

from depaudit.budgets import ALL_BUILDS, LockLimits, allowed_builds, check_report, show
from depaudit.errors import InputError, UsageError
from depaudit.model import InstalledPackage, Package, SizeReport, Source, TargetReport, Wheel
from depaudit.scan import scan_lock
from depaudit.settings import SettingsFile, load_settings
from depaudit.targets import make_target

from fixture_paths import FIXTURES, LOCKS


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
    (breach,) = check_report(_report(_item("torch", 3_900_000_000)), LockLimits(max_download=10**9))
    assert breach.message() == ("linux-x86_64: download 3.9 GB exceeds the budget of 1.0 GB; biggest: torch (3.9 GB)")
    assert breach.rule == "DA501" and not breach.passed


def test_sizes_taken_from_the_lock_unchecked_are_said_so():
    unchecked = _report(_item("torch", 100), checked=False)
    (check,) = check_report(unchecked, LockLimits(max_download=10**9))
    assert check.verdict == "pass" and "taken from the lock, not checked against the index" in check.message()
    (check,) = check_report(_report(_item("torch", 100)), LockLimits(max_download=10**9))
    assert "not checked" not in check.message()


def test_lock_limits_across_layers(tmp_path):
    """Every layer applies (the smallest limit per target wins); per-target tables belong to the file."""
    table = {"max-download": "1GB", "per-target": {"linux-aarch64": {"max-download": "4GB", "no-accelerator": True}}}
    file = SettingsFile(tmp_path / "pyproject.toml", table)
    limits = load_settings("gate", [file], {}).limits
    assert (limits.limit("max-download", "linux-x86_64"), limits.limit("max-download", "linux-aarch64")) == (
        10**9,
        4 * 10**9,
    )
    assert limits.no_accelerator_targets == ("linux-aarch64",)
    cli = load_settings("gate", [file], {}, {"max-download": ["2GB"], "max-accelerator": ["0"]}).limits
    assert cli.limit("max-download", "linux-aarch64") == 2 * 10**9  # the command line's is smaller there
    assert cli.limit("max-download", "linux-x86_64") == 10**9  # the file's is smaller here
    assert cli.limit("max-accelerator", "macos-arm64") == 0
    with pytest.raises(InputError, match=r"per-target\.beos\] table: unknown target 'beos'"):
        load_settings(
            "gate", [SettingsFile(tmp_path / "p.toml", {"per-target": {"beos": {"max-download": "1GB"}}})], {}
        )
    with pytest.raises(UsageError, match="DEPAUDIT_MAX_ACCELERATOR"):
        load_settings("gate", [], {"DEPAUDIT_MAX_ACCELERATOR": "some"})


# --- verdicts on real locks, and messages that agree with their numbers -------------------------------

JAX = LOCKS / "jax-cuda-plugin" / "uv.lock"  # jax[cuda12]: its CUDA plugins have no macOS/Windows wheel


def test_a_target_that_cannot_install_is_never_a_pass():
    report = scan_lock(JAX, offline=True, cache_dir=None)
    checks = {
        (c.target, c.check): c for c in check_report(report, LockLimits(max_download=10**12, max_accelerator=10**6))
    }
    for target in ("macos-arm64", "windows-amd64"):
        for kind in ("download", "accelerator"):
            check = checks[(target, kind)]
            assert check.verdict == "unknown", check.message()
            assert set(check.not_installable) == {"jax-cuda12-pjrt", "jax-cuda12-plugin"}
            assert "cannot install: " in check.note and "within" not in check.message()
    zero = check_report(report, LockLimits(max_accelerator=0, no_accelerator_targets=("macos-arm64",)))
    mac = [c for c in zero if c.target == "macos-arm64"]
    assert [c.verdict for c in mac] == ["unknown", "unknown"]  # nothing installs there: not a fail, not a pass
    assert all("exceeds" not in c.message() for c in mac)
    linux = next(c for c in zero if c.target == "linux-x86_64")
    assert linux.verdict == "fail" and "exceeds the budget of 0 B" in linux.message()


def test_builds_block_a_pass_unless_accepted():
    package = Package("whisper", "1.0", Source("registry", "https://pypi.org/simple"), sdist_url="https://x/w.tar.gz")
    built = InstalledPackage(package, None, ("root", "whisper"), reason="built", install_kind="build")
    report = _report(_item("numpy", 10), built)
    (check,) = check_report(report, LockLimits(max_download=100))
    assert check.verdict == "unknown" and check.builds == ("whisper",)
    assert "--allow-build whisper" in check.message()
    for accepted in (allowed_builds(["Whisper"]), allowed_builds([ALL_BUILDS])):
        assert [c.verdict for c in check_report(report, LockLimits(max_download=100), allow_builds=accepted)] == [
            "pass"
        ]
    local = InstalledPackage(package, None, ("root", "lib"), install_kind="local")
    assert [c.verdict for c in check_report(_report(_item("numpy", 10), local), LockLimits(max_download=100))] == [
        "pass"
    ]  # the project's own tree is not a build that hides a size


def _reports():
    yield scan_lock(JAX, offline=True, cache_dir=None)
    yield scan_lock(LOCKS / "torch-2.8" / "uv.lock", offline=True, cache_dir=None)  # sizes missing: lower bounds
    yield scan_lock(LOCKS / "torch-2.8-sizes" / "uv.lock", offline=True, cache_dir=None)
    yield scan_lock(FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock", offline=True, cache_dir=None)
    yield scan_lock(LOCKS / "extras-dev" / "uv.lock", offline=True, cache_dir=None)
    yield scan_lock(LOCKS / "environments" / "uv.lock", offline=True, cache_dir=None)  # windows unsupported


_SIZE = re.compile(r"(\d[\d,.]*\s(?:B|kB|MB|GB|TB)|unknown)")


def test_every_budget_message_agrees_with_its_header_numbers():
    """For every check over real locks and a range of budgets: the message's first figure is the measured
    figure every output shows (the gate table's `measured` column), its limit is the limit shown, and
    the wording follows the verdict and the numbers — "within" only for PASS, "exceeds" only when the
    known part is over, "cannot verify" exactly for UNKNOWN. ("0 B exceeds the budget of 0 B" cannot
    be written.)"""
    seen = set()
    for report in _reports():
        for limit in (0, 1, 10**6, 10**8, 10**9, 10**12):
            limits = LockLimits(
                max_download=limit,
                max_accelerator=limit,
                no_accelerator_targets=tuple(t.target.name for t in report.targets),
            )
            for allow in ((), (ALL_BUILDS,)):
                for check in check_report(report, limits, allow_builds=allow):
                    text = check.message()
                    seen.add((check.check, check.verdict))
                    assert ("within" in text) == (check.verdict == "pass" and check.check != "no-accelerator"), text
                    assert ("cannot verify" in text) == (check.verdict == "unknown"), text
                    if "exceeds" in text:
                        assert check.verdict == "fail" and check.measured > check.limit, text
                    if check.check != "no-accelerator" and check.note.startswith("target not supported") is False:
                        assert check.measured_text() in text and show(check.limit, "bytes") in text, text
                        assert _SIZE.search(text).group(1) == show(check.measured, "bytes"), text
                    if check.verdict == "fail" and not check.exceeded:
                        assert check.count, text  # a zero budget failed by packages of unknown size says so
    assert {v for _, v in seen} == {"pass", "fail", "unknown"}  # the matrix reaches every verdict
