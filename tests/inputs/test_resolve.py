"""Requirements files and pyproject.toml without a lock: scanned per target from uv's own resolution.

The oracle is `uv pip compile` run here, independently of depaudit's code path, for the same file and
platform: depaudit's total equals the sum of the wheel sizes uv's answer lists. Indexes are real PEP 503
servers on 127.0.0.1 serving small stand-in wheels (tests/fixers/localindex.py): a "mirror" standing in
for PyPI (torch 2.15.0 that needs nvidia-cublas on Linux) and the CPU index (torch 2.15.0+cpu). The one
`network` test does the same against PyPI with the real CUDA torch 2.8.0 and torchvision 0.23.0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from oracles import UV_PLATFORMS, uv_compile_total

from depaudit.analysis.resolve import ResolveInput, ResolveOptions, resolve_targets
from depaudit.errors import ToolError
from depaudit.process import find_uv
from depaudit.scan import make_targets

from childrun import cli_env, run_depaudit
from fixture_paths import FIXTURES, TESTS

sys.path.insert(0, str(TESTS / "fixers"))
from localindex import torch_indexes

TARGETS = tuple(UV_PLATFORMS)


@pytest.fixture
def indexes(tmp_path: Path):
    (tmp_path / "indexes").mkdir()
    with torch_indexes(tmp_path / "indexes") as urls:
        yield urls


def _scan_json(path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict | None, str]:
    result = run_depaudit("scan", str(path), "--format", "json", *args, timeout=300, env=env)
    out = result.stdout
    return result.returncode, json.loads(out) if out.strip() else None, result.stderr


def _by_target(doc: dict) -> dict[str, dict]:
    return {t["target"]: t for t in doc["targets"]}


def test_requirements_totals_equal_uv_pip_compile(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    requirements = tmp_path / "project" / "requirements.txt"
    requirements.parent.mkdir()
    requirements.write_text(f"--index-url {mirror}\ntorch==2.15.0  # the model\n")
    code, doc, err = _scan_json(requirements, "--allow-host", "127.0.0.1")
    assert code == 0, err
    assert doc["input"]["kind"] == "requirements" and doc["input"]["resolved"]["by"].startswith("uv ")
    for name, target in _by_target(doc).items():
        total, names = uv_compile_total(requirements, name, ("--index-strategy", "unsafe-best-match"))
        assert target["installable"] is True
        assert target["total_bytes"] == total > 0, name
        assert {p["name"] for p in target["packages"]} == names
        assert (target["accelerator_bytes"] > 0) == name.startswith("linux"), name  # the stand-in cublas


def test_fix_to_the_cpu_index_then_scan_shows_the_saving(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    requirements = tmp_path / "project" / "requirements.txt"
    requirements.parent.mkdir()
    requirements.write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    budget = ("--allow-host", "127.0.0.1", "--target", "linux-x86_64", "--max-accelerator", "0")
    code, before, err = _scan_json(requirements, *budget)
    assert code == 1 and "accelerator" in err  # the gate fails on the CUDA build
    fixed = run_depaudit("fix", str(requirements), "--cpu-index-url", cpu, timeout=120)
    assert fixed.returncode == 0, fixed.stderr
    assert "torch==2.15.0+cpu" in requirements.read_text()
    code, after, err = _scan_json(requirements, *budget)
    assert code == 0, err  # and passes on the CPU build
    was, now = _by_target(before)["linux-x86_64"], _by_target(after)["linux-x86_64"]
    assert now["accelerator_bytes"] == 0 < was["accelerator_bytes"]
    assert now["total_bytes"] < was["total_bytes"]
    total, _ = uv_compile_total(requirements, "linux-x86_64", ("--index-strategy", "unsafe-best-match"))
    assert now["total_bytes"] == total
    assert {p["name"]: p["version"] for p in now["packages"]} == {"torch": "2.15.0+cpu"}


def test_a_target_without_a_solution_is_not_installable_and_its_budget_unknown(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--index-url {mirror}\ntorch==9.9.9\n")
    code, doc, err = _scan_json(requirements, "--allow-host", "127.0.0.1", "--max-download", "10GB")
    assert code == 1
    for target in doc["targets"]:
        assert target["supported"] is False and target["installable"] is False
        assert target["total_bytes"] is None and "torch==9.9.9" in target["reason"]
        assert "\n" not in target["reason"]
    assert err.count("cannot verify") == 4 and "not installable" in err


def test_pyproject_without_lock_honours_tool_uv_indexes_and_sources(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0.1"\nrequires-python = ">=3.11"\ndependencies = ["torch==2.15.0"]\n\n'
        f'[[tool.uv.index]]\nname = "mirror"\nurl = "{mirror}"\ndefault = true\n\n'
        f'[[tool.uv.index]]\nname = "cpu"\nurl = "{cpu}"\nexplicit = true\n\n'
        '[tool.uv.sources]\ntorch = { index = "cpu" }\n'
    )
    code, doc, err = _scan_json(project, "--allow-host", "127.0.0.1")  # the folder: no lock, so the pyproject
    assert code == 0, err
    assert doc["input"]["kind"] == "pyproject"
    for name, target in _by_target(doc).items():
        total, names = uv_compile_total(project / "pyproject.toml", name)
        assert target["total_bytes"] == total and {p["name"] for p in target["packages"]} == names
        assert target["accelerator_bytes"] == 0 and target["packages"][0]["version"] == "2.15.0+cpu"


def test_a_loopback_index_needs_the_command_line(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    code, doc, err = _scan_json(requirements)
    assert code == 3 and doc is None
    lines = [line for line in err.splitlines() if line.startswith("depaudit: error")]
    assert len(lines) == 1 and "loopback" in lines[0] and "--allow-host 127.0.0.1" in lines[0], err


def test_an_include_outside_the_project_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("torch==2.15.0\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("-r ../secret.txt\n")
    code, _, err = _scan_json(project / "requirements.txt")
    lines = [line for line in err.splitlines() if line.startswith("depaudit: error")]
    assert code == 3 and len(lines) == 1 and "outside" in lines[0] and "Traceback" not in err


def test_offline_without_a_cached_resolution_is_one_line_exit_4(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    env = cli_env(UV_CACHE_DIR=str(tmp_path / "empty-uv-cache"), DEPAUDIT_CACHE_DIR=str(tmp_path / "c"))
    code, doc, err = _scan_json(requirements, "--offline", "--allow-host", "127.0.0.1", env=env)
    lines = [line for line in err.splitlines() if line.startswith("depaudit: error")]
    assert code == 4 and doc is None and len(lines) == 1, err
    assert "needs the package index" in lines[0] and "offline" in lines[0]


def test_a_cached_resolution_runs_no_uv(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    source = ResolveInput("requirements", requirements, tmp_path)
    targets = make_targets(("linux-x86_64", "windows-amd64"), "3.11")
    options = ResolveOptions(tuple(find_uv()), tmp_path / "cache", allow_hosts=("127.0.0.1",), today="2026-12-07")
    first = resolve_targets(source, targets, options, "uv 0.13")
    broken = ResolveOptions(("false",), tmp_path / "cache", allow_hosts=("127.0.0.1",), today="2026-12-07")
    again = resolve_targets(source, targets, broken, "uv 0.13")  # `false` would fail: the cache answers
    assert [r.cached for r in again] == [True, True] and [r.cached for r in first] == [False, False]
    assert [r.lock.packages for r in again] == [r.lock.packages for r in first]  # type: ignore[union-attr]
    tomorrow = ResolveOptions(("false",), tmp_path / "cache", allow_hosts=("127.0.0.1",), today="2026-12-08")
    with pytest.raises(ToolError, match="uv could not resolve it"):  # a new day is a new resolution: uv runs
        resolve_targets(source, targets, tomorrow, "uv 0.13")


def test_exclude_newer_is_said_and_reproducible(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    code, doc, err = _scan_json(
        requirements, "--allow-host", "127.0.0.1", "--exclude-newer", "2099-01-01", "-t", "linux"
    )
    assert code == 0, err
    assert doc["input"]["resolved"]["exclude_newer"] == "2099-01-01"
    table = run_depaudit("scan", str(requirements), "--allow-host", "127.0.0.1", "-t", "linux", timeout=120)
    assert "a fresh resolution as of" in table.stdout and "--exclude-newer DATE" in table.stdout
    bad = run_depaudit("scan", str(requirements), "--exclude-newer", "last tuesday", timeout=60)
    assert bad.returncode == 2


@pytest.mark.network
def test_real_cuda_torch_requirements_equal_uv_pip_compile(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"  # a copy: the repository's own [tool.depaudit] stays out
    requirements.write_text((FIXTURES / "inputs" / "requirements" / "torch-cuda.txt").read_text())
    code, doc, err = _scan_json(requirements)
    assert code == 0, err
    for name, target in _by_target(doc).items():
        total, names = uv_compile_total(requirements, name, ("--index-strategy", "unsafe-best-match"))
        assert target["total_bytes"] == total and {p["name"] for p in target["packages"]} == names, name
    linux = _by_target(doc)["linux-x86_64"]
    assert linux["accelerator_bytes"] > 3_000_000_000  # torch 2.8.0's CUDA 12 wheels on Linux x86_64


def test_an_include_elsewhere_in_the_working_folder_is_read(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    project = tmp_path / "project"
    (project / "requirements").mkdir(parents=True)
    (project / "base.txt").write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    (project / "requirements" / "prod.txt").write_text("-r ../base.txt\n")
    result = run_depaudit(
        "scan",
        "requirements/prod.txt",
        "--format",
        "json",
        "--allow-host",
        "127.0.0.1",
        "-t",
        "linux",
        cwd=project,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert {p["name"] for p in json.loads(result.stdout)["targets"][0]["packages"]} == {"torch", "nvidia-cublas"}


def test_without_uv_one_line_says_how_to_get_it(tmp_path: Path, monkeypatch, capsys) -> None:
    """No uv anywhere cannot be arranged on a machine whose dev environment installs it: PATH, the `uv`
    module and `python -m uv` are hidden here (the one fake in this file, and it says so)."""
    import shutil as shutil_module

    from depaudit import process
    from depaudit.cli import main

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six\n")
    monkeypatch.setattr(shutil_module, "which", lambda name, *a, **k: None)
    monkeypatch.setitem(sys.modules, "uv", None)
    real = process.run_tool
    monkeypatch.setattr(
        process,
        "run_tool",
        lambda argv, **kw: real(["false"], **{**kw, "check": False}) if "-m" in argv else real(argv, **kw),
    )
    with pytest.raises(SystemExit) as code:
        main(["scan", str(requirements), "--format", "json"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert code.value.code == 4 and len(lines) == 1, err
    assert "pip install 'depaudit[uv]'" in lines[0] and "a requirements file" in lines[0]
