"""Read once, decide once: one `depaudit scan` reads and parses its pyproject.toml once and its lock
once (the settings, the workspace search, the kind detection, the scan and the rules' pragmas share the
text), and `fix --lock` scans twice
(before and after the re-lock; the verdict reuses the second scan)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

import depaudit.fileio as fileio
import depaudit.sources.tomlparse as tomlparse
from depaudit.cli import main

from fixture_paths import LOCKS


@pytest.fixture
def parses(monkeypatch) -> Counter[str]:
    """How many times each file is parsed as TOML (every TOML read goes through tomlparse._parse)."""
    seen: Counter[str] = Counter()
    real = tomlparse._parse

    def counting(text, path):
        seen[Path(path).name] += 1
        return real(text, path)

    monkeypatch.setattr(tomlparse, "_parse", counting)
    return seen


@pytest.fixture
def reads(monkeypatch) -> Counter[str]:
    """How many times each file is read (every input goes through fileio.read_bytes)."""
    seen: Counter[str] = Counter()
    real = fileio.read_bytes

    def counting(path, *args, **kwargs):
        seen[Path(path).name] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(fileio, "read_bytes", counting)
    return seen


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(args)
    return int(done.value.code or 0)


@pytest.mark.parametrize("named", [False, True], ids=["found", "named"])
@pytest.mark.parametrize("fast", ["1", "0"], ids=["fast-path", "typer"])
def test_a_scan_reads_and_parses_the_pyproject_and_the_lock_once(
    tmp_path, monkeypatch, parses, reads, capsys, fast, named, size_cache
):
    project = tmp_path / "p"
    shutil.copytree(LOCKS / "torch-2.8", project)
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.depaudit]\nmax-download = "100GB"\nignore = ["DA104"]\ndocs-url = "https://x/"\n')
    monkeypatch.setenv("DEPAUDIT_FAST_PATH", fast)
    monkeypatch.chdir(project)
    args = ["--offline", "-f", "json", "--max-accelerator", "100GB", "--select", "DA1,DA2,DA5"]
    lock = [str(project / "uv.lock")] if named else []
    code = _run(["scan", *lock, *args, "--cache-dir", str(size_cache)])
    assert code == 0, capsys.readouterr().err
    assert parses == Counter({"pyproject.toml": 1, "uv.lock": 1})
    assert reads["uv.lock"] == 1 and reads["pyproject.toml"] == 1, reads


def test_fix_lock_scans_twice(tmp_path, monkeypatch):
    """The before/after of `fix --lock` and its verdict: two scans, the verdict reading the second."""
    import depaudit.fixers.pipeline as pipeline
    import depaudit.fixers.verdict as verdict

    scans: list[str] = []
    real = pipeline.scan_lock

    def counting(lock, **options):
        scans.append(Path(str(lock)).name)
        return real(lock, **options)

    monkeypatch.setattr(pipeline, "scan_lock", counting)
    monkeypatch.setattr(verdict, "scan_lock", counting)
    sys_path = str(Path(__file__).resolve().parent.parent / "fixers")
    monkeypatch.syspath_prepend(sys_path)
    from localindex import torch_indexes

    (tmp_path / "idx").mkdir()
    with torch_indexes(tmp_path / "idx") as (mirror, cpu):
        root = tmp_path / "svc"
        root.mkdir()
        (root / "pyproject.toml").write_text(
            f'[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["torch==2.15.0"]\n\n'
            f'[[tool.uv.index]]\nname = "mirror"\nurl = "{mirror}"\ndefault = true\n'
        )
        from depaudit.fixers.pipeline import run_uv_lock

        run_uv_lock(root)
        code = _run(["fix", str(root), "--cpu-index-url", cpu, "--offline", "--lock", "-q"])
    assert code == 0
    assert scans == ["uv.lock", "uv.lock"]
