"""The hand-over test runs where torch is not installed: a fresh venv holding only onnxruntime, numpy,
pytest and what they need, taken from this environment's installed distributions (no network, no
pip). The same venv with depaudit's own dependencies shows `depaudit port` exits 4 without torch."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from depaudit.port import build_request, run_port

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples" / "port"
ROOT = HERE.parents[1]
pytestmark = pytest.mark.slow  # builds a venv and exports a model (~15 s)


def _closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions `names` need (extras not taken), by canonical name."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        dist = metadata.distribution(name)
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def _venv_with(target: Path, names: list[str], extra_paths: tuple[Path, ...] = ()) -> Path:
    """A venv at `target` whose site-packages links only the closure of `names`; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True, timeout=120)
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    site, source = Path(purelib), Path(sysconfig.get_paths()["purelib"])
    dists = _closure(names)
    assert "torch" not in dists
    for dist in dists.values():
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            if (source / top).exists() and not (site / top).exists():
                (site / top).symlink_to(source / top)
    (site / "extra_paths.pth").write_text("".join(f"{p}\n" for p in extra_paths))
    return python


@pytest.fixture(scope="module")
def handover(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("handover")
    report = run_port(
        build_request(f"{EXAMPLES}/real_models.py:encoder", ["tokens=1x8x64"], ["tokens:1=sequence"], out)
    )
    assert report.passed
    return out


def test_handover_test_passes_without_torch(handover, tmp_path):
    python = _venv_with(tmp_path / "venv", ["onnxruntime", "numpy", "pytest"])
    no_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True, timeout=60)
    assert no_torch.returncode == 1 and "No module named 'torch'" in no_torch.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(handover)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 passed" in result.stdout  # the verdict check + 9 cases
    runtime = subprocess.run(
        [
            str(python),
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import runtime, numpy as np; "
            "out = runtime.load()(np.zeros((1, 5, 64), np.float32)); print(out[0].shape)",
            str(handover),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert runtime.stdout.strip() == "(1, 5, 64)", runtime.stderr


def test_port_without_torch_exits_4(tmp_path):
    requirements = [
        Requirement(r).name
        for r in metadata.distribution("depaudit").requires or []
        if Requirement(r).marker is None or Requirement(r).marker.evaluate({"extra": ""})
    ]
    python = _venv_with(tmp_path / "venv", ["onnxruntime", "numpy", *requirements], extra_paths=(ROOT,))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(python), "-m", "depaudit", "port", "model.py:Net", "-i", "x=1x3", "--out", "o"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env=env,
    )
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().splitlines() == [
        "depaudit: error: depaudit port needs torch, onnx, onnxscript: pip install 'depaudit[port]' in the "
        "environment that has your torch (torch itself is yours to install)"
    ]
    assert not (tmp_path / "o").exists()
