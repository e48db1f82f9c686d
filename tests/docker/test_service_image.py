"""End to end on a real Docker engine: the stand-in base, the ONNX Runtime service image, the container
running non-root on a read-only root file system answering a real PNG with the same gain map the ORT
backend computes on the host, the image measured, and `depaudit gate` passing with the real budget and
failing (exit 1, image and layers named) with a lowered one. CI runs `bash docker/engine.sh` first."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from depaudit.images import engine
from reference_service.bench.container import wait_ready
from reference_service.bench.gmnet import sample_png

from childrun import env_without_settings

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = os.environ.get("DEPAUDIT_BASE_IMAGE", "depaudit/python:3.11-slim")
IMAGE_BUDGET = "250MB"  # the ONNX Runtime image's budget (issue 5); CI fails past it


def _docker(*args: str, timeout: float = 600) -> str:
    return engine.run_docker(list(args), timeout=timeout)


@pytest.fixture(scope="module")
def service(ort_image):
    name = f"depaudit-test-ort-{os.getpid()}"
    with engine_container(ort_image, name) as url:
        yield ort_image, name, url


class engine_container:
    """docker run --read-only --tmpfs /tmp on a free 127.0.0.1 port; always removed afterwards."""

    def __init__(self, image: str, name: str) -> None:
        self.image, self.name = image, name

    def __enter__(self) -> str:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        started = time.monotonic()
        _docker(
            "run",
            "-d",
            "--name",
            self.name,
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-p",
            f"127.0.0.1:{port}:8000",
            self.image,
            timeout=120,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, started, 120, self.name)
        except BaseException:
            self.__exit__()
            raise
        return url

    def __exit__(self, *exc) -> None:
        subprocess.run([engine.docker_command(), "rm", "-f", self.name], capture_output=True, timeout=120)


def test_container_is_non_root_read_only_and_healthy(service):
    image, name, _ = service
    assert _docker("image", "inspect", "--format", "{{.Config.User}}", image).strip() == "10001:10001"
    assert _docker("exec", name, "id", "-u").strip() == "10001"
    assert _docker("container", "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name).strip() == "true"
    probe = subprocess.run(
        [engine.docker_command(), "exec", name, "sh", "-c", "touch /app/x"], capture_output=True, text=True, timeout=60
    )
    assert probe.returncode != 0 and "Read-only file system" in probe.stderr
    deadline = time.monotonic() + 60  # HEALTHCHECK runs every 10 s
    status = ""
    while time.monotonic() < deadline:
        status = _docker("container", "inspect", "--format", "{{.State.Health.Status}}", name).strip()
        if status == "healthy":
            break
        time.sleep(2)
    assert status == "healthy"


def test_gain_map_matches_the_ort_backend_on_the_host(service):
    from PIL import Image

    from reference_service.backends import load_backend
    from reference_service.imaging import decode_image, encode_gain_map
    from reference_service.server import make_predict

    _, _, url = service
    png = sample_png(256, 192, seed=11)
    request = urllib.request.Request(
        url + "/v1/gainmap", data=png, method="POST", headers={"Content-Type": "image/png"}
    )
    with urllib.request.urlopen(request, timeout=120) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
        body, headers = resp.read(), resp.headers
    served = Image.open(io.BytesIO(body))
    assert served.size == (256, 192) and served.mode.startswith("I")  # 16-bit grayscale, the input's size
    gain, qmax = make_predict(load_backend("onnxruntime"))(decode_image(png, 2048 * 2048))
    # the host's answer put through the same PNG encoding, compared as the service's output
    expected = np.asarray(Image.open(io.BytesIO(encode_gain_map(gain, qmax=qmax))), dtype=np.float64) / 65535
    got = np.asarray(served, dtype=np.float64) / 65535
    mse = float(np.mean((expected - got) ** 2))
    assert mse == 0 or 10 * np.log10(1 / mse) >= 60
    # the float results at full precision (the PNG clips to [0, 1])
    assert float(headers["X-Gainmap-Qmax"]) == pytest.approx(qmax, rel=1e-4)
    spread = max(float(gain.max() - gain.min()), np.finfo(np.float32).tiny)
    assert abs(float(headers["X-Gainmap-Min"]) - float(gain.min())) <= 1e-3 * spread
    assert abs(float(headers["X-Gainmap-Max"]) - float(gain.max())) <= 1e-3 * spread


def test_measure_the_real_image(ort_image):
    from depaudit.images.measure import measure_image

    m = measure_image(ort_image, compressed=True)
    assert m.size == int(_docker("image", "inspect", "--format", "{{.Size}}", ort_image))
    assert 0 < m.compressed_size < m.size
    assert m.accelerator_bytes == 0
    names = [name.split("==")[0] for name, _ in m.python_packages]
    assert "onnxruntime" in names and "numpy" in names and "torch" not in names
    venv_layer = next(layer.size for layer in m.layers if layer.created_by.endswith("in /opt/venv"))
    assert dict(m.extra)["python_packages_bytes"] == pytest.approx(venv_layer, rel=0.02)


def _gate(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = env_without_settings()
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "gate", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_gate_passes_the_real_budget_and_fails_a_lowered_one(ort_image, tmp_path):
    (tmp_path / "pyproject.toml").write_text(f'[tool.depaudit]\nmax-image-size = "{IMAGE_BUDGET}"\n')
    size = int(_docker("image", "inspect", "--format", "{{.Size}}", ort_image))
    ok = _gate([ort_image], tmp_path)
    assert ok.returncode == 0, f"{ort_image} is {size} bytes, over the {IMAGE_BUDGET} budget:\n{ok.stdout}{ok.stderr}"
    assert ok.stdout.startswith(f"PASS    {ort_image}: image-size")
    lowered = _gate([ort_image, "--max-image-size", str(size - 1), "--format", "sarif"], tmp_path)
    assert lowered.returncode == 1
    assert f"{ort_image}: image-size" in lowered.stderr and "exceeds the budget" in lowered.stderr
    (result,) = json.loads(lowered.stdout)["runs"][0]["results"]
    assert result["ruleId"] == "DA504"  # the finding points at the pyproject line that sets the budget
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert "in /opt/venv" in lowered.stderr  # the biggest layers are named as offenders


def _depaudit(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_image_measure_and_compare_cli(ort_image):

    done = _depaudit(["image", "measure", ort_image, "--format", "json", "--no-compressed"])
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["schema"] == 1 and data["images"][0]["image"] == ort_image
    assert data["images"][0]["compressed_size"] is None and data["images"][0]["user"] == "10001:10001"
    compared = _depaudit(["image", "compare", BASE_IMAGE, ort_image, "--format", "markdown", "--no-compressed"])
    assert compared.returncode == 0, compared.stderr
    assert "| onnxruntime | — |" in compared.stdout  # absent before, present after


def test_measuring_a_missing_image_is_exit_4_in_one_line():
    done = _depaudit(["image", "measure", "depaudit-test/does-not-exist:0"])
    assert done.returncode == 4
    assert "depaudit-test/does-not-exist:0" in done.stderr and "Traceback" not in done.stderr


def test_engine_script_is_idempotent_when_the_engine_answers():
    done = subprocess.run(["bash", str(REPO / "docker" / "engine.sh")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "already answering" in done.stderr
