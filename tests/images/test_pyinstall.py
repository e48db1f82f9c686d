"""Where pip and uv put a wheel's files (depaudit.images.pyinstall), checked against the layout pip
itself produced for the same wheels in a real image (opt/venv of the reference images: scripts in bin/,
one .pyc per module in __pycache__, INSTALLER and REQUESTED beside a longer RECORD)."""

from __future__ import annotations

from depaudit.analysis.bytecode import pyc_estimate
from depaudit.images.pyinstall import installed_files, venv_environment, venv_skeleton

MEMBERS = (
    ("uv/__init__.py", 1000),
    ("uv/_find_uv.py", 3000),
    ("uv-0.13.10.data/scripts/uv", 40_000_000),
    ("uv-0.13.10.data/headers/uv.h", 10),
    ("uv-0.13.10.data/data/share/man/uv.1", 20),
    ("uv-0.13.10.data/purelib/uv_extra.py", 50),
    ("uv-0.13.10.dist-info/METADATA", 500),
    ("uv-0.13.10.dist-info/RECORD", 700),
)


def test_a_wheel_lands_where_pip_puts_it():
    env = venv_environment("opt/venv", "3.11")
    files = dict(installed_files(MEMBERS, env, "uv", compile_bytecode=True, installer="pip", requested=True))
    site = "opt/venv/lib/python3.11/site-packages"
    assert files["opt/venv/bin/uv"] == 40_000_000
    assert files["opt/venv/include/site/python3.11/uv/uv.h"] == 10
    assert files["opt/venv/share/man/uv.1"] == 20
    assert files[f"{site}/uv_extra.py"] == 50 and f"{site}/__pycache__/uv_extra.cpython-311.pyc" in files
    assert files[f"{site}/uv/__pycache__/_find_uv.cpython-311.pyc"] == pyc_estimate("uv/_find_uv.py", 3000)
    assert files[f"{site}/uv-0.13.10.dist-info/INSTALLER"] == len("pip\n")
    assert files[f"{site}/uv-0.13.10.dist-info/REQUESTED"] == 0
    assert files[f"{site}/uv-0.13.10.dist-info/RECORD"] > 700  # a line for every file pip added


def test_uv_without_compile_writes_no_bytecode():
    env = venv_environment("app/.venv", "3.12")
    files = dict(installed_files(MEMBERS, env, "uv", compile_bytecode=False, installer="uv", requested=False))
    assert not [p for p in files if p.endswith(".pyc")]
    assert files["app/.venv/lib/python3.12/site-packages/uv-0.13.10.dist-info/INSTALLER"] == len("uv\n")


def test_a_venv_skeleton_matches_what_python_m_venv_wrote_in_the_stand_in_base():
    # measured in depaudit/python:3.11-slim: `python3 -m venv /tmp/v` (see the commit that added this test)
    files = dict(venv_skeleton("tmp/v", "3.11", "/usr/bin/python3"))
    assert files["tmp/v/bin/activate"] == 1969 and files["tmp/v/bin/activate.csh"] == 895
    assert files["tmp/v/bin/activate.fish"] == 2171 and files["tmp/v/bin/Activate.ps1"] == 9033
    assert files["tmp/v/bin/python3"] == len("/usr/bin/python3") and files["tmp/v/lib64"] == 3
