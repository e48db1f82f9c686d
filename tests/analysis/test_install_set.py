"""Which packages a target installs: extras, groups, conflicts, environments, forks, wheel choice."""

from __future__ import annotations

import pytest

from depaudit.analysis.install_set import choose_wheel, installed_packages, plan_install, tag_ranks
from depaudit.errors import UsageError
from depaudit.model import Dependency, Lock, Package, Selection, Source, Wheel
from depaudit.sources.uvlock import load_lock
from depaudit.targets import make_target

from fixture_paths import LOCKS

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
        "registry",
        "git",
        "url",
        "path",
        "directory",
        "editable",
        "virtual",
    }
    assert len(lock.roots) >= 2
    plan = plan_install(lock, LINUX)
    items = {p.name: p for p in installed_packages(lock, plan)}
    built = {name for name, p in items.items() if p.wheel is None}
    assert {"gitlib", "dirlib", "editlib"} <= built
    assert items["gitlib"].reason == "built from git source"
    kinds = {name: p.install_kind for name, p in items.items()}
    assert (kinds["gitlib"], kinds["dirlib"], kinds["editlib"], kinds["hdr-core"]) == (
        "build",
        "local",
        "local",
        "workspace",
    )
    assert items["dirlib"].reason == "local path vendor/dirlib" and items["hdr-core"].reason == "workspace member"
    assert (kinds["wheellib"], kinds["six"], kinds["pillow"]) == ("wheel", "wheel", "wheel")
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


# --- workspaces: which members install (uv's rule; tests/analysis/test_uv_reference.py checks it against uv) ---


def test_workspace_root_package_installs_only_the_root_by_default():
    lock = load_lock(LOCKS / "workspace-root-package" / "uv.lock")
    assert lock.project == "hdr-core" and set(lock.roots) == {"hdr-core", "hdr-full", "hdr-cli"}
    assert set(names("workspace-root-package")) == {"numpy", "pillow"}
    full = names("workspace-root-package", Selection(packages=("hdr-full",)))
    assert "torch" in full and "nvidia-cudnn-cu12" in full and "hdr-core" in full  # the member's own dependency


def test_virtual_workspace_root_installs_every_member():
    lock = load_lock(LOCKS / "workspace-virtual-groups" / "uv.lock")
    assert lock.project is None and lock.manifest_groups[0][0] == "lint"
    assert {"httpx", "numpy"} <= set(names("workspace-virtual-groups"))
    assert "ruff" in names("workspace-virtual-groups", Selection(groups=("lint",), packages=("ingest",)))
    assert "numpy" not in names("workspace-virtual-groups", Selection(packages=("ingest",)))


def test_root_group_applies_to_a_selected_member_that_lacks_it():
    assert "pytest" in names("workspace-root-package", Selection(packages=("hdr-full",), groups=("dev",)))
    test = names("workspace-root-package", Selection(packages=("hdr-full",), groups=("test",)))
    assert "hypothesis" in test


def test_unknown_member_is_a_usage_error_naming_the_members():
    with pytest.raises(UsageError, match="no workspace member named nope") as info:
        names("workspace-root-package", Selection(packages=("nope",)))
    assert "hdr-cli, hdr-core, hdr-full" in str(info.value)


def test_extras_apply_to_the_selected_members_only():
    with pytest.raises(UsageError, match="no extra named vision"):
        names("workspace-root-package", Selection(extras=("vision",)))  # hdr-full's extra, root selected
    assert "torchvision" in names("workspace-root-package", Selection(packages=("hdr-full",), extras=("vision",)))


def test_paths_are_parent_links_from_the_selected_member():
    lock = load_lock(LOCKS / "workspace-root-package" / "uv.lock")
    plan = plan_install(lock, LINUX, Selection(packages=("hdr-full",)))
    items = {p.name: p for p in installed_packages(lock, plan)}
    cudnn = items["nvidia-cudnn-cu12"]
    assert cudnn.via == ("hdr-full", "torch", "nvidia-cudnn-cu12") and cudnn.parent == "torch"
    assert cudnn.path.depth == 3 and cudnn.path.root == "hdr-full"


# --- one labelling rule for both lock formats ---


def synthetic_lock(torch_version: str) -> Lock:
    """A hand-built lock (not a fixture: the PyTorch CUDA index, where `+cu128` builds live, cannot be
    reached from here): svc -> torchdata (py3-none-any) -> torch -> nvidia-cudnn-cu12; svc -> torchvision -> torch."""

    def pkg(name, version, wheel, deps=()):
        return Package(
            name,
            version,
            Source("registry", "https://example.invalid/simple"),
            dependencies=tuple(Dependency(d) for d in deps),
            wheels=(Wheel(wheel, None, 1000),),
        )

    packages = (
        Package(
            "svc", "1.0", Source("virtual", "."), dependencies=(Dependency("torchdata"), Dependency("torchvision"))
        ),
        pkg("torchdata", "0.11.0", "torchdata-0.11.0-py3-none-any.whl", ["torch"]),
        pkg("torchvision", "0.23.0", "torchvision-0.23.0-cp311-cp311-manylinux_2_28_x86_64.whl", ["torch"]),
        pkg(
            "torch",
            torch_version,
            f"torch-{torch_version.replace('+', '%2B')}-cp311-cp311-manylinux_2_28_x86_64.whl",
            ["nvidia-cudnn-cu12"] if "+cpu" not in torch_version else [],
        ),
        pkg("nvidia-cudnn-cu12", "9.10.2.21", "nvidia_cudnn_cu12-9.10.2.21-py3-none-manylinux_2_27_x86_64.whl"),
    )
    return Lock("synthetic/uv.lock", "uv.lock", 1, 3, ">=3.11", packages, ("svc",), project="svc")


@pytest.mark.parametrize("torch_version", ["2.8.0+cu128", "2.8.0"])
def test_torch_family_is_cuda_only_by_its_own_build(torch_version):
    lock = synthetic_lock(torch_version)
    labels = {p.name: p.accelerator for p in installed_packages(lock, plan_install(lock, LINUX))}
    assert labels["torch"] == "torch-cuda"  # by its +cu128 label, or PyPI's build pulling cuDNN
    assert labels["torchdata"] is None and labels["torchvision"] is None  # never by depending on torch
    assert labels["nvidia-cudnn-cu12"] == "nvidia"


def test_cpu_torch_and_torch_without_cuda_edges_on_the_target_are_not_cuda():
    lock = synthetic_lock("2.8.0+cpu")
    labels = {p.name: p.accelerator for p in installed_packages(lock, plan_install(lock, LINUX))}
    assert labels["torch"] is None
    lock = load_lock(LOCKS / "torch-2.8" / "uv.lock")
    for target in ("macos-arm64", "linux-aarch64", "windows-amd64"):
        items = installed_packages(lock, plan_install(lock, make_target(target)))
        assert not any(p.accelerator for p in items), target


@pytest.mark.parametrize("lock_file", ["uv.lock", "pylock.toml"])
def test_torch_family_on_macos_is_never_cuda_even_beside_a_cuda_helper(lock_file):
    """The issue's case, real: a pylock export with the pure-Python cuda-pathfinder, scanned on macOS."""
    lock = load_lock(LOCKS / "torch-family" / lock_file)
    for target in ("macos-arm64", "x86_64-apple-darwin", "windows-amd64"):
        labels = {p.name: p.accelerator for p in installed_packages(lock, plan_install(lock, make_target(target)))}
        assert labels["cuda-pathfinder"] == "cuda", target
        assert [n for n, label in labels.items() if label and n != "cuda-pathfinder"] == [], target
    linux = {p.name: p for p in installed_packages(lock, plan_install(lock, LINUX))}
    assert linux["torch"].accelerator == "torch-cuda"
    # PyPI's Linux x86_64 torchvision is a CUDA build of its own (it bundles libcudart: see
    # tests/fixtures/known-builds); torchcodec and torchdata are labelled by their own wheels, not by torch.
    assert linux["torchvision"].accelerator == "torch-cuda"
    assert linux["torchvision"].accelerator_basis.startswith("known PyPI build: torchvision 0.29.2 for linux-x86_64")
    assert linux["torchcodec"].accelerator is None and linux["torchdata"].accelerator is None


def test_pylock_environments_mark_targets_unsupported():
    lock = load_lock(LOCKS / "environments" / "uv.lock")
    assert not plan_install(lock, make_target("windows-amd64")).supported


# --- platforms: musl and Windows on ARM wheel choices ---


def test_musl_and_windows_arm_wheel_choices():
    lock = load_lock(LOCKS / "platforms" / "uv.lock")
    musl = {p.name: p for p in installed_packages(lock, plan_install(lock, make_target("x86_64-unknown-linux-musl")))}
    assert "musllinux_1_2_x86_64" in musl["numpy"].wheel.filename
    assert musl["onnxruntime"].wheel is None and musl["onnxruntime"].install_kind == "none"
    assert musl["onnxruntime"].reason == "no wheel and no sdist for this target: cannot install"
    arm = {p.name: p for p in installed_packages(lock, plan_install(lock, make_target("aarch64-pc-windows-msvc")))}
    assert arm["numpy"].wheel.filename.endswith("win_arm64.whl") and arm["onnxruntime"].wheel.filename.endswith(
        "win_arm64.whl"
    )
    ft = {p.name: p for p in installed_packages(lock, plan_install(lock, make_target("linux-x86_64", "3.14t")))}
    assert "-cp314-cp314t-manylinux" in ft["numpy"].wheel.filename
    # numpy 2.5.5 (locked for Python >= 3.12) ships cp314t wheels but none for 3.13t: built from source
    ft13 = {p.name: p for p in installed_packages(lock, plan_install(lock, make_target("linux-x86_64", "3.13t")))}
    assert ft13["numpy"].wheel is None and ft13["numpy"].install_kind == "build"
    assert ft13["numpy"].reason == "no wheel for this target: built from the sdist"
    # uv's aarch64-apple-darwin means macOS 13.0; depaudit's macos-arm64 preset 14.0 (--macos changes both)
    mac13 = {p.name: p for p in installed_packages(lock, plan_install(lock, make_target("aarch64-apple-darwin")))}
    mac14 = {p.name: p for p in installed_packages(lock, plan_install(lock, make_target("macos-arm64")))}
    assert mac13["onnxruntime"].wheel is None and "macosx_14_0_arm64" in mac14["onnxruntime"].wheel.filename
    mac13_preset = installed_packages(lock, plan_install(lock, make_target("macos-arm64", macos="13.0")))
    assert next(p for p in mac13_preset if p.name == "onnxruntime").wheel is None


def test_macosx_deployment_target_moves_uv_darwin_names_only():
    """$MACOSX_DEPLOYMENT_TARGET, which the edge reads into Settings.macos_deployment and scan_lock takes
    as `deployment`, moves uv's apple-darwin names only."""
    from depaudit.scan import scan_lock

    def onnxruntime_wheels(deployment: str | None = None) -> dict[str, str | None]:
        report = scan_lock(
            LOCKS / "platforms" / "uv.lock",
            targets=["aarch64-apple-darwin", "macos-arm64"],
            offline=True,
            cache_dir=None,
            deployment=deployment,
        )
        return {t.target.name: next(p.wheel for p in t.packages if p.name == "onnxruntime") for t in report.targets}

    assert onnxruntime_wheels()["aarch64-apple-darwin"] is None  # uv's 13.0: onnxruntime 1.32 has macOS 14 wheels only
    assert onnxruntime_wheels("14.0")["aarch64-apple-darwin"] == onnxruntime_wheels("14.0")["macos-arm64"] is not None
    assert onnxruntime_wheels("12.0")["macos-arm64"] is not None  # the preset stays at 14.0


def test_virtual_root_groups_are_attributed_like_member_dependencies():
    from depaudit.scan import scan_lock

    report = scan_lock(
        LOCKS / "workspace-virtual-groups" / "uv.lock",
        targets=["linux-x86_64"],
        offline=True,
        cache_dir=None,
        selection=Selection(groups=("lint",)),
    )
    target = report.targets[0]
    assert {c.name: c.packages for c in target.top_level}["ruff"] == ("ruff",)
    ruff = next(p for p in target.packages if p.name == "ruff")
    assert ruff.via == ("(workspace root)", "ruff") and report.scope.groups == ("lint",)


def test_an_unknowable_marker_makes_what_only_it_reaches_conditional():
    """The real lock of `torch==2.8.0; 'SMP' in platform_version`: torch and everything only it brings
    may install (named with the marker); numpy and pillow install surely."""
    lock = load_lock(LOCKS / "unknowable-marker" / "uv.lock")
    items = {p.name: p for p in installed_packages(lock, plan_install(lock, LINUX))}
    assert items["torch"].condition == items["triton"].condition == "'SMP' in platform_version"
    assert items["torch"].accelerator == "torch-cuda" and "nvidia-cudnn-cu12" in items
    assert items["numpy"].condition is None and items["pillow"].condition is None


def test_a_package_also_reached_surely_is_not_conditional():
    """svc -> a ('SMP' in platform_version) -> c, and svc -> b -> c: c installs whatever the kernel, and
    its path is the sure one, though the conditional one is as short and found first."""

    def pkg(name, deps=()):
        wheel = Wheel(f"{name}-1.0-py3-none-any.whl", None, 10)
        return Package(name, "1.0", Source("registry", "https://example.invalid/simple"), deps, wheels=(wheel,))

    svc = Package(
        "svc",
        "1.0",
        Source("virtual", "."),
        dependencies=(Dependency("a", marker="'SMP' in platform_version"), Dependency("b")),
    )
    packages = (svc, pkg("a", (Dependency("c"),)), pkg("b", (Dependency("c"),)), pkg("c"))
    lock = Lock("synthetic/uv.lock", "uv.lock", 1, 3, ">=3.11", packages, ("svc",), project="svc")
    items = {p.name: p for p in installed_packages(lock, plan_install(lock, LINUX))}
    assert items["a"].condition == "'SMP' in platform_version"
    assert items["b"].condition is None and items["c"].condition is None
    assert items["c"].via == ("svc", "b", "c")
