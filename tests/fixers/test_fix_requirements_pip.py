"""The pip form of the fix, checked with real pip against a PEP 503 index on 127.0.0.1.

Shows both halves of DA201: `-f <index root>` finds no wheel (pip cannot read an index as a links page),
and after `depaudit fix` the rewritten file (`--extra-index-url` + a `+cpu` pin) gets the CPU wheel.
pip runs with no config (PIP_CONFIG_FILE=/dev/null) and an empty local index as its main index, so
the CPU index named in the requirements file is the only place the wheel can come from. No network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.cli import main
from localindex import LocalIndex, build_wheel, write_simple_index


def _pip_download(requirements: Path, dest: Path, main_index: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": main_index,
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    env.pop("PIP_FIND_LINKS", None)
    env.pop("PIP_CONSTRAINT", None)
    return subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "0",
                           "--timeout", "5", "-d", str(dest), "-r", str(requirements)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def indexes(tmp_path: Path):
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    write_simple_index(cpu, [build_wheel(cpu, "torch", "2.8.0+cpu")])
    empty = tmp_path / "empty" / "simple"
    empty.mkdir(parents=True)
    (empty / "index.html").write_text("<!DOCTYPE html><html><body></body></html>\n")
    with LocalIndex(cpu) as cpu_index, LocalIndex(tmp_path / "empty") as main_index:
        yield cpu_index.url, main_index.url


def test_find_links_to_index_fails_and_the_fix_works(tmp_path: Path, indexes, capsys) -> None:
    cpu_url, main_url = indexes
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"# service\n-f {cpu_url}\ntorch==2.8.0  # model\n")

    broken = _pip_download(requirements, tmp_path / "broken", main_url)
    assert broken.returncode != 0 and "No matching distribution found for torch==2.8.0" in broken.stderr

    with pytest.raises(SystemExit) as code:
        main(["fix", str(requirements), "--cpu-index-url", cpu_url])
    assert code.value.code == 0
    assert requirements.read_text() == f"# service\n--extra-index-url {cpu_url}\ntorch==2.8.0+cpu  # model\n"

    fixed = _pip_download(requirements, tmp_path / "fixed", main_url)
    assert fixed.returncode == 0, fixed.stderr
    assert [p.name for p in (tmp_path / "fixed").iterdir()] == ["torch-2.8.0+cpu-py3-none-any.whl"]
