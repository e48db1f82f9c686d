"""Every platform name's tag priority must equal what `packaging.tags` (pip's own logic) computes on
that platform, and names, aliases and Python versions parse as uv's `--python-platform` does."""

from __future__ import annotations

import pytest
from packaging import _manylinux, _musllinux, tags

from depaudit.errors import UsageError
from depaudit.targets import DEFAULT_TARGETS, make_target, parse_platform, parse_python, python_from_requires

# name -> (os, arch as packaging spells it in tags, version packaging would find on that machine)
PLATFORMS = {
    "linux-x86_64": ("linux", "x86_64", (2, 28)),
    "linux-aarch64": ("linux", "aarch64", (2, 28)),
    "macos-arm64": ("macos", "arm64", (14, 0)),  # the preset: macOS 14.0
    "windows-amd64": ("windows", "win_amd64", None),
    "linux": ("linux", "x86_64", (2, 28)),
    "macos": ("macos", "arm64", (14, 0)),
    "windows": ("windows", "win_amd64", None),
    "x86_64-unknown-linux-gnu": ("linux", "x86_64", (2, 28)),
    "aarch64-unknown-linux-gnu": ("linux", "aarch64", (2, 28)),
    "x86_64-manylinux_2_17": ("linux", "x86_64", (2, 17)),
    "x86_64-manylinux2014": ("linux", "x86_64", (2, 17)),
    "x86_64-manylinux_2_40": ("linux", "x86_64", (2, 40)),
    "aarch64-manylinux_2_34": ("linux", "aarch64", (2, 34)),
    "aarch64-manylinux2014": ("linux", "aarch64", (2, 17)),
    "riscv64-manylinux_2_39": ("linux", "riscv64", (2, 39)),
    "x86_64-unknown-linux-musl": ("musl", "x86_64", (1, 2)),
    "aarch64-unknown-linux-musl": ("musl", "aarch64", (1, 2)),
    "x86_64-musllinux_1_1": ("musl", "x86_64", (1, 1)),
    "aarch64-musllinux_1_2": ("musl", "aarch64", (1, 2)),
    "x86_64-apple-darwin": ("macos", "x86_64", (13, 0)),
    "aarch64-apple-darwin": ("macos", "arm64", (13, 0)),
    "x86_64-pc-windows-msvc": ("windows", "win_amd64", None),
    "aarch64-pc-windows-msvc": ("windows", "win_arm64", None),
    "i686-pc-windows-msvc": ("windows", "win32", None),
}


def packaging_platforms(name: str, monkeypatch) -> list[str]:
    """The platform tags packaging yields on that machine: its Linux code reads the running libc, so
    the libc version is substituted (the only thing it asks the machine); macOS is a pure function."""
    os_name, arch, version = PLATFORMS[name]
    if os_name == "macos":
        return list(tags.mac_platforms(version, arch))
    if os_name == "windows":
        return [arch]
    monkeypatch.setattr(_manylinux, "_have_compatible_abi", lambda executable, archs: True)
    if os_name == "linux":
        monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: version)
        monkeypatch.setattr(_musllinux, "_get_musl_version", lambda executable: None)
    else:
        monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: (-1, -1))
        monkeypatch.setattr(_musllinux, "_get_musl_version", lambda executable: _musllinux._MuslVersion(*version))
    _manylinux._get_glibc_version.cache_clear() if hasattr(_manylinux._get_glibc_version, "cache_clear") else None
    return [*_manylinux.platform_tags([arch]), *_musllinux.platform_tags([arch]), f"linux_{arch}"]


def expected_tags(python: str, platforms: list[str]) -> list[str]:
    threaded = python.endswith("t")
    py = tuple(int(x) for x in python.rstrip("t").split("."))
    cp = f"cp{py[0]}{py[1]}"
    out = [str(t) for t in tags.cpython_tags(py, abis=[cp + ("t" if threaded else "")], platforms=platforms)]
    return out + [str(t) for t in tags.compatible_tags(py, cp, platforms)]


@pytest.mark.parametrize("name", sorted(PLATFORMS))
@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13t", "3.14"])
def test_tag_priority_matches_packaging(name, python, monkeypatch):
    platforms = packaging_platforms(name, monkeypatch)
    assert platforms, name
    assert list(make_target(name, python).tags) == expected_tags(python, platforms)


@pytest.mark.parametrize("macos", ["10.15", "11.0", "14.0", "15.2"])
@pytest.mark.parametrize("name,arch", [("aarch64-apple-darwin", "arm64"), ("x86_64-apple-darwin", "x86_64")])
def test_macos_versions_match_packaging(name, arch, macos):
    version = tuple(int(x) for x in macos.split("."))
    platforms = list(tags.mac_platforms(version, arch))
    assert list(make_target(name, "3.12", macos=macos).tags) == expected_tags("3.12", platforms)


def test_macos_defaults_uv_names_13_preset_14():
    assert make_target("aarch64-apple-darwin", "3.12").tags[0] == "cp312-cp312-macosx_13_0_arm64"
    assert make_target("x86_64-apple-darwin", "3.12").tags[0] == "cp312-cp312-macosx_13_0_x86_64"
    assert make_target("macos-arm64", "3.12").tags[0] == "cp312-cp312-macosx_14_0_arm64"
    assert make_target("macos", "3.12").tags[0] == "cp312-cp312-macosx_14_0_arm64"
    # $MACOSX_DEPLOYMENT_TARGET (as uv reads it) moves the uv names only; --macos moves both
    assert (
        make_target("aarch64-apple-darwin", "3.12", deployment_target="12.3").tags[0] == "cp312-cp312-macosx_12_0_arm64"
    )
    assert make_target("macos-arm64", "3.12", deployment_target="12.3").tags[0] == "cp312-cp312-macosx_14_0_arm64"
    assert make_target("macos-arm64", "3.12", macos="15.1").tags[0] == "cp312-cp312-macosx_15_0_arm64"
    assert make_target("aarch64-apple-darwin", "3.12", macos="15.1", deployment_target="12.0").tags[0] == (
        "cp312-cp312-macosx_15_0_arm64"
    )


def test_glibc_option_changes_only_names_without_a_version(monkeypatch):
    assert make_target("linux-x86_64", "3.12", glibc="2.34").tags[0] == "cp312-cp312-manylinux_2_34_x86_64"
    assert make_target("x86_64-manylinux_2_17", "3.12", glibc="2.34").tags[0] == "cp312-cp312-manylinux_2_17_x86_64"


def test_marker_environments():
    env = make_target("linux-aarch64", "3.12").marker_environment
    assert env["sys_platform"] == "linux" and env["platform_machine"] == "aarch64"
    assert env["python_version"] == "3.12" and env["python_full_version"] == "3.12.0"
    assert make_target("windows-amd64").marker_environment["platform_machine"] == "AMD64"
    assert make_target("aarch64-pc-windows-msvc").marker_environment["platform_machine"] == "ARM64"
    assert make_target("aarch64-apple-darwin").marker_environment["platform_machine"] == "arm64"
    musl = make_target("x86_64-unknown-linux-musl").marker_environment
    assert musl["sys_platform"] == "linux" and musl["platform_machine"] == "x86_64"
    assert make_target("linux-x86_64", "3.12.4").marker_environment["python_full_version"] == "3.12.4"


def test_aliases_mean_the_uv_names():
    for alias, name in [
        ("linux-x86_64", "x86_64-unknown-linux-gnu"),
        ("windows-amd64", "x86_64-pc-windows-msvc"),
        ("linux-aarch64", "aarch64-unknown-linux-gnu"),
    ]:
        assert make_target(alias).tags == make_target(name).tags
        assert make_target(alias).environment == make_target(name).environment
    # macos-arm64 is aarch64-apple-darwin at macOS 14.0 (its version as depaudit always measured it)
    assert make_target("macos-arm64").tags == make_target("aarch64-apple-darwin", macos="14.0").tags
    assert make_target("macos-arm64").environment == make_target("aarch64-apple-darwin").environment
    assert DEFAULT_TARGETS == ("linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64")


def test_free_threaded_python():
    assert parse_python("3.13t") == ((3, 13), "3.13.0", True)
    target = make_target("linux-x86_64", "3.13t")
    assert target.python == "3.13t" and target.tags[0] == "cp313-cp313t-manylinux_2_28_x86_64"
    assert not any("-abi3-" in t for t in target.tags)  # the stable ABI does not load free-threaded


@pytest.mark.parametrize(
    "bad", ["solaris-sparc", "x86_64-manylinux_2_4", "aarch64-manylinux_2_12", "arm64-apple-ios", ""]
)
def test_unknown_platform_is_a_usage_error_naming_the_choices(bad):
    with pytest.raises(UsageError, match="unknown target") as info:
        parse_platform(bad)
    assert "x86_64-unknown-linux-musl" in str(info.value) and "linux-x86_64" in str(info.value)


@pytest.mark.parametrize("bad", ["three", "2.7", "3.12t", "3", "3.x"])
def test_bad_python_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="--python"):
        make_target("linux-x86_64", bad)


@pytest.mark.parametrize(
    "spec,expected", [(">=3.11", "3.11"), (">=3.10,<3.13", "3.10"), ("~=3.12.1", "3.12"), (None, "3.11")]
)
def test_python_from_requires(spec, expected):
    assert python_from_requires(spec) == expected
