"""End to end: `depaudit fix --to cpu-index --lock` against a real PEP 503 index on 127.0.0.1.

The index holds small stand-in `torch`/`torchvision` `+cpu` wheels built by the test (with the
Requires-Dist of the real CPU torch, so only the CUDA family should disappear). The project is a copy
of the real `transitive-torch` fixture (torch only via sentence-transformers) with comments added;
its other packages resolve from PyPI, hence the `network` marker. Real uv, real HTTP, real files.
"""

from __future__ import annotations

import difflib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from localindex import LocalIndex, build_wheel, write_simple_index

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "transitive-torch"
REPO = Path(__file__).resolve().parents[2]
TORCH_REQUIRES = (
    "filelock",
    "typing-extensions>=4.10.0",
    "sympy>=1.13.3",
    "networkx>=2.5.1",
    "jinja2",
    "fsspec>=0.8.5",
    'setuptools; python_version >= "3.12"',
)
COMMENTED = """# Semantic search service: embeds queries with sentence-transformers
[project]
name = "search-service"
version = "0.1.0"
description = "Semantic search service (fixture: torch only via sentence-transformers)"
requires-python = ">=3.11"
dependencies = [
    "sentence-transformers",  # brings torch
    "httpx",                  # upstream calls
]

# formatting below must survive the fix
[tool.ruff]
line-length = 100  # house style
"""


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(not _pypi_reachable(), reason="PyPI unreachable: uv lock needs the rest of the tree"),
]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "UV_HTTP_RETRIES": "0"}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "search-service"
    dest.mkdir()
    (dest / "pyproject.toml").write_text(COMMENTED)
    shutil.copy(FIXTURE / "uv.lock", dest / "uv.lock")
    return dest


@pytest.fixture
def index(tmp_path: Path):
    root = tmp_path / "index"
    root.mkdir()
    wheels = [
        build_wheel(root, "torch", "2.15.0+cpu", TORCH_REQUIRES),
        build_wheel(root, "torchvision", "0.30.0+cpu", ("torch==2.15.0",)),
    ]
    write_simple_index(root, wheels)
    with LocalIndex(root) as served:
        yield served


def test_fix_lock_against_local_cpu_index(project: Path, index: LocalIndex, tmp_path: Path) -> None:
    index_wheels = {p.name.split("-")[0]: p for p in (tmp_path / "index" / "files").glob("*.whl")}
    from depaudit.scan import scan_lock
    from depaudit.sources.uvlock import load_lock

    before_text = (project / "pyproject.toml").read_text()
    before = scan_lock(project / "uv.lock", targets=["linux-x86_64"], offline=True)
    assert before.targets[0].accelerator_bytes > 1_000_000_000  # the real lock: CUDA 13 family

    result = _run(
        "fix",
        str(project),
        "--to",
        "cpu-index",
        "--cpu-index-url",
        index.url,
        "--lock",
        "--target",
        "linux-x86_64",
        "--offline",
        cwd=project.parent,
    )
    assert result.returncode == 0, result.stderr
    print(result.stdout)

    after_text = (project / "pyproject.toml").read_text()
    # Only what must change: the diff is pure insertion (every original line kept, in order).
    matcher = difflib.SequenceMatcher(None, before_text.splitlines(), after_text.splitlines(), autojunk=False)
    assert {op for op, *_ in matcher.get_opcodes()} == {"equal", "insert"}
    added = [
        line for op, _, _, j1, j2 in matcher.get_opcodes() if op == "insert" for line in after_text.splitlines()[j1:j2]
    ]
    assert '    "torch==2.15.0",' in added
    assert "[[tool.uv.index]]" in added and f'url = "{index.url}"' in added and "explicit = true" in added
    assert 'torch = { index = "pytorch-cpu" }' in added

    lock = load_lock(project / "uv.lock")
    torch = [p for p in lock.packages if p.name == "torch"]
    assert [(p.version, p.source.value) for p in torch] == [("2.15.0+cpu", index.url)]
    # The wheel recorded in the lock is the one built here, with its size (the index answers PEP 691 JSON).
    assert [(w.filename, w.size) for w in torch[0].wheels] == [
        (index_wheels["torch"].name, index_wheels["torch"].stat().st_size)
    ]
    after = scan_lock(project / "uv.lock", targets=["linux-x86_64"], offline=True)
    report = after.targets[0]
    assert report.accelerator_bytes == 0
    assert [p.name for p in report.packages if p.accelerator] == []
    assert not any(p.name.startswith(("nvidia-", "cuda-")) or p.name == "triton" for p in report.packages)
    assert "linux-x86_64" in result.stdout and "removed" in result.stdout
    from depaudit.rules.run_lock import lock_findings
    from depaudit.rules.subjects import LockSubject

    rules = {f.rule for f in lock_findings(LockSubject(lock, after, project / "pyproject.toml"))}
    assert not rules & {"DA101", "DA102", "DA103", "DA104"}, rules

    again = _run("fix", str(project), "--to", "cpu-index", "--cpu-index-url", index.url, cwd=project.parent)
    assert again.returncode == 0 and "already fixed, nothing to change" in again.stdout
    assert (project / "pyproject.toml").read_text() == after_text


def test_failed_relock_restores_both_files_byte_for_byte(project: Path, tmp_path: Path) -> None:
    # A real uv failure: torch pinned to a version only the CPU index would have, and the index URL
    # a closed port on the loopback (connection refused).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before_py = (project / "pyproject.toml").read_bytes()
    before_lock = (project / "uv.lock").read_bytes()
    result = _run(
        "fix",
        str(project),
        "--cpu-index-url",
        f"http://127.0.0.1:{port}/simple",
        "--lock",
        "--offline",
        cwd=project.parent,
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "uv lock failed" in result.stderr
    assert (project / "pyproject.toml").read_bytes() == before_py
    assert (project / "uv.lock").read_bytes() == before_lock
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "uv.lock"]


def test_dry_run_lock_prints_table_and_changes_nothing(project: Path, index: LocalIndex) -> None:
    before_py = (project / "pyproject.toml").read_bytes()
    before_lock = (project / "uv.lock").read_bytes()
    result = _run(
        "fix",
        str(project),
        "--cpu-index-url",
        index.url,
        "--dry-run",
        "--lock",
        "--target",
        "linux-x86_64",
        "--offline",
        "--format",
        "markdown",
        cwd=project.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("```diff\n")
    assert "| linux-x86_64 |" in result.stdout and "-> 0 B |" in result.stdout
    assert (project / "pyproject.toml").read_bytes() == before_py
    assert (project / "uv.lock").read_bytes() == before_lock
