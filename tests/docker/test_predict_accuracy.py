"""`image predict` and `image scan` against real builds on a real engine.

Every Dockerfile of issue 20 is predicted, then built, and the prediction must be within 5 % of the size
the engine reports: the three real-world-style fixtures (tests/fixtures/images), the ONNX Runtime, torch
CPU and tinygrad reference images. The torch-cuda reference (5 GB, minutes to build) runs only with
DEPAUDIT_TEST_CUDA_IMAGE=1; benchmarks/image_predict.py measures it for reports/image_predict.md.
`image scan` is checked against `du` inside the container (per package, 1 %) and against an image whose
wasted bytes are known by construction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from depaudit.images import engine
from depaudit.images.lookups import PredictOptions, predict_dockerfile
from depaudit.images.scanimage import scan_image
from reference_service.bench.build import remove_images
from reference_service.bench.wheel_index import serve_wheel_index

from docker_images import REPO, build_image

pytestmark = pytest.mark.docker

FIXTURES = REPO / "tests" / "fixtures" / "images"
TOLERANCE = 0.05
WHEELS = Path("/opt/wheels")


def _size(tag: str) -> int:
    return int(engine.run_docker(["image", "inspect", "--format", "{{.Size}}", tag], timeout=60))


def _predict(dockerfile: Path, context: Path, build_args: dict[str, str] | None = None, **options: object) -> object:
    return predict_dockerfile(dockerfile, context=context, build_args=build_args, options=PredictOptions(**options))  # type: ignore[arg-type]


def _check(name: str, prediction, built: int) -> None:
    error = (prediction.size - built) / built
    print(f"{name}: predicted {prediction.size:,} built {built:,} error {error:+.3%}")
    assert prediction.complete, prediction.unknowns
    assert abs(error) <= TOLERANCE, f"{name}: predicted {prediction.size:,}, built {built:,} ({error:+.2%})"


@pytest.fixture(scope="module")
def fixture_images(stand_in_base: str) -> Iterator[dict[str, str]]:
    """The three fixtures, built once for this module."""
    built: dict[str, str] = {}
    made: list[str] = []
    try:
        for name in ("multistage-venv", "apt-pip-cache", "uv-sync"):
            tag = f"depaudit-test/{name}:{os.getpid()}"
            made += build_image(FIXTURES / name / "Dockerfile", FIXTURES / name, tag)
            built[name] = tag
        yield built
    finally:
        remove_images([*made[::-1], *built.values()])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["multistage-venv", "apt-pip-cache", "uv-sync"])
def test_real_world_fixtures_are_predicted_within_5_percent(name, fixture_images, stand_in_base):
    prediction = _predict(FIXTURES / name / "Dockerfile", FIXTURES / name, {"BASE_IMAGE": stand_in_base})
    _check(name, prediction, _size(fixture_images[name]))


def test_the_onnxruntime_reference_is_predicted_and_carries_no_accelerator(ort_image, stand_in_base):
    prediction = _predict(REPO / "docker/Dockerfile.onnxruntime", REPO, {"BASE_IMAGE": stand_in_base})
    _check("onnxruntime", prediction, _size(ort_image))
    contents = scan_image(ort_image)
    assert contents.size == _size(ort_image)
    assert contents.accelerator_bytes == 0 and contents.accelerator_files == () and prediction.accelerator_bytes == 0


@pytest.mark.slow
def test_the_tinygrad_reference_with_clang_from_apt(stand_in_base):
    tag = f"depaudit-test/gmnet-tinygrad:{os.getpid()}"
    made = build_image(REPO / "docker/Dockerfile.tinygrad", REPO, tag)
    try:
        prediction = _predict(REPO / "docker/Dockerfile.tinygrad", REPO, {"BASE_IMAGE": stand_in_base})
        _check("tinygrad", prediction, _size(tag))
    finally:
        remove_images([*made[:-1], tag])


@pytest.mark.slow
@pytest.mark.skipif(not list(WHEELS.glob("torch-*+cpu-*.whl")), reason=f"no torch +cpu wheel in {WHEELS}")
def test_the_torch_cpu_reference_from_a_local_cpu_index(stand_in_base):
    tag = f"depaudit-test/gmnet-torch-cpu:{os.getpid()}"
    with serve_wheel_index([WHEELS]) as url:
        args = {"BASE_IMAGE": stand_in_base, "TORCH_INDEX_URL": url}
        made = build_image(REPO / "docker/Dockerfile.torch-cpu", REPO, tag, args)
        try:
            prediction = _predict(
                REPO / "docker/Dockerfile.torch-cpu", REPO, args, wheel_dirs=(WHEELS,), allow_hosts=("127.0.0.1",)
            )
            _check("torch-cpu", prediction, _size(tag))
        finally:
            remove_images([*made[:-1], tag])


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("DEPAUDIT_TEST_CUDA_IMAGE") != "1",
    reason="the 5 GB torch-cuda build runs with DEPAUDIT_TEST_CUDA_IMAGE=1 (benchmarks/image_predict.py measures it)",
)
def test_the_torch_cuda_reference_names_its_cuda_by_package_and_file(stand_in_base):
    tag = f"depaudit-test/gmnet-torch-cuda:{os.getpid()}"
    made = build_image(REPO / "docker/Dockerfile.torch-cuda", REPO, tag)
    try:
        prediction = _predict(REPO / "docker/Dockerfile.torch-cuda", REPO, {"BASE_IMAGE": stand_in_base})
        _check("torch-cuda", prediction, _size(tag))
        contents = scan_image(tag, top=40)
        packages = {p.name: p for p in contents.packages}
        assert packages["nvidia-cublas"].accelerator == "nvidia" and packages["triton"].accelerator == "triton"
        assert packages["torch"].accelerator_bytes > 100_000_000  # libtorch_cuda.so inside the torch wheel
        owners = {f.path.rsplit("/", 1)[-1]: f.owner for f in contents.accelerator_files}
        assert owners["libtorch_cuda.so"].startswith("torch==")
        assert contents.accelerator_bytes > 3_000_000_000
        assert abs(prediction.accelerator_bytes - contents.accelerator_bytes) <= 0.01 * contents.accelerator_bytes
    finally:
        remove_images([*made[:-1], tag])


def _du(tag: str, site: str, paths: list[str]) -> int:
    """What `du` measures inside the container: apparent bytes of the files (hard links once)."""
    script = (
        f"cd {site} && find {' '.join(paths)} \\( -type f -o -type l \\) -print0 | du -cb --files0-from=- | tail -1"
    )
    out = engine.run_docker(["run", "--rm", "--user", "0", "--entrypoint", "sh", tag, "-c", script], timeout=120)
    return int(out.split()[0])


@pytest.mark.slow
def test_package_bytes_match_du_inside_the_container(fixture_images):
    tag = fixture_images["apt-pip-cache"]
    contents = scan_image(tag)
    (env,) = [e for e in contents.environments if e.site.startswith("opt/venv")]
    packages = {p.name: p for p in env.packages}
    layout = {
        "scipy": ["scipy", "scipy.libs", "scipy-*.dist-info"],
        "numpy": ["numpy", "numpy.libs", "numpy-*.dist-info"],
        "lightgbm": ["lightgbm", "lightgbm-*.dist-info"],
        "narwhals": ["narwhals", "narwhals-*.dist-info"],
    }
    for name, paths in layout.items():
        measured = _du(tag, "/" + env.site, paths)
        assert abs(packages[name].size - measured) <= 0.01 * measured, (name, packages[name].size, measured)


def test_wasted_bytes_are_right_on_an_image_where_they_are_known(stand_in_base, tmp_path):
    (tmp_path / "blob1").write_bytes(os.urandom(1_000_000))
    (tmp_path / "blob2").write_bytes(os.urandom(300_000))
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"
        "COPY blob1 /data/blob1\nRUN rm /data/blob1\n"  # deleted by a later layer: all of it wasted
        "COPY blob2 /data/blob2\nRUN chmod 600 /data/blob2\n"  # a new copy in a later layer: the first wasted
        "RUN head -c 200000 /dev/zero > /tmp/x && rm /tmp/x\n"  # made and removed in one layer: nothing
    )
    tag = f"depaudit-test/wasted:{os.getpid()}"
    made = build_image(tmp_path / "Dockerfile", tmp_path, tag)
    try:
        contents = scan_image(tag)
        assert contents.wasted == 1_000_000 + 300_000
        assert {(w.path, w.how) for w in contents.wasted_files} == {
            ("data/blob1", "deleted"),
            ("data/blob2", "overwritten"),
        }
        assert contents.size == _size(tag)
        prediction = _predict(tmp_path / "Dockerfile", tmp_path, {"BASE_IMAGE": stand_in_base})
        assert prediction.wasted == 1_300_000 and prediction.size == _size(tag)
        archive = tmp_path / "saved.tar"
        subprocess.run([engine.docker_command(), "save", "-o", str(archive), tag], check=True, timeout=300)
        from_archive = scan_image(str(archive))  # the same image, read with no engine at all
        assert (from_archive.size, from_archive.wasted, from_archive.files) == (
            contents.size,
            contents.wasted,
            contents.files,
        )
        done = subprocess.run(
            [sys.executable, "-m", "depaudit", "image", "scan", str(archive), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, PYTHONPATH=str(REPO), DEPAUDIT_DOCKER=str(tmp_path / "no-docker")),
        )
        assert done.returncode == 0 and json.loads(done.stdout)["wasted_bytes"] == 1_300_000
    finally:
        remove_images([*made[:-1], tag])
