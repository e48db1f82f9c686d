"""The figures issue 2 must show, on real locks made by real `uv lock`, offline against the committed
size cache (real HEAD answers recorded by tests/fixtures/size-cache/make_cache.py)."""

from __future__ import annotations

import json

import pytest

from depaudit.scan import scan_lock

from fixture_paths import LOCKS

CU12 = {
    "nvidia-cublas-cu12",
    "nvidia-cuda-cupti-cu12",
    "nvidia-cuda-nvrtc-cu12",
    "nvidia-cuda-runtime-cu12",
    "nvidia-cudnn-cu12",
    "nvidia-cufft-cu12",
    "nvidia-cufile-cu12",
    "nvidia-curand-cu12",
    "nvidia-cusolver-cu12",
    "nvidia-cusparse-cu12",
    "nvidia-cusparselt-cu12",
    "nvidia-nccl-cu12",
    "nvidia-nvjitlink-cu12",
    "nvidia-nvtx-cu12",
    "triton",
}


def by_target(report):
    return {t.target.name: t for t in report.targets}


@pytest.fixture
def torch28(size_cache):
    return by_target(scan_lock(LOCKS / "torch-2.8" / "uv.lock", offline=True, cache_dir=size_cache))


def test_torch_wheel_on_linux_x86_64_is_the_888_mb_one(torch28):
    linux = torch28["linux-x86_64"]
    torch = next(p for p in linux.packages if p.name == "torch")
    assert torch.wheel.filename == "torch-2.8.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    # HEAD on files.pythonhosted.org answered 888063640 (tests/fixtures/locks/VERIFIED.md)
    assert torch.size == 888_063_640
    assert round(torch.size / 2**20, 1) == 846.9


def test_torch_and_what_only_it_pulls_is_about_3_9_gb(torch28):
    linux = torch28["linux-x86_64"]
    cost = next(c for c in linux.top_level if c.name == "torch")
    assert 3.85e9 < cost.total_bytes < 3.95e9
    assert linux.unknown_size == ()
    assert set(cost.packages) >= CU12


def test_cu12_family_only_on_linux_x86_64(torch28):
    accel = {t: {p.name for p in r.packages if p.accelerator and p.name != "torch"} for t, r in torch28.items()}
    assert accel["linux-x86_64"] == CU12
    assert accel["linux-aarch64"] == set()
    assert accel["macos-arm64"] == set()
    assert accel["windows-amd64"] == set()
    assert torch28["macos-arm64"].accelerator_bytes == 0


def test_every_accelerator_is_brought_in_by_torch(torch28):
    for package in torch28["linux-x86_64"].packages:
        if package.name in CU12:
            assert package.via[:2] == ("hdr-service", "torch"), package.via


def test_today_torch_pulls_cuda_13_names_on_both_linux_arches(size_cache):
    report = by_target(scan_lock(LOCKS / "torch-default" / "uv.lock", offline=True, cache_dir=size_cache))
    for arch in ("linux-x86_64", "linux-aarch64"):
        names = {p.name for p in report[arch].packages if p.accelerator}
        assert {"nvidia-cublas", "nvidia-cudnn-cu13", "cuda-bindings"} <= names, (arch, names)
        assert not any(n.endswith("-cu12") for n in names)
    assert report["macos-arm64"].accelerator_bytes == 0


def test_transitive_torch_path_names_the_package_that_brings_it(size_cache):
    report = by_target(scan_lock(LOCKS / "transitive-torch" / "uv.lock", offline=True, cache_dir=size_cache))
    torch = next(p for p in report["linux-x86_64"].packages if p.name == "torch")
    assert torch.via == ("search-service", "sentence-transformers", "torch")
    cudnn = next(p for p in report["linux-x86_64"].packages if p.name.startswith("nvidia-cudnn"))
    assert cudnn.via[:3] == ("search-service", "sentence-transformers", "torch")


def test_json_contract(size_cache, tmp_path):
    from depaudit.render.scan_json import render_json

    report = scan_lock(LOCKS / "torch-2.8" / "uv.lock", offline=True, cache_dir=size_cache)
    doc = json.loads(render_json(report))
    assert doc["schema"] == 1 and doc["lockfile"].endswith("uv.lock")
    linux = doc["targets"][0]
    assert linux["target"] == "linux-x86_64" and linux["python"] == "3.11"
    assert isinstance(linux["total_bytes"], int) and isinstance(linux["accelerator_bytes"], int)
    assert linux["total_bytes"] == sum(p["size"] for p in linux["packages"] if p["size"] is not None)
    for package in linux["packages"]:
        assert set(package) >= {"name", "version", "wheel", "size", "accelerator", "via"}
        assert package["via"][0] == "hdr-service" and package["via"][-1] == package["name"]
    assert linux["unknown_size"] == [] and linux["sdist_only"] == []


def test_target_wheel_not_first_wheel_is_sized():
    """`uv tree --show-sizes` reports the first wheel listed (97.3 MiB for torch 2.8.0 on this lock,
    whatever the platform); depaudit reports the wheel the target installs."""
    from depaudit.sources.uvlock import load_lock

    lock = load_lock(LOCKS / "torch-2.8-sizes" / "uv.lock")
    torch = next(p for p in lock.packages if p.name == "torch")
    assert round(torch.wheels[0].size / 2**20, 1) == 97.3  # what uv tree prints
    report = by_target(scan_lock(lock, offline=True, cache_dir=None))
    sizes = {t: next(p.size for p in r.packages if p.name == "torch") for t, r in report.items()}
    assert sizes["linux-x86_64"] == 888_063_640
    assert len(set(sizes.values())) == 4  # four platforms, four different wheels
