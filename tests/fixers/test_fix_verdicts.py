"""Verdicts from the lock, not the config, end to end: real `uv lock` against PEP 503 indexes on
127.0.0.1 (tests/fixers/localindex.py), then `depaudit fix` through the CLI.

The "mirror" (standing in for PyPI) serves torch 2.15.0 that needs nvidia-cublas on Linux (both arches),
sentence-stub (needs torch), onnxruntime and flash-attn stand-ins; the "cpu" index serves 2.15.0+cpu.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from localindex import torch_indexes

from depaudit.fixers.pipeline import find_uv

from childrun import run_depaudit


@pytest.fixture
def indexes(tmp_path: Path):
    with torch_indexes(
        tmp_path,
        ("sentence-stub", "1.0", ("torch>=2",)),
        ("onnxruntime", "1.20.0", ()),
        ("flash-attn", "2.7.0", ("torch",)),
        ("gpu-helper", "1.0", ("nvidia-cublas==13.0.0; platform_machine == 'aarch64'",)),
    ) as urls:
        yield urls


def _project(tmp_path: Path, mirror: str, cpu: str, dependencies: str, extra: str = "") -> Path:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "pyproject.toml").write_text(f'''[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = {dependencies}
{extra}
[[tool.uv.index]]
name = "mirror"
url = "{mirror}"
default = true

[[tool.uv.index]]
name = "pytorch-cpu"
url = "{cpu}"
explicit = true
''')
    subprocess.run(
        [*find_uv(), "lock", "--quiet"],
        cwd=root,
        check=True,
        timeout=120,
        env={**__import__("os").environ, "UV_HTTP_RETRIES": "0"},
    )
    return root


def _fix(root: Path, cpu: str, *args: str):
    return run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline", *args, timeout=300)


def test_x86_only_cpu_source_is_not_already_fixed(tmp_path: Path, indexes) -> None:
    """The issue: a CPU source scoped to x86_64, and `fix` said "already fixed" while linux-aarch64 still
    installed CUDA. Now the lock is judged (exit 1, aarch64 named), and the fix extends the source."""
    mirror, cpu = indexes
    root = _project(
        tmp_path,
        mirror,
        cpu,
        '["torch==2.15.0"]',
        '[tool.uv.sources]\ntorch = { index = "pytorch-cpu", marker = "platform_machine == \'x86_64\'" }\n',
    )
    dry = _fix(root, cpu, "--dry-run", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    assert (
        "extend the CPU source of torch to linux-aarch64 (its markers left them out)" in json.loads(dry.stdout)["notes"]
    )
    result = _fix(root, cpu, "--lock", "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["verdict"]["state"] == "clean"
    aarch64 = next(t for t in payload["targets"] if t["target"] == "linux-aarch64")
    assert aarch64["removed"] == ["nvidia-cublas"] and aarch64["after_accelerator"] == 0
    again = _fix(root, cpu)
    assert again.returncode == 0 and again.stdout.startswith("already fixed, nothing to change")


def test_accelerators_not_from_torch_are_named_per_target(tmp_path: Path, indexes) -> None:
    """Correct CPU config, but another dependency pulls a CUDA wheel on linux-aarch64: not fixed there
    (exit 1, the target and the path named); asked only about linux-x86_64, it is fixed."""
    mirror, cpu = indexes
    root = _project(
        tmp_path,
        mirror,
        cpu,
        '["torch==2.15.0", "gpu-helper"]',
        '[tool.uv.sources]\ntorch = { index = "pytorch-cpu" }\n',
    )
    result = _fix(root, cpu)
    assert result.returncode == 1 and "already fixed" not in result.stdout
    assert "lock: uv.lock still installs accelerator wheels on linux-aarch64" in result.stdout
    assert "  linux-aarch64: nvidia-cublas 13.0.0 (through gpu-helper)" in result.stdout
    x86 = _fix(root, cpu, "-t", "linux-x86_64")
    assert x86.returncode == 0 and x86.stdout.startswith("already fixed, nothing to change")


def test_onnxruntime_swap_lists_every_dependency_that_still_brings_torch(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    root = _project(tmp_path, mirror, cpu, '["torch==2.15.0", "sentence-stub", "onnxruntime"]')
    result = _fix(root, cpu, "--to", "onnxruntime")
    assert result.returncode == 1, result.stderr
    assert "changed pyproject.toml" in result.stdout
    assert "torch is still installed at run time: 1 runtime dependency brings it in" in result.stdout
    assert "  sentence-stub -> torch" in result.stdout
    again = _fix(root, cpu, "--to", "onnxruntime")  # lock not re-locked yet: stale, never "already fixed"
    assert again.returncode == 1 and "uv.lock is stale" in again.stdout and "already fixed" not in again.stdout
    locked = _fix(root, cpu, "--to", "onnxruntime", "--lock")
    assert locked.returncode == 1 and "sentence-stub -> torch" in locked.stdout
    allowed = _fix(root, cpu, "--to", "onnxruntime", "--allow-torch", "--format", "json")
    assert allowed.returncode == 0
    assert json.loads(allowed.stdout)["verdict"] == {
        "state": "torch-allowed",
        "ok": True,
        "details": ["sentence-stub -> torch"],
        "message": "torch is still installed at run time: 1 runtime dependency brings it in (accepted with --allow-torch)",
    }


def test_cuda_by_nature_extras_are_named(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    root = _project(
        tmp_path, mirror, cpu, '["torch==2.15.0"]', '[project.optional-dependencies]\ntrain = ["flash-attn>=2"]\n'
    )
    result = _fix(root, cpu, "--dry-run")
    assert (
        "the extra 'train' installs flash-attn, which needs CUDA by nature (no CPU build): left as it is"
        in result.stdout
    )
    assert "flash-attn" in (root / "pyproject.toml").read_text()
