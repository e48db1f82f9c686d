"""gate, diff and the pre-commit hook take the new inputs: requirements files (and their git revisions),
Dockerfiles, poetry.lock and pdm.lock. Local stand-in indexes on 127.0.0.1; Poetry/PDM sizes from the
committed index-files cache (real PyPI answers, fixtures/inputs/HOW.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from childrun import cli_env, run_depaudit
from fixture_paths import FIXTURES, TESTS

sys.path.insert(0, str(TESTS / "fixers"))
from localindex import torch_indexes

GIT = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]


@pytest.fixture
def indexes(tmp_path: Path):
    (tmp_path / "indexes").mkdir()
    with torch_indexes(tmp_path / "indexes") as urls:
        yield urls


def _requirements(folder: Path, mirror: str, cpu: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "requirements.txt"
    pins = f"--extra-index-url {cpu}\ntorch==2.15.0+cpu\n" if cpu else "torch==2.15.0\n"
    path.write_text(f"--index-url {mirror}\n{pins}")
    return path


def test_gate_fails_on_cuda_requirements_and_passes_on_the_cpu_index(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    budget = ("--max-accelerator", "0", "--allow-host", "127.0.0.1", "--target", "linux-x86_64")
    cuda = run_depaudit("gate", "--lock", str(_requirements(tmp_path / "a", mirror, None)), *budget, timeout=120)
    assert cuda.returncode == 1 and "exceeds the budget of 0 B; biggest: nvidia-cublas" in cuda.stdout, cuda.stderr
    fixed = run_depaudit("gate", "--lock", str(_requirements(tmp_path / "b", mirror, cpu)), *budget, timeout=120)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def _diff(*args: str, cwd: Path | None = None) -> dict:
    result = run_depaudit("diff", *args, "--format", "json", "--allow-host", "127.0.0.1", cwd=cwd, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_diff_between_two_requirements_files_and_their_git_revisions(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    repo = tmp_path / "repo"
    before = _requirements(repo, mirror, None)
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=repo, check=True, timeout=30)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True, timeout=30)
    subprocess.run([*GIT, "commit", "-q", "-m", "cuda"], cwd=repo, check=True, timeout=30)
    saved = tmp_path / "before.txt"
    shutil.copyfile(before, saved)
    _requirements(repo, mirror, cpu)  # the working tree now uses the CPU index
    files = _diff(str(saved), str(repo / "requirements.txt"), "-t", "linux-x86_64")
    from_git = _diff("HEAD:requirements.txt", "requirements.txt", "-t", "linux-x86_64", cwd=repo)
    (change,) = files["targets"]
    assert change["delta_bytes"] < 0 and from_git["targets"] == files["targets"]
    assert from_git["base"] == "HEAD:requirements.txt"


def test_diff_between_two_dockerfiles(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, extra in ((a, ""), (b, f" --extra-index-url {cpu}")):
        folder.mkdir()
        pin = "torch==2.15.0+cpu" if extra else "torch==2.15.0"
        (folder / "Dockerfile").write_text(
            f"FROM python:3.11-slim\nRUN pip install --index-url {mirror}{extra} {pin}\n"
        )
    doc = _diff(str(a / "Dockerfile"), str(b / "Dockerfile"), "--cache-dir", str(tmp_path / "cache"))
    (change,) = doc["targets"]
    assert change["target"] == "linux-x86_64" and change["delta_bytes"] < 0
    assert any(p["name"] == "nvidia-cublas" for p in change["removed"]), change


@pytest.mark.parametrize("tool", ["poetry", "pdm"])
def test_the_lock_hook_takes_poetry_and_pdm_locks(tmp_path: Path, tool: str) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "inputs" / f"{tool}-cuda", project)
    cache = tmp_path / "cache"
    shutil.copytree(FIXTURES / "inputs" / "index-files-cache", cache)
    lock = project / f"{tool}.lock"
    result = run_depaudit("hook", "lock", str(lock), env=cli_env(DEPAUDIT_CACHE_DIR=str(cache)), timeout=120)
    assert result.returncode == 1  # the hook's default budget: no accelerator wheels; torch 2.8 on Linux has them
    assert f"{lock}:" in result.stdout and "DA502" in result.stdout and "nvidia" in result.stdout
