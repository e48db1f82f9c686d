"""The requirements fixer is honest: what it writes installs everywhere, what it cannot fix it names.

Oracle: `packaging` (not depaudit's marker code) evaluates every line the fix leaves, on Linux and macOS:
a `+cpu` pin must never apply on macOS (the CPU index has no macOS `+cpu` build: pip fails there), and no
torch line that applies on Linux may lack `+cpu`. Before this, `torch==2.8.0` became a bare
`torch==2.8.0+cpu` (macOS installs failed), a `-r` file pinning PyPI's CUDA torch was "already fixed"
(exit 0), and so was an editable git checkout of torch.
"""

from __future__ import annotations

from pathlib import Path

from hostile import Surroundings, assert_no_secret, hostile_clone, run_in
from packaging.markers import default_environment
from packaging.requirements import Requirement

LINUX = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}
MACOS = {**default_environment(), "sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"}


def torch_lines(path: Path) -> list[Requirement]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("-", "#")):
            req = Requirement(line)
            if req.name.lower().startswith("torch"):
                out.append(req)
    return out


def applies(req: Requirement, env: dict[str, str]) -> bool:
    return req.marker is None or req.marker.evaluate(env)


def assert_installs_cpu_everywhere(path: Path) -> None:
    lines = torch_lines(path)
    assert lines, path.read_text()
    for req in lines:
        cpu = "+cpu" in str(req.specifier)
        assert not (cpu and applies(req, MACOS)), f"{path.name}: {req} applies on macOS"
        assert cpu or not applies(req, LINUX), f"{path.name}: {req} installs PyPI's CUDA build on Linux"
    assert any(applies(r, MACOS) for r in lines), f"{path.name}: macOS lost its torch"


def test_no_cpu_pin_reaches_macos(tmp_path: Path) -> None:
    text = "numpy==2.1.0\ntorch==2.8.0  # model\ntorchvision==0.23.0 ; python_version >= '3.10'\n"
    clone = hostile_clone(
        tmp_path, {"requirements.txt": text, "macos.txt": "torch==2.8.0 ; sys_platform == 'darwin'\n"}
    )
    result = run_in(clone, "fix", "requirements.txt")
    assert_no_secret(result)
    assert result.returncode == 0, result.stderr
    assert_installs_cpu_everywhere(clone / "requirements.txt")
    mac_only = run_in(clone, "fix", "macos.txt")
    assert mac_only.returncode == 0 and "+cpu" not in (clone / "macos.txt").read_text()


def test_an_included_file_is_fixed_too(tmp_path: Path) -> None:
    files = {"requirements.txt": "numpy\n-r requirements/gpu.txt\n", "requirements/gpu.txt": "torch==2.8.0\n"}
    clone = hostile_clone(tmp_path, files)
    result = run_in(clone, "fix", "requirements.txt")
    assert_no_secret(result)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert_installs_cpu_everywhere(clone / "requirements" / "gpu.txt")
    assert "already fixed" not in result.stdout


def test_what_cannot_be_fixed_is_named_and_exit_1(tmp_path: Path) -> None:
    """An include outside the clone is not read (nor written), a URL include is not fetched: each is
    reported by file and line, and the fix says "not fixed" with exit 1."""
    outside = tmp_path / "shared-gpu.txt"
    outside.write_text("torch==2.8.0\n")
    text = "numpy\n-r ../shared-gpu.txt\n-c https://example.invalid/constraints.txt\n"
    clone = hostile_clone(tmp_path, {"requirements.txt": text})
    around = Surroundings(tmp_path, clone)
    result = run_in(clone, "fix", "requirements.txt")
    assert_no_secret(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert (
        "not fixed" in result.stdout and "requirements.txt:2" in result.stdout and "requirements.txt:3" in result.stdout
    )
    assert around.changed() == [] and outside.read_text() == "torch==2.8.0\n"


def test_a_source_build_of_torch_is_left_alone_and_said(tmp_path: Path) -> None:
    text = "numpy\n-e git+https://github.com/pytorch/pytorch@v2.8.0#egg=torch\n"
    clone = hostile_clone(tmp_path, {"requirements.txt": text})
    result = run_in(clone, "fix", "requirements.txt", "--format", "json")
    assert_no_secret(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "left alone" in result.stdout and "already fixed" not in result.stdout
    assert (clone / "requirements.txt").read_text() == text
