"""The hooks in `.pre-commit-hooks.yaml`, run by real pre-commit (`pre-commit try-repo`) on a sample
git repository, with this checkout as the hook repository.

pre-commit builds the hook's environment by pip-installing this repository into a new virtualenv, so
depaudit's dependencies come from PyPI: rtoml, for one, is on no local index of these machines. That
test is therefore marked `network` (conftest skips it, saying so, where pypi.org cannot be reached).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fixture_paths import FIXTURES

REPO = Path(__file__).resolve().parents[2]
CUDA_LOCK = FIXTURES / "diff" / "cpu-index" / "before" / "uv.lock"
# numpy + pillow: no accelerator, a wheel for every target. (diff/cpu-index/after is no CPU lock for these
# tests: its CPU index held only the Linux x86_64 torch wheel, so torch cannot install on the other targets.)
CPU_LOCK = FIXTURES / "locks" / "extras-dev" / "uv.lock"
GNU = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+)(:(?P<col>\d+))?: (?P<id>DA\d{3}) \S")
PYPROJECT = """[project]
name = "sample-service"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.13.0", "numpy", "pillow"]

[tool.depaudit]
no-accelerator-targets = ["linux-x86_64", "linux-aarch64"]
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def _pre_commit() -> list[str]:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "pre_commit"]


def _git(*args: str, cwd: Path) -> None:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, timeout=60, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"


def test_manifest_is_valid_for_pre_commit() -> None:
    proc = subprocess.run(
        [*_pre_commit(), "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _selects(hook: dict[str, str], name: str) -> bool:
    """True when pre-commit passes a file called `name` to `hook` (its `files` and `exclude` regexes)."""
    return re.search(hook["files"], name) is not None and not ("exclude" in hook and re.search(hook["exclude"], name))


def test_hooks_pick_the_files_they_can_read() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    docker = hooks["depaudit-dockerfile"]
    assert all(_selects(docker, n) for n in ("Dockerfile", "svc/Dockerfile.prod", "api.Dockerfile"))
    # BuildKit's per-Dockerfile ignore files: not Dockerfiles, and lint cannot parse them
    assert not any(_selects(docker, n) for n in ("Dockerfile.dockerignore", "svc/api.Dockerfile.dockerignore"))
    lock = hooks["depaudit-lock"]
    assert all(_selects(lock, n) for n in ("uv.lock", "a/pylock.toml", "pylock.dev.toml"))
    assert not _selects(lock, "uv.lock.bak")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A project repository with a CUDA lock, a Dockerfile that installs torch from PyPI and a
    requirements file with `-f` pointing at a simple index, all committed."""
    root = tmp_path / "sample"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    shutil.copyfile(CUDA_LOCK, root / "uv.lock")
    shutil.copyfile(FIXTURES / "dockerfiles" / "torch-pypi.Dockerfile", root / "Dockerfile")
    (root / "requirements.txt").write_text("-f https://mirror.example/simple/\nnumpy\n")
    _git("init", "-q", "-b", "main", cwd=root)
    _git("add", ".", cwd=root)
    _git("commit", "-q", "-m", "cuda lock", cwd=root)
    return root


def _try_repo(sample: Path, home: Path, *hooks: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(REPO), *hooks, "--all-files", "--color", "never"],
        cwd=sample,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


@pytest.mark.network
@pytest.mark.slow  # pre-commit builds a virtualenv and pip-installs depaudit into it (~30-60 s)
def test_try_repo_lock_hook_fails_on_cuda_and_passes_on_cpu(sample: Path, tmp_path: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("the hook repository must be a git checkout (pre-commit clones it)")
    home = tmp_path / "pre-commit-home"
    first = _try_repo(sample, home)
    out = first.stdout + first.stderr
    assert first.returncode == 1, out
    lines = [line for line in out.splitlines() if GNU.match(line)]
    lock = [line for line in lines if line.startswith("uv.lock:")]
    assert lock and all(GNU.match(line)["id"] == "DA503" for line in lock), out
    assert any("uv.lock linux-x86_64: no-accelerator: installs accelerator wheels" in line for line in lock)
    docker = [GNU.match(line) for line in lines if line.startswith("Dockerfile:")]
    assert [(m["line"], m["id"]) for m in docker] == [("3", "DA302")], out
    reqs = [GNU.match(line) for line in lines if line.startswith("requirements.txt:")]
    assert [(m["line"], m["id"]) for m in reqs] == [("1", "DA201")], out

    shutil.copyfile(CPU_LOCK, sample / "uv.lock")
    _git("commit", "-q", "-am", "cpu index", cwd=sample)
    second = _try_repo(sample, home, "depaudit-lock")
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"depaudit lock budgets\.+Passed", second.stdout), second.stdout


def _local_config() -> str:
    """The `repo: local` example of docs/ci/README.md (the first yaml block)."""
    text = (REPO / "docs" / "ci" / "README.md").read_text()
    return text.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_documented_local_hook_runs_under_pre_commit(sample: Path, tmp_path: Path) -> None:
    """The `repo: local` hook as documented (`language: system`: depaudit from PATH, so no install and
    no network): valid for pre-commit, fails on the CUDA lock, passes on the CPU one."""
    (sample / ".pre-commit-config.yaml").write_text(_local_config())
    env = {
        **os.environ,
        **GIT_ENV,
        "PRE_COMMIT_HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    check = subprocess.run(
        [*_pre_commit(), "validate-config", ".pre-commit-config.yaml"],
        cwd=sample,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    _git("add", ".pre-commit-config.yaml", cwd=sample)
    run = [*_pre_commit(), "run", "--all-files", "--color", "never"]
    failing = subprocess.run(run, cwd=sample, capture_output=True, text=True, timeout=300, env=env)
    assert failing.returncode == 1 and "depaudit lock budgets" in failing.stdout
    pattern = r"^uv\.lock:\d+: DA503 uv\.lock linux-x86_64: no-accelerator: installs accelerator wheels"
    assert re.search(pattern, failing.stdout, re.M), failing.stdout
    shutil.copyfile(CPU_LOCK, sample / "uv.lock")
    passing = subprocess.run(run, cwd=sample, capture_output=True, text=True, timeout=300, env=env)
    assert passing.returncode == 0 and re.search(r"depaudit lock budgets\.+Passed", passing.stdout), passing.stdout
