"""The table of known PyPI builds (depaudit.analysis.known_builds) against what the wheels themselves hold:
tests/fixtures/known-builds/evidence.jsonl, written by collect.py there from PyPI's real wheels (their zip
central directories, read by Python's zipfile over HTTP ranges, and their PEP 658 metadata)."""

from __future__ import annotations

import json

import pytest

from depaudit.analysis.accelerators import library_family
from depaudit.analysis.known_builds import PYPI_BUILDS, known_build, wheel_platform
from depaudit.versions import parse_version

from fixture_paths import FIXTURES

EVIDENCE = [json.loads(line) for line in (FIXTURES / "known-builds" / "evidence.jsonl").read_text().splitlines()]


def _version(filename: str) -> str:
    return filename.split("-")[1]


def _wheels(package: str, platform: str) -> list[dict]:
    return [w for w in EVIDENCE if w["file"].startswith(f"{package}-") and wheel_platform(w["file"]) == platform]


def test_the_evidence_covers_every_platform_and_the_cases_the_issue_names():
    names = {w["file"] for w in EVIDENCE}
    assert "torch-1.12.1-cp310-cp310-manylinux1_x86_64.whl" in names  # bundled CUDA 10.2, no nvidia dependency
    assert "torch-2.9.1-cp311-cp311-manylinux_2_28_x86_64.whl" in names
    assert {wheel_platform(n) for n in names} == {"linux-x86_64", "linux-aarch64", "windows", "macos"}


@pytest.mark.parametrize("row", PYPI_BUILDS, ids=lambda r: f"{r.package}-{r.platform}-{r.first}")
def test_each_row_agrees_with_every_wheel_it_covers(row):
    covered = [
        w for w in _wheels(row.package, row.platform) if known_build(row.package, _version(w["file"]), w["file"]) == row
    ]
    versions = {_version(w["file"]) for w in covered}
    assert row.first in versions and (row.last is None or row.last in versions), (row, sorted(versions))
    for wheel in covered:
        family = library_family(wheel["accelerator_libraries"])
        assert family == row.family, (wheel["file"], wheel["accelerator_libraries"])


def test_no_checked_wheel_falls_between_rows_and_no_macos_wheel_is_a_cuda_build():
    for wheel in EVIDENCE:
        package, version = wheel["file"].split("-")[:2]
        if wheel_platform(wheel["file"]) == "macos":
            assert wheel["accelerator_libraries"] == [], wheel["file"]
            continue
        row = known_build(package, version, wheel["file"])
        assert row is not None, wheel["file"]


def test_torch_1_12_bundles_cuda_with_no_nvidia_dependency():
    (wheel,) = [w for w in EVIDENCE if w["file"] == "torch-1.12.1-cp310-cp310-manylinux1_x86_64.whl"]
    assert "libtorch_cuda.so" in wheel["accelerator_libraries"]
    assert any(name.startswith("libcudart") for name in wheel["accelerator_libraries"])
    assert not wheel["cuda_runtime_requires"]  # no metadata served, or one that requires no CUDA runtime
    assert known_build("torch", "1.12.1", wheel["file"]).family == "torch-cuda"


@pytest.mark.parametrize(
    ("filename", "platform"),
    [
        ("torch-2.8.0-cp311-cp311-manylinux_2_28_x86_64.whl", "linux-x86_64"),
        ("torch-1.12.1-cp310-cp310-manylinux1_x86_64.whl", "linux-x86_64"),
        ("torch-2.8.0-cp311-cp311-manylinux_2_28_aarch64.whl", "linux-aarch64"),
        ("torch-2.8.0-cp311-cp311-win_amd64.whl", "windows"),
        ("torch-2.8.0-cp311-none-macosx_11_0_arm64.whl", "macos"),
        ("numpy-2.0-cp311-cp311-musllinux_1_2_x86_64.whl", "linux-x86_64"),
        ("six-1.17.0-py2.py3-none-any.whl", None),
        ("x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "linux-x86_64"),
    ],
)
def test_wheel_platform(filename, platform):
    assert wheel_platform(filename) == platform


def test_versions_outside_every_row_are_not_known():
    assert known_build("torch", "1.0.0", "torch-1.0.0-cp37-cp37m-manylinux1_x86_64.whl") is None
    assert (
        known_build("torch", "2.11.0.dev20250101", "torch-2.11.0.dev1-cp311-cp311-manylinux_2_28_aarch64.whl") is None
    )
    assert known_build("torch", "not a version", "torch-x-cp311-cp311-win_amd64.whl") is None
    assert known_build("torchaudio", "2.8.0", "torchaudio-2.8.0-cp311-cp311-manylinux_2_28_x86_64.whl") is None
    future = known_build("torch", "3.0.0", "torch-3.0.0-cp313-cp313-manylinux_2_28_x86_64.whl")
    assert future is not None and future.family == "torch-cuda"  # an open row: every later release
    assert parse_version("2.11.0.dev1") < parse_version("2.11.0")
