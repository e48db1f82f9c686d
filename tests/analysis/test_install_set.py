"""Which packages a target installs: extras, groups, conflicts, environments, forks, wheel choice."""

from __future__ import annotations

import pytest

from fixture_paths import LOCKS
from depaudit.analysis.install_set import choose_wheel, installed_packages, plan_install, tag_ranks
from depaudit.errors import UsageError
from depaudit.model import Selection, Wheel
from depaudit.sources.uvlock import load_lock
from depaudit.targets import make_target

LINUX = make_target("linux-x86_64")


def names(lock_dir: str, selection: Selection = Selection(), target=LINUX, python=None) -> dict[str, str]:
    lock = load_lock(LOCKS / lock_dir / "uv.lock")
    target = make_target(target.name, python) if python else target
    plan = plan_install(lock, target, selection)
    return {p.name: p.package.version for p in installed_packages(lock, plan)}


def test_production_install_excludes_extras_and_dev_groups():
    installed = names("extras-dev")
    assert "onnxruntime" not in installed and "onnxruntime-gpu" not in installed
    assert "torch" not in installed and "pytest" not in installed
    assert {"numpy", "pillow"} <= set(installed)


def test_extra_group_dev_and_all_extras():
    assert "onnxruntime" in names("extras-dev", Selection(extras=("onnx",)))
    dev = names("extras-dev", Selection(groups=("dev",)))
    assert "torch" in dev and "pytest" in dev and "ruff" not in dev
    everything = names("extras-dev", Selection(all_extras=True))
    assert {"onnxruntime", "onnxruntime-gpu"} <= set(everything) and "torch" not in everything


def test_unknown_extra_or_group_is_a_usage_error():
    with pytest.raises(UsageError, match="no extra named nope"):
        names("extras-dev", Selection(extras=("nope",)))
    with pytest.raises(UsageError, match="no dependency group named nope"):
        names("extras-dev", Selection(groups=("nope",)))


def test_conflicting_extras_follow_uv_encoded_markers():
    assert names("conflicts")["pillow"] == "13.0.0"
    assert names("conflicts", Selection(groups=("img-old",)))["pillow"] == "10.4.0"
    assert names("conflicts", Selection(groups=("img-new",)))["pillow"] == "13.0.0"
    assert names("conflicts", Selection(extras=("np1",)))["numpy"] == "1.26.4"
    assert names("conflicts", Selection(extras=("np2",)))["numpy"].startswith("2.")
    torch28 = names("conflicts", Selection(extras=("torch28",)))
    assert torch28["torch"] == "2.8.0" and "nvidia-cudnn-cu12" in torch28


def test_selecting_both_sides_of_a_conflict_is_refused():
    with pytest.raises(UsageError, match="conflict"):
        names("conflicts", Selection(extras=("np1", "np2")))


def test_forked_versions_follow_python_version():
    assert names("torch-2.8", python="3.11")["networkx"] == "3.6.1"
    assert names("torch-2.8", python="3.12")["networkx"] == "3.7"


def test_environments_make_windows_unsupported_not_zero():
    lock = load_lock(LOCKS / "environments" / "uv.lock")
    plan = plan_install(lock, make_target("windows-amd64"))
    assert not plan.supported and "supported-markers" in plan.reason
    assert plan_install(lock, make_target("macos-arm64")).supported


def test_python_outside_requires_python_is_unsupported():
    lock = load_lock(LOCKS / "torch-2.8" / "uv.lock")
    plan = plan_install(lock, make_target("linux-x86_64", "3.10"))
    assert not plan.supported and "requires-python" in plan.reason


def test_every_source_kind_and_workspace():
    lock = load_lock(LOCKS / "sources" / "uv.lock")
    assert {p.source.kind for p in lock.packages} == {
        "registry", "git", "url", "path", "directory", "editable", "virtual"}
    assert len(lock.roots) >= 2
    plan = plan_install(lock, LINUX)
    items = {p.name: p for p in installed_packages(lock, plan)}
    built = {name for name, p in items.items() if p.wheel is None}
    assert {"gitlib", "dirlib", "editlib"} <= built
    assert items["gitlib"].reason == "built from git source"
    assert items["wheellib"].wheel.filename == "wheellib-0.1.0-py3-none-any.whl"
    assert items["six"].package.source.kind == "url"


@pytest.mark.parametrize("lock_file", sorted((LOCKS / "revisions").glob("uv-*.lock")), ids=lambda p: p.name)
def test_every_revision_uv_ever_wrote_loads_and_scans(lock_file):
    lock = load_lock(lock_file)
    plan = plan_install(lock, LINUX)
    installed = {p.name for p in installed_packages(lock, plan)}
    assert {"numpy", "pillow"} <= installed


def test_revision_numbers_are_read():
    seen = {load_lock(f).revision for f in (LOCKS / "revisions").glob("uv-*.lock")}
    assert seen == {0, 1, 2, 3, 5}  # no uv release writes revision 4 (see revisions/HOW.md)


def wheel(filename: str) -> Wheel:
    return Wheel(filename, None, None)


def test_wheel_choice_prefers_specific_abi_then_newer_manylinux_then_build_tag():
    ranks = tag_ranks(LINUX)
    pure = wheel("x-1.0-py3-none-any.whl")
    abi3 = wheel("x-1.0-cp38-abi3-manylinux_2_17_x86_64.whl")
    cp311 = wheel("x-1.0-cp311-cp311-manylinux2014_x86_64.whl")
    newer = wheel("x-1.0-cp311-cp311-manylinux_2_28_x86_64.whl")
    too_new = wheel("x-1.0-cp311-cp311-manylinux_2_34_x86_64.whl")
    mac = wheel("x-1.0-cp311-cp311-macosx_11_0_arm64.whl")
    assert choose_wheel([pure, abi3], ranks) is abi3
    assert choose_wheel([pure, abi3, cp311], ranks) is cp311
    assert choose_wheel([cp311, newer, too_new], ranks) is newer
    assert choose_wheel([mac, too_new], ranks) is None
    built1 = wheel("x-1.0-1-py3-none-any.whl")
    built2 = wheel("x-1.0-2-py3-none-any.whl")
    assert choose_wheel([built1, built2, pure], ranks) is built2
