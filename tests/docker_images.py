"""Building images in the Docker tests: the legacy builder, `--network host`, the stand-in base as
BASE_IMAGE, and the ids of every stage made (for removal)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from depaudit.images import engine
from reference_service.bench.build import remove_images, stage_images

REPO = Path(__file__).resolve().parents[1]
BASE_IMAGE = os.environ.get("DEPAUDIT_BASE_IMAGE", "depaudit/python:3.11-slim")


def build_image(dockerfile: Path, context: Path, tag: str, build_args: dict[str, str] | None = None) -> list[str]:
    """`docker build` (legacy builder, --network host); returns the ids of the stages it made (the tagged
    final one last) for removal. Fails the test with the log's tail when the build fails."""
    argv = [engine.docker_command(), "build", "--force-rm", "--network", "host", "-f", str(dockerfile), "-t", tag]
    for name, value in {"BASE_IMAGE": BASE_IMAGE, **(build_args or {})}.items():
        argv += ["--build-arg", f"{name}={value}"]
    done = subprocess.run(
        [*argv, str(context)], capture_output=True, text=True, timeout=1800, env=dict(os.environ, DOCKER_BUILDKIT="0")
    )
    made = stage_images(done.stdout)
    if done.returncode != 0:
        remove_images(made)
        pytest.fail(f"docker build of {dockerfile} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return made
