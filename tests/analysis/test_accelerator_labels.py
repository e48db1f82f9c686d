"""Accelerator labels from the wheel itself (depaudit.analysis.accelerators), on real locks made by `uv lock`
(tests/fixtures/locks/*/HOW.md), offline: what each target installs, the label and the basis that decided it."""

from __future__ import annotations

import pytest

from depaudit.analysis.accelerators import (
    Label,
    WheelEvidence,
    accelerator_libraries,
    evidence_label,
    library_family,
    name_label,
    runtime_requirements,
)
from depaudit.analysis.wheel_evidence import cuda_requirements
from depaudit.budgets import LockLimits, check_report
from depaudit.scan import scan_lock
from depaudit.targets import make_target

from fixture_paths import FIXTURES, LOCKS

TARGETS = ["linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"]


def _torch(path, **options):
    report = scan_lock(path, targets=TARGETS, offline=True, cache_dir=None, **options)
    return {t.target.name: next(p for p in t.packages if p.name == "torch") for t in report.targets}, report


def test_pypi_cuda_torch_with_no_nvidia_edges_in_the_lock_is_still_a_cuda_build():
    torch, report = _torch(LOCKS / "torch-no-nvidia-edges" / "uv.lock")
    linux = torch["linux-x86_64"]
    assert linux.size == 899_821_446 and linux.accelerator == "torch-cuda"
    assert linux.accelerator_basis == "known PyPI build: torch 2.9.1 for linux-x86_64 is a CUDA build"
    assert [torch[t].accelerator for t in TARGETS[1:]] == [None, None, None]
    (check,) = [c for c in check_report(report, LockLimits(max_accelerator=0)) if c.target == "linux-x86_64"]
    assert check.verdict == "fail" and "899.8 MB exceeds the budget of 0 B" in check.message()


def test_torch_1_12_bundles_cuda_and_fails_a_zero_accelerator_budget():
    torch, report = _torch(LOCKS / "torch-1.12" / "uv.lock")
    assert torch["linux-x86_64"].accelerator == "torch-cuda" and torch["linux-x86_64"].size == 776_338_835
    assert torch["macos-arm64"].accelerator_basis == "a macOS wheel: no CUDA or ROCm build exists for macOS"
    verdicts = {c.target: c.verdict for c in check_report(report, LockLimits(max_accelerator=0))}
    assert verdicts == {"linux-x86_64": "fail", "linux-aarch64": "pass", "macos-arm64": "pass", "windows-amd64": "pass"}


def test_pylock_labels_equal_the_uv_lock_they_came_from_beside_cuda_wheels_of_another_package():
    folder = LOCKS / "torch-beside-ort-gpu"
    from_lock, lock_report = _torch(folder / "uv.lock")
    from_pylock, pylock_report = _torch(folder / "pylock.toml")
    for target in TARGETS:
        assert (from_lock[target].accelerator, from_lock[target].accelerator_basis) == (
            from_pylock[target].accelerator,
            from_pylock[target].accelerator_basis,
        ), target
    # onnxruntime-gpu[cuda,cudnn] pulls binary nvidia wheels on aarch64 and Windows; torch there is PyPI's CPU build
    assert from_pylock["windows-amd64"].accelerator is None and from_pylock["linux-aarch64"].accelerator is None
    windows = next(t for t in pylock_report.targets if t.target.name == "windows-amd64")
    assert any(p.accelerator == "nvidia" for p in windows.packages)
    totals = [(t.total_bytes, t.accelerator_bytes, sorted(t.not_installable)) for t in lock_report.targets]
    assert totals == [(t.total_bytes, t.accelerator_bytes, sorted(t.not_installable)) for t in pylock_report.targets]
    mac = next(t for t in lock_report.targets if t.target.name == "macos-arm64")
    assert "onnxruntime-gpu" in mac.not_installable  # no macOS wheel, no sdist: macOS cannot install this lock


def test_a_pytorch_index_or_local_label_decides_before_anything_else():
    report = scan_lock(
        FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock", targets=["linux-x86_64"], offline=True, cache_dir=None
    )
    (torch,) = [p for p in report.targets[0].packages if p.name == "torch"]
    assert torch.accelerator is None and torch.accelerator_basis == "local version label +cpu"
    assert name_label("torch", "2.8.0+cu128") == Label("torch-cuda", "local version label +cu128")
    assert name_label("torch", "2.5.1+rocm6.2") == Label("torch-rocm", "local version label +rocm6.2")
    assert name_label("torch-scatter", "2.1.2+cu121").family == "cuda"  # any package's CUDA label
    assert name_label("nvidia-cublas-cu12", "12.8.4.1") == Label("nvidia", "name")
    assert name_label("numpy", "2.0.0+local") == Label(None)


REAL_METADATA = (FIXTURES / "known-builds" / "torch-2.8.0-cp311-cp311-manylinux_2_28_aarch64.whl.metadata").read_text()


def test_declared_dependencies_are_read_for_the_target():
    requires = cuda_requirements(REAL_METADATA)  # PyPI's own metadata of torch 2.8.0
    assert len(requires) == 15 and requires[0].startswith("nvidia-cuda-nvrtc-cu12==12.8.93;")
    linux = make_target("linux-x86_64").marker_environment
    arm = make_target("linux-aarch64").marker_environment
    assert runtime_requirements(requires, linux)[0] == "nvidia-cuda-nvrtc-cu12"
    assert runtime_requirements(requires, arm) == []  # every CUDA requirement is for x86_64 only
    assert evidence_label(WheelEvidence(requires), linux) == Label(
        "torch-cuda", "wheel metadata requires nvidia-cuda-nvrtc-cu12"
    )
    assert evidence_label(WheelEvidence(requires), arm) is None  # metadata alone cannot say CPU: it may bundle CUDA
    bundled = WheelEvidence((), ("libtorch_cuda.so", "libcudart-80664282.so.10.2"))
    assert evidence_label(bundled, arm) == Label("torch-cuda", "wheel contents: libtorch_cuda.so")
    assert evidence_label(WheelEvidence(None, ()), linux) == Label(None, "wheel contents: no CUDA, ROCm or XPU library")


@pytest.mark.parametrize(
    ("names", "family"),
    [
        (["torch/lib/libtorch_cuda.so"], "torch-cuda"),
        (["torch/lib/libcudart-80664282.so.10.2"], "torch-cuda"),
        (["torchvision.libs/libcudart.e8e8b82a.so.12"], "torch-cuda"),
        (["torch/lib/torch_cuda.dll", "torch/lib/cudnn64_9.dll"], "torch-cuda"),
        (["torch/lib/libtorch_hip.so", "torch/lib/libamdhip64.so"], "torch-rocm"),
        (["torch/lib/libtorch_xpu.so"], "torch-xpu"),
        (["torch/include/ATen/cudnn/cudnn-wrapper.h", "caffe2/python/nccl.py", "torch/lib/libtorch_cpu.so"], None),
    ],
)
def test_accelerator_libraries_by_file_name(names, family):
    assert library_family(names) == family
    assert bool(accelerator_libraries(names)) == (family is not None)
