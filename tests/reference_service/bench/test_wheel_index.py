"""The local PEP 503 index that serves torch's CPU wheels to the torch-cpu image build, exercised with a
real pip install."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from reference_service.bench.wheel_index import serve_wheel_index


@pytest.fixture(scope="module")
def tiny_wheel(tmp_path_factory) -> Path:
    """A real wheel built by pip from a two-file project (no network: setuptools from this venv)."""
    root = tmp_path_factory.mktemp("wheelproj")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "Depaudit_Probe.Pkg"\nversion = "1.0+cpu"\n'
    )
    (root / "depaudit_probe_pkg.py").write_text("VALUE = 42\n")
    out = root / "dist"
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(root)],
        check=True,
        env=env,
        timeout=120,
    )
    return out


def test_local_index_serves_a_wheel_pip_installs(tiny_wheel, tmp_path):
    with serve_wheel_index([tiny_wheel]) as url:
        assert url.startswith("http://127.0.0.1:")
        page = urllib.request.urlopen(url + "/depaudit-probe-pkg/", timeout=10).read().decode()
        assert "%2Bcpu" in page  # the local version's '+' is escaped in the link
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "/numpy/", timeout=10)
        env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--index-url",
                url,
                "--target",
                str(tmp_path / "site"),
                "depaudit_probe.pkg==1.0+cpu",
            ],
            check=True,
            env=env,
            timeout=120,
        )
    assert (tmp_path / "site" / "depaudit_probe_pkg.py").read_text() == "VALUE = 42\n"
