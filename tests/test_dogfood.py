"""depaudit's own production install must pass its own gate: no accelerator wheel for any target."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.model import Selection
from depaudit.scan import scan_lock
from depaudit.units import format_size

from childrun import run_depaudit

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "selection",
    [Selection(), Selection(all_extras=True), Selection(groups=("service",))],
    ids=["production", "with-every-extra", "with-service-group"],
)
def test_own_lock_has_no_accelerator_on_any_target(selection):
    report = scan_lock(ROOT / "uv.lock", offline=True, cache_dir=None, selection=selection)
    assert [t.target.name for t in report.targets if t.supported] == [
        "linux-x86_64",
        "linux-aarch64",
        "macos-arm64",
        "windows-amd64",
    ]
    for target in report.targets:
        assert [p.name for p in target.packages if p.accelerator] == [], target.target.name
        assert "torch" not in {p.name for p in target.packages}


def test_port_extra_installs_no_torch_and_no_accelerator():
    report = scan_lock(
        ROOT / "uv.lock",
        offline=True,
        cache_dir=None,
        selection=Selection(extras=("port",)),
    )
    for target in report.targets:
        names = {p.name for p in target.packages}
        assert {"onnx", "onnxscript", "onnxruntime", "numpy"} <= names, target.target.name
        assert "torch" not in names and not [p.name for p in target.packages if p.accelerator], target.target.name


def test_dev_group_is_where_torch_lives():
    report = scan_lock(
        ROOT / "uv.lock", offline=True, cache_dir=None, selection=Selection(groups=("dev",)), targets=["linux-x86_64"]
    )
    assert "torch" in {p.name for p in report.targets[0].packages}


@pytest.fixture
def sink(tmp_path: Path) -> Path:
    """Where machine output goes: a null device node made here (root), else a plain file. Never /dev/null
    itself: `-o /dev/null` once replaced the real device with a regular file."""
    node = tmp_path / "null"
    if os.geteuid() == 0:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return node


def test_cli_gate_uses_tool_depaudit_from_pyproject(sink: Path):
    lock = str(ROOT / "uv.lock")
    proc = run_depaudit("scan", lock, "--offline", "--format", "json", "-o", str(sink), timeout=120)
    assert proc.returncode == 0, proc.stderr
    dev = run_depaudit(
        "scan", lock, "--offline", "--dev", "-t", "linux-x86_64", "--format", "json", "-o", str(sink), timeout=120
    )
    assert dev.returncode == 1 and "accelerator" in dev.stderr  # max-accelerator = "0" comes from [tool.depaudit]


@pytest.mark.network
def test_lock_is_in_sync_with_pyproject():
    uv = Path(sys.executable).parent / "uv"
    proc = subprocess.run(
        [str(uv) if uv.exists() else "uv", "lock", "--check", "--project", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.run_last
def test_dev_null_is_still_a_character_device():
    """Runs after every other test (tests/conftest.py moves it last): the whole suite, run as root, must
    leave the machine's /dev/null the null device (character device 1:3), not a regular file."""
    st = os.stat("/dev/null")
    assert stat.S_ISCHR(st.st_mode), "/dev/null is no longer a character device"
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)


def test_dev_group_caveat_in_the_docs_matches_the_lock():
    """docs/development.md's dogfood section says the dev group still locks PyPI's CUDA torch (the CPU index
    cannot be reached to lock against here). When the lock changes, this fails and the page must change too."""
    report = scan_lock(
        ROOT / "uv.lock", offline=True, cache_dir=None, selection=Selection(groups=("dev",)), targets=["linux-x86_64"]
    )
    accelerators = {p.name for p in report.targets[0].packages if p.accelerator}
    assert "torch" in accelerators and any(n.startswith("nvidia-") for n in accelerators)
    page = (ROOT / "docs" / "development.md").read_text()
    assert "**The dev group is not fixed in the lock, and we say so.**" in page
    # the figure the page quotes is the lock's, offline (the command it shows)
    assert f"{format_size(report.targets[0].accelerator_bytes)} of accelerator wheels" in page


def _fake_repo(tmp_path: Path, engine_exit: int) -> Path:
    """A copy of .ci/run in a folder whose docker/engine.sh exits `engine_exit` and whose scripts/test
    only says it ran. A fake engine script, because the real one serves every helper on this machine:
    stopping it to see .ci/run fail would break their work."""
    repo = tmp_path / "repo"
    for folder in (".ci", "docker", "scripts"):
        (repo / folder).mkdir(parents=True)
    (repo / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text())
    (repo / "docker" / "engine.sh").write_text(f"echo 'engine.sh: fake' >&2\nexit {engine_exit}\n")
    (repo / "scripts" / "test").write_text('echo "tests ran $*"\n')
    return repo


def test_ci_run_fails_when_ci_is_set_and_the_engine_does_not_start(tmp_path: Path):
    repo = _fake_repo(tmp_path, engine_exit=1)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    failed = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], capture_output=True, text=True, timeout=60, env={**env, "CI": "true"}
    )
    assert failed.returncode != 0 and "tests ran" not in failed.stdout
    assert "CI is set and the Docker engine did not start" in failed.stderr
    local = subprocess.run(
        ["bash", str(repo / ".ci" / "run"), "-x"], capture_output=True, text=True, timeout=60, env=env
    )
    assert local.returncode == 0 and local.stdout == "tests ran -x\n" and "warning: no Docker engine" in local.stderr
    started = _fake_repo(tmp_path / "ok", engine_exit=0)
    ran = subprocess.run(
        ["bash", str(started / ".ci" / "run")], capture_output=True, text=True, timeout=60, env={**env, "CI": "true"}
    )
    assert ran.returncode == 0 and ran.stdout == "tests ran \n"


def test_scripts_check_finds_accelerator_distributions(tmp_path: Path):
    """The check scripts/test runs after installing: clean here (torch is the CPU build), and failing,
    naming them, in a venv where real (stand-in) nvidia-cublas and triton wheels were installed by pip."""
    check = ROOT / "scripts" / "no_accelerators.py"
    clean = subprocess.run([sys.executable, str(check)], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    sys.path.insert(0, str(ROOT / "tests" / "fixers"))
    from localindex import build_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    stubs = [build_wheel(wheels, "nvidia-cublas", "13.0.0"), build_wheel(wheels, "triton", "3.4.0")]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", *map(str, stubs)],
        check=True,
        timeout=120,
        env={**os.environ, "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": ""},
    )
    dirty = subprocess.run([str(venv / "bin" / "python"), str(check)], capture_output=True, text=True, timeout=60)
    assert dirty.returncode == 1
    assert "holds accelerator wheels: nvidia-cublas 13.0.0, triton 3.4.0" in dirty.stderr
