"""Tag priorities must equal what `packaging` (pip's own tag logic) computes for the same platform."""

from __future__ import annotations

import pytest
from packaging import tags

from depaudit.errors import UsageError
from depaudit.targets import DEFAULT_TARGETS, make_target, python_from_requires


def packaging_platforms(name: str) -> list[str]:
    if name == "macos-arm64":
        return list(tags.mac_platforms((14, 0), "arm64"))
    if name == "windows-amd64":
        return ["win_amd64"]
    arch = name.split("-")[1]
    # packaging builds manylinux tags from the running glibc; reproduce its order for glibc 2.28.
    out = []
    legacy = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
    for minor in range(28, (17 if arch == "aarch64" else 5) - 1, -1):
        out.append(f"manylinux_2_{minor}_{arch}")
        if (2, minor) in legacy and (arch == "x86_64" or minor == 17):
            out.append(f"{legacy[(2, minor)]}_{arch}")
    return out + [f"linux_{arch}"]


@pytest.mark.parametrize("name", DEFAULT_TARGETS)
@pytest.mark.parametrize("python", ["3.11", "3.12"])
def test_tag_priority_matches_packaging(name, python):
    py = tuple(int(x) for x in python.split("."))
    plats = packaging_platforms(name)
    cp = f"cp{py[0]}{py[1]}"
    expected = [str(t) for t in tags.cpython_tags(py, abis=[cp], platforms=plats)]
    expected += [str(t) for t in tags.compatible_tags(py, cp, plats)]
    assert list(make_target(name, python).tags) == expected


def test_marker_environment():
    env = make_target("linux-aarch64", "3.12").marker_environment
    assert env["sys_platform"] == "linux" and env["platform_machine"] == "aarch64"
    assert env["python_version"] == "3.12" and env["python_full_version"] == "3.12.0"
    assert make_target("windows-amd64").marker_environment["sys_platform"] == "win32"


def test_unknown_target_and_bad_python_are_usage_errors():
    with pytest.raises(UsageError, match="unknown target"):
        make_target("solaris-sparc")
    with pytest.raises(UsageError, match="--python"):
        make_target("linux-x86_64", "three")


@pytest.mark.parametrize("spec,expected", [(">=3.11", "3.11"), (">=3.10,<3.13", "3.10"), ("~=3.12.1", "3.12"), (None, "3.11")])
def test_python_from_requires(spec, expected):
    assert python_from_requires(spec) == expected
