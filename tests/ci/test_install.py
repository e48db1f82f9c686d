"""The install story: `uv build` makes a wheel and an sdist with the right contents, and the wheel
installs into a fresh venv where `depaudit --version` and a scan of the bundled example lock work.

The build needs hatchling. It runs offline when this machine's pip names local `file://` package
indexes (`pip config list`; they hold hatchling); elsewhere it uses the default index. Installing the
wheel needs depaudit's dependencies, and rtoml is on no local index here, so that test is marked
`network`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from childrun import pypi_reachable

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "hdr-service" / "uv.lock"


def local_indexes() -> list[str]:
    """The `file://` package indexes this machine's pip is configured with (index-url, extra-index-url)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60)
    urls = re.findall(r"file://[^\s'\"]+", proc.stdout)
    return [u for u in dict.fromkeys(urls) if Path(u.removeprefix("file://")).is_dir()]


def _uv() -> list[str]:
    from depaudit.fixers.pipeline import find_uv

    return find_uv()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    indexes = local_indexes()
    command = [*_uv(), "build", "--out-dir", str(out)]
    if indexes:
        command += ["--offline", "--default-index", indexes[0], *(a for u in indexes[1:] for a in ("--index", u))]
    elif not pypi_reachable():
        pytest.skip("building needs hatchling: no local package index and PyPI is unreachable")
    proc = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "UV_CACHE_DIR": str(out / ".uv-cache")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_sdist_holds_the_source_and_docs_but_no_fixtures_reports_or_venv(dist: Path) -> None:
    (sdist,) = dist.glob("depaudit-0.1.0.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    tops = {n.split("/")[0] for n in names}
    assert {
        "depaudit",
        "reference_service",
        "docs",
        "examples",
        "README.md",
        "LICENSE",
        "pyproject.toml",
        "PKG-INFO",
    } <= tops
    assert not tops & {".venv", ".git", "tests", "reports", "docker", "benchmarks", ".ci", "dist", "build"}
    assert "depaudit/cli/diff.py" in names and "examples/hdr-service/uv.lock" in names
    assert "docs/rules/DA101.md" in names and "depaudit/sources/gitrev.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_holds_the_packages_and_the_entry_point(dist: Path) -> None:
    (wheel,) = dist.glob("depaudit-0.1.0-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read("depaudit-0.1.0.dist-info/entry_points.txt").decode()
    assert "depaudit = depaudit.cli:main" in entry_points
    assert {n.split("/")[0] for n in names} == {"depaudit", "reference_service", "depaudit-0.1.0.dist-info"}
    assert "depaudit/sources/gitrev.py" in names and not [n for n in names if n.startswith("tests/")]


@pytest.mark.network
@pytest.mark.slow  # a fresh venv and a pip install of depaudit's dependencies (~20-40 s)
def test_wheel_installs_into_a_fresh_venv_and_scans_the_example(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (wheel,) = dist.glob("*.whl")
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--find-links",
            str(dist),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    depaudit = venv / "bin" / "depaudit"
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    version = subprocess.run(
        [str(depaudit), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert version.returncode == 0 and version.stdout.strip() == "depaudit 0.1.0"
    scan = subprocess.run(
        [str(depaudit), "scan", str(EXAMPLE), "--offline", "--format", "json", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert scan.returncode == 0, scan.stderr
    doc = json.loads(scan.stdout)
    linux = next(t for t in doc["targets"] if t["target"] == "linux-x86_64")
    assert any(p["name"] == "torch" and p["accelerator"] for p in linux["packages"])
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", "import depaudit; print(depaudit.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(venv))  # the installed wheel ran, not this checkout
