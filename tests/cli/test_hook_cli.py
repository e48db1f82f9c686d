"""`depaudit hook lock`, the pre-commit entry point for lock budgets, run directly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from fixture_paths import FIXTURES

CUDA_LOCK = FIXTURES / "diff" / "cpu-index" / "before" / "uv.lock"
# numpy + pillow: no accelerator, a wheel for every target. (diff/cpu-index/after is no CPU lock for these
# tests: its CPU index held only the Linux x86_64 torch wheel, so torch cannot install on the other targets.)
CPU_LOCK = FIXTURES / "locks" / "extras-dev" / "uv.lock"
LINE = re.compile(r"^[^:\s]+:\d+(:\d+)?: DA5\d\d ")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "hook", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def _project(folder: Path, lock: Path, settings: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n' + settings)
    shutil.copyfile(lock, folder / "uv.lock")
    return folder / "uv.lock"


def test_lock_without_budgets_defaults_to_no_accelerator_wheels(tmp_path: Path) -> None:
    _project(tmp_path / "a", CUDA_LOCK)
    cpu = _project(tmp_path / "b", CPU_LOCK)
    proc = run("lock", "a/uv.lock", "b/uv.lock", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(LINE.match(line) and line.startswith("a/uv.lock:") for line in lines)
    assert all(" DA502 " in line and "the default budget of the lock hook" in line for line in lines)
    assert run("lock", str(cpu), cwd=tmp_path).returncode == 0


def test_a_lock_that_cannot_install_on_a_target_never_passes(tmp_path: Path) -> None:
    # torch 2.13.0+cpu from an index that held only its Linux x86_64 wheel: no wheel, no sdist elsewhere.
    _project(tmp_path / "c", FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock")
    proc = run("lock", "c/uv.lock", cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert sorted(line.split(" ")[3].rstrip(":") for line in lines) == ["linux-aarch64", "macos-arm64", "windows-amd64"]
    assert all("cannot verify" in line and "cannot install: torch" in line for line in lines), lines


def test_lock_budgets_come_from_the_nearest_pyproject(tmp_path: Path) -> None:
    _project(tmp_path / "a", CUDA_LOCK, '[tool.depaudit]\nmax-download = "10GB"\n')
    assert run("lock", "a/uv.lock", cwd=tmp_path).returncode == 0  # the project allows its CUDA lock
    settings = (
        '[tool.depaudit]\nno-accelerator-targets = ["linux-aarch64"]\n'
        'max-image-size = "1MB"\nimages = ["never-built:latest"]\n'
    )
    _project(tmp_path / "b", CUDA_LOCK, settings)
    proc = run("lock", "b/uv.lock", cwd=tmp_path)  # image budgets are not a commit hook's business
    assert proc.returncode == 1 and proc.stdout.count("\n") == 1, proc.stdout + proc.stderr
    assert re.match(
        r"b/uv\.lock:457: DA503 b/uv\.lock linux-aarch64: no-accelerator: installs accelerator", proc.stdout
    )


def test_bad_input_is_one_line_exit_3(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("not = [toml")
    proc = run("lock", "uv.lock", cwd=tmp_path)
    assert proc.returncode == 3 and len(proc.stderr.strip().splitlines()) == 1 and "uv.lock:1" in proc.stderr
