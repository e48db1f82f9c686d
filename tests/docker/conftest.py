"""Images the Docker tests share, built once per session on the stand-in base and removed afterwards:
`stand_in_base` (built by docker/base/build-base.sh when absent) and `ort_image` (the ONNX Runtime
reference image); tests/docker_images.py builds them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from depaudit.images import engine
from reference_service.bench.build import remove_images

from docker_images import BASE_IMAGE, REPO, build_image


@pytest.fixture(scope="session")
def stand_in_base() -> str:
    if not engine.image_exists(BASE_IMAGE):
        if os.geteuid() != 0 or not (shutil.which("debootstrap") or shutil.which("apt-get")):
            pytest.skip(f"{BASE_IMAGE} absent and it cannot be built here (needs root and debootstrap or apt-get)")
        subprocess.run(["bash", str(REPO / "docker" / "base" / "build-base.sh")], check=True, timeout=900)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def ort_image(stand_in_base: str) -> Iterator[str]:
    tag = f"depaudit-test/gmnet-onnxruntime:{os.getpid()}"
    made = build_image(REPO / "docker" / "Dockerfile.onnxruntime", REPO, tag)
    try:
        yield tag
    finally:
        remove_images([*made[:-1], tag])
