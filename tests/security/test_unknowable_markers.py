"""CUDA hidden behind a marker depaudit cannot decide counts as "may install", in every command.

The fixture is a real `uv lock` of `torch==2.8.0; 'SMP' in platform_version` (tests/fixtures/locks/
unknowable-marker, HOW.md there): uv keeps torch, its NVIDIA wheels and triton with that marker, and
`uv sync` on a Linux machine installs 3.9 GB of them. depaudit used to evaluate `platform_version` as
"" for every target, so gate, hook, lint and diff all passed a pull request carrying it.
"""

from __future__ import annotations

import json
from pathlib import Path

from hostile import Surroundings, assert_no_secret, hostile_clone, run_in

from fixture_paths import LOCKS

FIXTURE = LOCKS / "unknowable-marker"
MARKER = "'SMP' in platform_version"


def _clone(tmp_path: Path) -> Path:
    files = {name: (FIXTURE / name).read_text() for name in ("pyproject.toml", "uv.lock")}
    files |= {f"base/{name}": (FIXTURE / "base" / name).read_text() for name in ("pyproject.toml", "uv.lock")}
    return hostile_clone(tmp_path, files)


def test_gate_fails_on_cuda_behind_an_unknowable_marker(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    around = Surroundings(tmp_path, clone)
    result = run_in(
        clone,
        *("gate", "--lock", "uv.lock", "--offline", "--max-accelerator", "0"),
        *("--no-accelerator-target", "linux-x86_64"),
    )
    assert_no_secret(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "FAIL" in result.stdout and "torch" in result.stdout + result.stderr
    assert around.changed() == []


def test_hook_fails_on_it(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    result = run_in(clone, "hook", "lock", "uv.lock")
    assert_no_secret(result)
    assert result.returncode == 1, (result.stdout, result.stderr)


def test_lint_reports_the_accelerators(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    result = run_in(clone, "lint", "uv.lock", "--format", "json", "--fail-on", "warning")
    assert_no_secret(result)
    assert result.returncode == 1 and "DA101" in result.stdout, (result.stdout, result.stderr)


def test_diff_counts_it(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    result = run_in(clone, "diff", "base/uv.lock", "uv.lock", "--offline", "--max-increase", "50MB")
    assert_no_secret(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "torch" in result.stdout


def test_scan_shows_it_with_the_marker_named(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    result = run_in(clone, "scan", "--offline", "--format", "json", "-t", "linux-x86_64", "-t", "macos-arm64")
    assert_no_secret(result)
    linux, mac = json.loads(result.stdout)["targets"]
    torch = next(p for p in linux["packages"] if p["name"] == "torch")
    assert torch["condition"] == MARKER and torch["family"] == "torch-cuda"
    cudnn = next(p for p in linux["packages"] if p["name"] == "nvidia-cudnn-cu12")
    assert cudnn["condition"] == MARKER  # reached only through torch: conditional too
    assert "numpy" not in linux["conditional"] and "torch" in linux["conditional"]
    assert linux["accelerator_bytes"] > 3_000_000_000
    assert "torch" in mac["conditional"] and mac["accelerator_bytes"] == 0
    table = run_in(clone, "scan", "--offline", "-t", "linux-x86_64")
    assert f"may install: {MARKER}" in table.stdout and "may install (counted, the worst case)" in table.stdout
