"""A Dockerfile's RUN lines resolved for the image's platform and Python: per line, what it installs
(against `uv pip compile` of the same requirements as the oracle) and what the same line installs with
the CPU index added. Indexes are local stand-ins on 127.0.0.1 (tests/fixers/localindex.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from oracles import uv_compile_total

from depaudit.analysis.docker_resolve import image_platform, image_python, resolve_dockerfile
from depaudit.analysis.resolve import ResolveOptions
from depaudit.process import find_uv
from depaudit.sources.dockerfile import parse_dockerfile

from childrun import run_depaudit
from fixture_paths import FIXTURES, TESTS

sys.path.insert(0, str(TESTS / "fixers"))
from localindex import torch_indexes


@pytest.fixture
def indexes(tmp_path: Path):
    (tmp_path / "indexes").mkdir()
    with torch_indexes(tmp_path / "indexes") as urls:
        yield urls


def _context(tmp_path: Path, dockerfile: str, **files: str) -> Path:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (context / name.replace("__", ".")).write_text(text)
    return context


def test_platform_and_python_come_from_the_dockerfile() -> None:
    df = parse_dockerfile("FROM --platform=linux/arm64 python:3.12-slim AS app\nRUN pip install six\n")
    assert image_platform(df) == "linux-aarch64" and image_python(df) == "3.12"
    plain = parse_dockerfile("FROM debian:bookworm\nRUN pip install six\n")
    assert image_platform(plain) == "linux-x86_64" and image_python(plain) is None


def test_each_run_line_against_uv_and_the_cpu_index(tmp_path: Path, indexes) -> None:
    mirror, cpu = indexes
    context = _context(
        tmp_path,
        "FROM python:3.12-slim AS build\nRUN pip install six\n"  # a stage that does not ship
        "FROM python:3.12-slim\nCOPY requirements.txt /app/\n"
        f"RUN pip install --index-url {mirror} -r /app/requirements.txt\n"
        "RUN apt-get update && apt-get install -y curl\n",
        requirements__txt="torch==2.15.0\n",
    )
    result = run_depaudit(
        "scan",
        str(context / "Dockerfile"),
        "--format",
        "json",
        "--allow-host",
        "127.0.0.1",
        "--cpu-index-url",
        cpu,
        "--max-accelerator",
        "0",
        timeout=300,
    )
    assert result.returncode == 1, result.stderr  # the accelerator budget: the CUDA build installs
    doc = json.loads(result.stdout)
    assert doc["input"]["kind"] == "dockerfile"
    (run,) = doc["runs"]  # only the shipped stage's install; apt is not a Python install
    assert run["line"] == 5 and run["target"] == "linux-x86_64"
    oracle = tmp_path / "oracle.txt"
    oracle.write_text(f"--index-url {mirror}\ntorch==2.15.0\n")
    total, names = uv_compile_total(oracle, "linux-x86_64", ("--index-strategy", "unsafe-best-match"), python="3.12")
    assert run["download_bytes"] == total and run["packages"] == len(names) == 2
    assert 0 < run["accelerator_bytes"] < run["download_bytes"]
    assert run["installed_bytes"] is None  # a plain-http index: no range requests there, unknown (never 0)
    cpu_oracle = tmp_path / "cpu.txt"
    cpu_oracle.write_text(f"--index-url {mirror}\n--extra-index-url {cpu}\ntorch==2.15.0\n")
    cpu_total, cpu_names = uv_compile_total(
        cpu_oracle, "linux-x86_64", ("--index-strategy", "unsafe-best-match"), python="3.12"
    )
    assert run["cpu_index"] == {"download_bytes": cpu_total, "accelerator_bytes": 0, "problem": None}
    assert cpu_names == {"torch"} and cpu_total < total
    assert doc["targets"][0]["python"] == "3.12" and doc["targets"][0]["total_bytes"] == total


def test_files_outside_the_context_are_never_read(tmp_path: Path, indexes) -> None:
    mirror, _ = indexes
    (tmp_path / "secret.txt").write_text("torch==2.15.0\n")
    context = _context(
        tmp_path,
        f"FROM python:3.11-slim\nRUN pip install --index-url {mirror} -r /secret.txt -r ../secret.txt\n",
    )
    (context / "link.txt").symlink_to(tmp_path / "secret.txt")
    (context / "Dockerfile").write_text(
        (context / "Dockerfile").read_text() + f"COPY link.txt /\nRUN pip install --index-url {mirror} -r /link.txt\n"
    )
    options = ResolveOptions(tuple(find_uv()), tmp_path / "cache", allow_hosts=("127.0.0.1",))
    runs = resolve_dockerfile(context / "Dockerfile", context, options)
    assert [r.run.line for r in runs] == [2, 4]
    assert all(r.installs is None and "not in the build context" in (r.problem or "") for r in runs)


def test_a_poetry_install_line_reads_the_lock_in_the_context(tmp_path: Path) -> None:
    context = tmp_path / "context"
    shutil.copytree(FIXTURES / "inputs" / "poetry-cuda", context)
    (context / "Dockerfile").write_text(
        "FROM python:3.11-slim\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --only main\n"
    )
    cache = tmp_path / "cache"
    shutil.copytree(FIXTURES / "inputs" / "index-files-cache", cache)
    options = ResolveOptions(tuple(find_uv()), cache, offline=True)
    runs = resolve_dockerfile(context / "Dockerfile", context, options)
    poetry = [r for r in runs if r.run.tool == "poetry"]
    assert len(poetry) == 1 and poetry[0].installs is not None and poetry[0].installs.lock is not None
    from depaudit.model import Resolved
    from depaudit.scan import scan_dockerfile

    report = scan_dockerfile(
        poetry, label="Dockerfile", resolved=Resolved("dockerfile", "uv", "2026-12-07"), offline=True, cache_dir=cache
    )
    (run,) = report.runs
    assert run.packages == 26 and run.accelerator is not None and run.accelerator > 3_000_000_000


@pytest.mark.network
def test_lint_sizes_makes_da302_quote_what_the_line_installs(tmp_path: Path) -> None:
    context = _context(tmp_path, "FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.8.0\n")
    plain = run_depaudit("lint", str(context / "Dockerfile"), "--select", "DA302", "--format", "gnu", timeout=60)
    measured = run_depaudit(
        "lint", str(context / "Dockerfile"), "--select", "DA302", "--format", "gnu", "--sizes", timeout=300
    )
    assert plain.returncode == measured.returncode == 1
    assert "this line downloads" not in plain.stdout
    (line,) = measured.stdout.splitlines()
    assert ":2: DA302" in line and "this line downloads 3.9 GB on linux-x86_64, 100% accelerator" in line
