"""Shared test set-up: fixture paths, the pre-filled size cache, a private size cache for the whole run,
and skipping of `network` / `docker` tests with a stated reason when this machine has no PyPI or no
Docker engine."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from childrun import pypi_reachable
from fixture_paths import SIZE_CACHE


def pytest_configure(config):
    # The suite never reads or writes the user's size cache (~/.cache/depaudit): a size a developer's own
    # `depaudit scan` once looked up would turn a test's "unknown size" into a known one (it did: after
    # `scripts/demo` cached torch 2.8's wheels, a gate test expecting an unverifiable budget passed).
    # Child processes inherit it; tests that need another cache set DEPAUDIT_CACHE_DIR themselves.
    os.environ["DEPAUDIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="depaudit-test-cache-")
    # Likewise depaudit's state (the `fix --lock` journals): never the developer's ~/.local/state.
    os.environ["DEPAUDIT_STATE_DIR"] = tempfile.mkdtemp(prefix="depaudit-test-state-")


def pytest_unconfigure(config):
    shutil.rmtree(os.environ.get("DEPAUDIT_CACHE_DIR", ""), ignore_errors=True)
    shutil.rmtree(os.environ.get("DEPAUDIT_STATE_DIR", ""), ignore_errors=True)


@functools.cache
def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def pytest_collection_modifyitems(config, items):
    # Tests marked `run_last` check the machine after everything else ran (e.g. /dev/null intact).
    items[:] = [i for i in items if "run_last" not in i.keywords] + [i for i in items if "run_last" in i.keywords]
    for item in items:
        if "network" in item.keywords and not pypi_reachable():
            item.add_marker(pytest.mark.skip(reason="needs PyPI (pypi.org:443 unreachable from this machine)"))
        if "docker" in item.keywords and not docker_available():
            item.add_marker(
                pytest.mark.skip(reason="needs a Docker engine (`docker info` fails; run docker/engine.sh)")
            )


@pytest.fixture
def size_cache(tmp_path: Path) -> Path:
    """A private copy of the committed size cache (real HEAD answers for fixture wheels lacking `size`)."""
    target = tmp_path / "cache"
    shutil.copytree(SIZE_CACHE, target)
    return target
