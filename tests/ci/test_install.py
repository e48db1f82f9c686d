"""The install story: `uv build` makes a wheel and an sdist that hold the product and nothing else (the
wheel: `depaudit/` with its rule pages, under 1 MB; neither holds the reference service, its weights and
goldens, its bench or the tests), the wheel installs into a fresh venv where `depaudit --version` and a
scan of the bundled example lock work, and `uv tool install` from the clone gives a `depaudit` that works
without the service and whose `bench` says where the bench lives.

The build needs hatchling. It runs offline when this machine's pip names local `file://` package
indexes (`pip config list`; they hold hatchling); elsewhere it uses the default index. Installing the
wheel needs depaudit's dependencies, and rtoml is on no local index here, so those tests are marked
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


def test_sdist_holds_the_source_and_docs_but_no_service_fixtures_reports_or_venv(dist: Path) -> None:
    (sdist,) = dist.glob("depaudit-0.1.0.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    tops = {n.split("/")[0] for n in names}
    expected = {"depaudit", "docs", "examples", "README.md", "LICENSE", "pyproject.toml", "PKG-INFO", ".gitignore"}
    assert tops == expected  # no reference_service (the sdist builds the wheel), tests, reports, docker, .venv
    assert "depaudit/cli/diff.py" in names and "examples/hdr-service/uv.lock" in names
    assert "docs/rules/DA101.md" in names and "depaudit/sources/gitrev.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_holds_the_product_only_and_the_entry_point(dist: Path) -> None:
    (wheel,) = dist.glob("depaudit-0.1.0-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read("depaudit-0.1.0.dist-info/entry_points.txt").decode()
        metadata = archive.read("depaudit-0.1.0.dist-info/METADATA").decode()
    assert "depaudit = depaudit.cli:main" in entry_points
    assert {n.split("/")[0] for n in names} == {"depaudit", "depaudit-0.1.0.dist-info"}
    assert "depaudit/sources/gitrev.py" in names and "depaudit/_rule_docs/DA101.md" in names
    assert not [n for n in names if "servicebench" in n or "reference_service" in n or "/tests/" in n]
    assert not [n for n in names if n.endswith((".onnx", ".pth", ".npz", ".png"))]  # no weights, no goldens
    assert "depaudit/cli/bench.py" in names  # the command that says where the bench lives
    extras = set(re.findall(r"^Provides-Extra: (.+)$", metadata, re.MULTILINE))
    assert extras == {"port", "uv"}  # the reference service's packages are a dependency group, not an extra


def test_wheel_is_under_1_mb(dist: Path) -> None:
    (wheel,) = dist.glob("depaudit-0.1.0-py3-none-any.whl")
    assert wheel.stat().st_size < 1_000_000, f"{wheel.stat().st_size:,} bytes"


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


@pytest.mark.network  # depaudit's dependencies (rtoml is on no local index); ~4 s here with a cold cache
def test_uv_tool_install_from_the_clone_works_without_the_service(tmp_path: Path) -> None:
    tools, bin_dir = tmp_path / "tools", tmp_path / "bin"
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(tools),
        "UV_TOOL_BIN_DIR": str(bin_dir),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "NO_COLOR": "1",
    }
    env.pop("PYTHONPATH", None)
    indexes = local_indexes()
    index_args = [a for u in indexes for a in ("--index", u)]
    install = subprocess.run(
        [*_uv(), "tool", "install", *index_args, str(REPO)], capture_output=True, text=True, timeout=900, env=env
    )
    assert install.returncode == 0, install.stdout + install.stderr
    depaudit = bin_dir / "depaudit"
    run = {"capture_output": True, "text": True, "timeout": 120, "cwd": tmp_path, "env": env}
    version = subprocess.run([str(depaudit), "--version"], **run)
    assert version.returncode == 0 and version.stdout.strip() == "depaudit 0.1.0", version.stderr
    scan = subprocess.run(
        [str(depaudit), "scan", str(EXAMPLE), "--offline", "--format", "json", "--cache-dir", str(tmp_path / "c")],
        **run,
    )
    assert scan.returncode == 0, scan.stderr
    linux = next(t for t in json.loads(scan.stdout)["targets"] if t["target"] == "linux-x86_64")
    assert any(p["name"] == "torch" and p["accelerator"] for p in linux["packages"])
    bench = subprocess.run([str(depaudit), "bench", "--base-image", "depaudit/python:3.11-slim"], **run)
    assert bench.returncode == 4
    assert bench.stderr.splitlines() == [
        "depaudit: error: the GMNet service benchmark is not part of the depaudit package: it runs from a clone "
        "of the depaudit repository, as python -m reference_service.bench"
    ]
    site = next((tools / "depaudit" / "lib").glob("python3.*/site-packages"))
    assert (site / "depaudit").is_dir() and not (site / "reference_service").exists()
