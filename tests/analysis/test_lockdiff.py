"""The pure diff of two scans (depaudit/analysis/lockdiff.py): totals, changes by impact, unknown
sizes, unsupported sides, and the budgets. Reports are built from model objects so each case is exact."""

from __future__ import annotations

import pytest

from depaudit.analysis.lockdiff import diff_reports, diff_target
from depaudit.budgets import check_diff
from depaudit.model import InstalledPackage, Package, SizeReport, Source, TargetReport, Wheel
from depaudit.targets import make_target

LINUX = make_target("linux-x86_64", "3.11")


def pkg(
    name: str, version: str, size: int | None, accelerator: str | None = None, wheel: bool = True
) -> InstalledPackage:
    package = Package(name, version, Source("registry", "https://pypi.org/simple"))
    whl = Wheel(f"{name}-{version}-py3-none-any.whl", None, size) if wheel else None
    return InstalledPackage(package, whl, (name,), accelerator=accelerator, size=size if wheel else None)


def report(*packages: InstalledPackage, supported: bool = True, target=LINUX) -> TargetReport:
    if not supported:
        return TargetReport(target, False, unsupported_reason="excluded by tool.uv.environments")
    return TargetReport(target, True, tuple(packages))


def test_added_removed_changed_and_totals() -> None:
    before = report(
        pkg("torch", "2.8.0", 900, "torch-cuda"), pkg("nvidia-cudnn", "9", 700, "nvidia"), pkg("numpy", "2.0", 20)
    )
    after = report(pkg("torch", "2.8.0+cpu", 190), pkg("numpy", "2.0", 20), pkg("pillow", "11", 5))
    t = diff_target(before, after)
    assert (t.before_bytes, t.after_bytes, t.delta_bytes) == (1620, 215, -1405)
    assert (t.before_accelerator_bytes, t.after_accelerator_bytes) == (1600, 0)
    assert [c.name for c in t.added] == ["pillow"] and [c.name for c in t.removed] == ["nvidia-cudnn"]
    assert [(c.name, c.before_version, c.after_version, c.delta) for c in t.changed] == [
        ("torch", "2.8.0", "2.8.0+cpu", -710)
    ]
    assert [c.name for c in t.changes] == ["torch", "nvidia-cudnn", "pillow"]  # by absolute impact
    assert t.exact and sum(c.delta for c in t.changes) == t.delta_bytes


def test_same_version_from_another_wheel_is_a_change() -> None:
    old = pkg("torch", "2.8.0", 900)
    new = InstalledPackage(old.package, Wheel("torch-2.8.0-cp311-cp311-other.whl", None, 800), ("torch",), size=800)
    assert [c.delta for c in diff_target(report(old), report(new)).changed] == [-100]
    assert diff_target(report(old), report(old)).changes == ()


def test_unknown_sizes_are_none_listed_per_side_and_sort_last() -> None:
    before = report(pkg("torch", "2.8.0", 900), pkg("a", "1", None))
    after = report(pkg("torch", "2.8.0+cpu", None, wheel=False), pkg("a", "1", None), pkg("b", "1", 3))
    t = diff_target(before, after)
    assert t.before_unknown == ("a",) and t.after_unknown == ("a",) and not t.exact
    (torch,) = t.changed
    assert torch.after_size is None and torch.delta is None
    assert [c.name for c in t.changes] == ["b", "torch"]
    assert t.delta_bytes == 3 - 900  # known sizes only, as `depaudit scan` totals them


def test_a_side_that_does_not_support_the_target_has_no_totals() -> None:
    t = diff_target(report(supported=False), report(pkg("numpy", "2.0", 20)))
    assert t.before_bytes is None and t.delta_bytes is None and t.before_reason == "excluded by tool.uv.environments"
    assert [c.name for c in t.added] == ["numpy"]
    (check,) = check_diff(_diff(report(supported=False), report(pkg("numpy", "2.0", 20))), max_increase=10)
    assert check.verdict == "fail" and check.measured == 20  # everything the head installs there is growth


def _diff(before: TargetReport, after: TargetReport):
    return diff_reports(SizeReport("base", (before,)), SizeReport("head", (after,)))


def _failing(checks):
    return [c for c in checks if not c.passed]


def test_diff_budgets_are_budget_checks() -> None:
    """DA506 (growth against max-increase) and DA507 (new accelerator), one check per target, with the
    verdict and a message that agree with the numbers."""
    before = report(pkg("numpy", "2.0", 20))
    grow = report(pkg("numpy", "2.0", 20), pkg("torch", "2.8.0", 900, "torch-cuda"))
    (within,) = check_diff(_diff(before, grow), max_increase=900)
    assert within.verdict == "pass" and within.rule == "DA506" and within.measured == 900
    (over,) = check_diff(_diff(before, grow), max_increase=899)
    message = over.message()
    assert over.verdict == "fail" and "linux-x86_64: download-increase +900 B exceeds the budget of 899 B" in message
    assert "torch (+900 B)" in message or "torch (900 B)" in message
    (accel,) = check_diff(_diff(before, grow), fail_on_new_accelerator=True)
    assert accel.verdict == "fail" and accel.rule == "DA507" and "torch (torch-cuda)" in accel.message()
    (none,) = check_diff(_diff(before, before), fail_on_new_accelerator=True)
    assert none.passed
    unknown = report(pkg("numpy", "2.0", 20), pkg("torch", "2.8.0", None))
    (unverified,) = check_diff(_diff(before, unknown), max_increase=10**12)
    assert unverified.verdict == "unknown" and "size unknown for torch" in unverified.message()
    # an unknown size on the base side can only overstate the growth: checked over known sizes
    base_unknown = _diff(report(pkg("numpy", "2.0", None)), before)
    assert _failing(check_diff(base_unknown, max_increase=20)) == []
    assert [c.verdict for c in check_diff(base_unknown, max_increase=19)] == ["fail"]


def test_scans_for_different_pythons_or_targets_are_refused() -> None:
    other = make_target("linux-x86_64", "3.12")
    with pytest.raises(ValueError, match="one Python"):
        diff_reports(SizeReport("a", (report(),)), SizeReport("b", (report(target=other),)))
    with pytest.raises(ValueError, match="same targets"):
        diff_reports(SizeReport("a", (report(),)), SizeReport("b", ()))
