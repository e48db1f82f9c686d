"""`depaudit fix --to onnxruntime` names the model entry points it can see and prints the `depaudit port`
command for each; the printed command (shapes filled in) ports the model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from depaudit.cli import main
from depaudit.fixers.model_entries import find_model_entries

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL = """import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)

    def forward(self, image):
        return self.conv(image).relu()


class Head(torch.nn.Module):
    def __init__(self, classes):
        super().__init__()

    def forward(self, x, mask):
        return x


def load_model():
    torch.manual_seed(0)
    return Net()


def helper(a):
    return a
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "svc"
    shutil.copytree(FIXTURES / "projects" / "comments", project)
    (project / "hdr_service").mkdir()
    (project / "hdr_service" / "__init__.py").write_text("")
    (project / "hdr_service" / "model.py").write_text(MODEL)
    return project


def _run(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    return exit_info.value.code, capsys.readouterr().out


def test_entries_need_no_arguments(tmp_path):
    project = _project(tmp_path)
    entries = find_model_entries(project, ["hdr_service/model.py"])
    assert [(e.name, e.line, e.inputs) for e in entries] == [("Net", 5, ("image",)), ("load_model", 22, ())]
    assert entries[0].port_command == "depaudit port hdr_service/model.py:Net --input image=SHAPE --out port-out/net"


def test_fix_prints_port_commands_and_json(tmp_path, capsys):
    project = _project(tmp_path)
    code, out = _run(capsys, "fix", str(project), "--to", "onnxruntime", "--dry-run")
    assert code == 0
    assert "models to export and verify with depaudit port" in out
    assert "hdr_service/model.py:5: depaudit port hdr_service/model.py:Net --input image=SHAPE" in out
    assert "Head" not in out  # needs an argument: port could not build it
    code, out = _run(capsys, "fix", str(project), "--to", "onnxruntime", "--dry-run", "--format", "json")
    models = json.loads(out)["models"]
    assert [m["name"] for m in models] == ["Net", "load_model"]
    code, out = _run(capsys, "fix", str(project), "--to", "tinygrad", "--dry-run")
    assert "depaudit port" not in out  # port exports ONNX: only for --to onnxruntime


@pytest.mark.slow  # exports the model and runs it in torch and ONNX Runtime (~5 s)
def test_printed_command_ports_the_model(tmp_path, capsys, monkeypatch):
    project = _project(tmp_path)
    command = find_model_entries(project, ["hdr_service/model.py"])[0].port_command
    monkeypatch.chdir(project)
    args = command.replace("SHAPE", "1x3x16x16").split()[1:]
    code, out = _run(capsys, *args)
    assert code == 0, out
    assert (project / "port-out" / "net" / "test_net_onnx.py").is_file()
