"""What "installed" counts: the wheel's uncompressed contents (`--installed`), and with `--bytecode` an
estimate of the `.pyc` files pip compiles. Checked against a real `pip install --compile` of real
wheels into a fresh venv."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from depaudit.analysis.bytecode import PYC_PER_MODULE, PYC_PER_SOURCE_BYTE, compiled_module, pyc_estimate, with_bytecode
from depaudit.analysis.size_lookup import zip_unpacked_size
from depaudit.model import Selection
from depaudit.scan import scan_lock

ROOT = Path(__file__).resolve().parents[2]


def test_only_modules_installed_into_site_packages_are_compiled():
    assert compiled_module("numpy/linalg/__init__.py")
    assert not compiled_module("numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
    assert not compiled_module("pkg-1.0.data/scripts/run.py")
    assert compiled_module("pkg-1.0.data/purelib/pkg/mod.py")
    assert pyc_estimate("a/b.py", 1000) == round(PYC_PER_SOURCE_BYTE * 1000 + PYC_PER_MODULE)
    assert pyc_estimate("a/b.txt", 1000) == 0


def test_central_directory_walk_adds_the_estimate_per_module():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr("pkg/__init__.py", "x = 1\n" * 500)
        wheel.writestr("pkg/data.bin", b"\0" * 7000)
        wheel.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")
    data = buffer.getvalue()
    contents = 3000 + 7000 + len("Name: pkg\n")
    assert zip_unpacked_size(data) == contents
    assert zip_unpacked_size(data, weigh=with_bytecode) == contents + pyc_estimate("pkg/__init__.py", 3000)


def measured_install(site: Path, dist_prefix: str) -> tuple[int, int]:
    """(bytes of the files pip installed from the wheel, bytes of the .pyc it compiled), from RECORD."""
    record = next(site.glob(f"{dist_prefix}-*.dist-info")) / "RECORD"
    contents = pyc = 0
    for line in record.read_text().splitlines():
        name = line.split(",")[0]
        path = (site / name).resolve()
        if not path.is_file() or name.endswith(("INSTALLER", "REQUESTED", "direct_url.json")):
            continue  # files pip adds of its own, not wheel contents
        if name.endswith(".pyc"):
            pyc += path.stat().st_size
        else:
            contents += path.stat().st_size
    return contents, pyc


@pytest.mark.network  # range reads of two wheels' central directories and a pip download of both
@pytest.mark.slow  # pip compiles numpy's and tinygrad's modules: ~20 s on the 2-vCPU machines
def test_estimates_match_a_real_pip_install(tmp_path):
    select = {"targets": ["linux-x86_64"], "selection": Selection(groups=("service",)), "cache_dir": tmp_path / "cache"}
    installed = {p.name: p for p in scan_lock(ROOT / "uv.lock", installed=True, **select).targets[0].packages}
    compiled = {p.name: p for p in scan_lock(ROOT / "uv.lock", bytecode=True, **select).targets[0].packages}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    for name, prefix in (("numpy", "numpy"), ("tinygrad", "tinygrad")):
        wheel = installed[name].wheel
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--compile",
                "--target",
                str(site),
                wheel.url,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        contents, pyc = measured_install(site, prefix)
        assert abs(installed[name].size - contents) <= 0.01 * contents, (name, installed[name].size, contents)
        estimate = compiled[name].size - installed[name].size
        assert abs(estimate - pyc) <= 0.30 * pyc, (name, estimate, pyc)
        assert abs(compiled[name].size - (contents + pyc)) <= 0.10 * (contents + pyc), name
