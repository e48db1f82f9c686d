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
from localindex import LocalIndex, build_wheel, write_simple_index

from depaudit.cli import main


def _pip_download(requirements: Path, dest: Path, main_index: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": main_index,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }
    env.pop("PIP_FIND_LINKS", None)
    env.pop("PIP_CONSTRAINT", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--retries",
            "0",
            "--timeout",
            "5",
            "-d",
            str(dest),
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


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
    assert requirements.read_text() == (
        f"# service\n--extra-index-url {cpu_url}\n"
        'torch==2.8.0+cpu; sys_platform != "darwin"  # model\ntorch==2.8.0; sys_platform == "darwin"\n'
    )

    fixed = _pip_download(requirements, tmp_path / "fixed", main_url)
    assert fixed.returncode == 0, fixed.stderr
    assert [p.name for p in (tmp_path / "fixed").iterdir()] == ["torch-2.8.0+cpu-py3-none-any.whl"]


# --- direct references, spelling variants, conflicts (planning; the pip check above covers installs) ---

from depaudit.errors import FixRefused  # noqa: E402
from depaudit.fixers.requirements import plan_requirements_text  # noqa: E402

CPU = "https://download.pytorch.org/whl/cpu"
CU121_WHEEL = "https://download.pytorch.org/whl/cu121/torch-2.1.0%2Bcu121-cp311-cp311-linux_x86_64.whl"


@pytest.mark.parametrize(
    "line, fixed",
    [
        ("Torch == 2.4.0\n", 'Torch==2.4.0+cpu; sys_platform != "darwin"\nTorch==2.4.0; sys_platform == "darwin"\n'),
        ("torch==2.1.0 ; sys_platform == 'linux'  # model\n", "torch==2.1.0+cpu ; sys_platform == 'linux'  # model\n"),
        ("TORCH===2.1.0\n", None),  # arbitrary equality: not an == pin, reported as unpinned
        (
            "torchvision==0.16.0+cu121 ; platform_system != 'Darwin'\n",
            "torchvision==0.16.0+cpu ; platform_system != 'Darwin'\n",
        ),
        (
            "torchvision==0.16.0+cu121\n",
            'torchvision==0.16.0+cpu; sys_platform != "darwin"\ntorchvision==0.16.0; sys_platform == "darwin"\n',
        ),
        (f"torch @ {CU121_WHEEL} ; sys_platform == 'linux'\n", "torch==2.1.0+cpu ; sys_platform == 'linux'\n"),
        (f"{CU121_WHEEL}\n", 'torch==2.1.0+cpu; sys_platform != "darwin"\ntorch==2.1.0; sys_platform == "darwin"\n'),
        (
            "torch @ https://files.pythonhosted.org/packages/x/torch-2.4.0-cp311-cp311-manylinux1_x86_64.whl"
            " ; sys_platform == 'linux'\n",
            "torch==2.4.0+cpu ; sys_platform == 'linux'\n",
        ),
    ],
)
def test_pins_in_every_spelling_are_rewritten_or_reported(line: str, fixed: str | None) -> None:
    edit = plan_requirements_text(f"numpy==2.1.0\n{line}", "requirements.txt", index_url=CPU)
    if fixed is None:
        assert f"numpy==2.1.0\n{line}" in edit.after and any("not pinned" in s for s in edit.summary)
        return
    assert edit.after == f"--extra-index-url {CPU}\nnumpy==2.1.0\n{fixed}"
    assert not plan_requirements_text(edit.after, "requirements.txt", index_url=CPU).changed


def test_every_reported_pin_is_in_the_file() -> None:
    edit = plan_requirements_text("Torch == 2.4.0\ntorchaudio ==2.4.0\n", "r.txt", index_url=CPU)
    for note in edit.summary:
        match = __import__("re").search(r"pin (\S+)==(\S+) ", note)
        if match:
            assert f"{match.group(2)}" in edit.after


def test_conflicting_pins_are_refused_naming_both_lines() -> None:
    text = f"torch @ {CU121_WHEEL}\nnumpy\ntorch==2.1.0\n"
    with pytest.raises(
        FixRefused,
        match=r"requirements.txt:3: torch is required twice, on line 1 \(torch @ "
        r"https://download.pytorch.org/whl/cu121/.*\) and line 3 \(torch==2.1.0\)",
    ):
        plan_requirements_text(text, "requirements.txt", index_url=CPU)


def test_pins_under_different_markers_are_not_a_conflict() -> None:
    text = "torch==2.1.0 ; sys_platform == 'linux'\ntorch==2.1.0 ; sys_platform == 'win32'\n"
    edit = plan_requirements_text(text, "requirements.txt", index_url=CPU)
    assert edit.after.count("==2.1.0+cpu") == 2


def test_source_builds_are_left_alone_and_said() -> None:
    edit = plan_requirements_text("git+https://github.com/pytorch/pytorch@v2.4.0#egg=torch\n", "r.txt", index_url=CPU)
    assert "git+https://github.com/pytorch/pytorch@v2.4.0#egg=torch\n" in edit.after
    assert any("not a wheel): left as it is" in s for s in edit.summary)


def test_crlf_and_bom_requirements_keep_their_style() -> None:
    text = "\ufeff# api\r\ntorch==2.4.0 ; sys_platform == 'linux'\r\ntorchvision==0.19.0\r\n"
    edit = plan_requirements_text(text, "r.txt", index_url=CPU)
    assert edit.after == (
        f"\ufeff# api\r\n--extra-index-url {CPU}\r\ntorch==2.4.0+cpu ; sys_platform == 'linux'\r\n"
        'torchvision==0.19.0+cpu; sys_platform != "darwin"\r\ntorchvision==0.19.0; sys_platform == "darwin"\r\n'
    )


def test_conflict_through_the_cli_is_exit_5_and_untouched(tmp_path: Path) -> None:
    from childrun import run_depaudit

    path = tmp_path / "requirements.txt"
    text = f"torch @ {CU121_WHEEL}\ntorch==2.1.0\n"
    path.write_text(text)
    result = run_depaudit("fix", str(path))
    assert result.returncode == 5 and "required twice" in result.stderr and path.read_text() == text
