"""`depaudit fix` through the real CLI entry point, on copies of fixtures in tmp_path (no network)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from depaudit.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _copy(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / "locks" / name, dest)
    return dest


def test_dry_run_prints_diff_and_writes_nothing(tmp_path: Path, capsys) -> None:
    project = _copy(tmp_path, "transitive-torch")
    before = (project / "pyproject.toml").read_bytes()
    code, out, _ = _run(capsys, "fix", str(project), "--dry-run")
    assert code == 0
    assert out.startswith("--- a/") and '+dependencies = ["sentence-transformers", "httpx", "torch==2.15.0"]' in out
    assert "would change pyproject.toml (dry run)" in out
    assert (project / "pyproject.toml").read_bytes() == before


def test_fix_then_second_run_changes_nothing(tmp_path: Path, capsys) -> None:
    project = _copy(tmp_path, "torch-2.8")
    lock_before = (project / "uv.lock").read_bytes()
    code, out, _ = _run(capsys, "fix", str(project))
    assert code == 0 and "changed pyproject.toml" in out
    data = tomllib.loads((project / "pyproject.toml").read_text())
    assert data["tool"]["uv"]["sources"]["torch"] == {"index": "pytorch-cpu"}
    first = (project / "pyproject.toml").read_bytes()
    code, out, _ = _run(capsys, "fix", str(project))
    # The config is in place, but the lock (not re-locked) still installs CUDA: never "already fixed".
    assert code == 1 and "already fixed" not in out and "uv.lock is stale" in out
    assert "linux-x86_64: torch 2.8.0, nvidia-cublas-cu12" in out
    assert (project / "pyproject.toml").read_bytes() == first
    assert (project / "uv.lock").read_bytes() == lock_before  # no --lock: the lock is not touched


def test_unparseable_pyproject_is_left_untouched(tmp_path: Path, capsys) -> None:
    path = tmp_path / "pyproject.toml"
    text = '[project]\nname = "x"\ndependencies = ["torch",\n[tool.uv]\n'
    path.write_text(text)
    code, _out, err = _run(capsys, "fix", str(path))
    assert code == 3
    assert f"{path}:4:" in err and "Traceback" not in err
    assert path.read_text() == text


def test_cuda_on_purpose_refused_then_forced(tmp_path: Path, capsys) -> None:
    project = tmp_path / "cuda"
    shutil.copytree(FIXTURES / "projects" / "cuda-extras", project)
    before = (project / "pyproject.toml").read_bytes()
    code, _, err = _run(capsys, "fix", str(project))
    assert code == 5 and "asks for CUDA on purpose" in err and "--force" in err  # refused: nothing changed
    assert (project / "pyproject.toml").read_bytes() == before
    code, out, _ = _run(capsys, "fix", str(project), "--force")
    assert code == 0 and "changed pyproject.toml" in out


def test_project_without_torch_says_nothing_to_change(tmp_path: Path, capsys) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["numpy"]\n')
    code, out, _ = _run(capsys, "fix", str(project))
    assert code == 0 and "nothing to change" in out
    assert (project / "pyproject.toml").read_text() == '[project]\nname = "p"\ndependencies = ["numpy"]\n'


def test_requirements_file_pip_form(tmp_path: Path, capsys) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("# api\n-f https://download.pytorch.org/whl/cpu\nnumpy==2.1.0\ntorch==2.8.0  # model\n")
    code, out, _ = _run(capsys, "fix", str(path))
    assert code == 0
    assert path.read_text() == (
        "# api\n--extra-index-url https://download.pytorch.org/whl/cpu\nnumpy==2.1.0\n"
        'torch==2.8.0+cpu; sys_platform != "darwin"  # model\ntorch==2.8.0; sys_platform == "darwin"\n'
    )
    code, out, _ = _run(capsys, "fix", str(path))
    assert code == 0 and "already fixed" in out


def test_requirements_with_hashes_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "requirements.txt"
    text = "torch==2.8.0 \\\n    --hash=sha256:00ff\n"
    path.write_text(text)
    code, _, err = _run(capsys, "fix", str(path))
    assert code == 5 and f"{path}:1:" in err and "--hash" in err
    assert path.read_text() == text


def test_to_onnxruntime_moves_torch_and_lists_imports(tmp_path: Path, capsys) -> None:
    project = tmp_path / "svc"
    shutil.copytree(FIXTURES / "projects" / "comments", project)
    package = project / "hdr_service"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("import numpy as np\nimport torch\nfrom torchvision import transforms\n")
    tests = project / "tests"
    tests.mkdir()
    (tests / "test_model.py").write_text("import torch\n")
    code, out, _ = _run(capsys, "fix", str(project), "--to", "onnxruntime")
    assert code == 0
    data = tomllib.loads((project / "pyproject.toml").read_text())
    assert "onnxruntime" in data["project"]["dependencies"]
    assert data["dependency-groups"]["dev"] == ["torch==2.8.0", "torchvision>=0.23"]
    assert "hdr_service/model.py:2: import torch" in out
    assert "hdr_service/model.py:3: import torchvision" in out
    assert "tests/test_model.py" not in out


def test_json_output(tmp_path: Path, capsys) -> None:
    import json

    project = _copy(tmp_path, "torch-2.8")
    code, out, _ = _run(capsys, "fix", str(project), "--dry-run", "--format", "json")
    payload = json.loads(out)
    assert code == 0 and payload["schema"] == 1 and payload["changed"] is True
    assert '+torch = { index = "pytorch-cpu" }' in payload["diff"]
