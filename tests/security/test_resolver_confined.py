"""What depaudit runs uv for (a requirements file or an unlocked pyproject.toml is resolved per target by
`uv pip compile`) runs no code from the checkout and writes nowhere the checkout names.

Before: the resolver honoured the checkout's uv configuration whole, so a committed `uv.toml` with
`cache-dir = "/anywhere"` made `depaudit scan requirements.txt` create and fill that folder on the runner.
`--no-build` (no build backend runs, so a `setup.py` never executes) was checked by hand only.
Each case is a real `git clone` and the real CLI; offline, so the runner's network plays no part.
"""

from __future__ import annotations

from pathlib import Path

from hostile import Surroundings, hostile_clone, run_in


def test_a_checkouts_uv_cache_dir_is_not_where_uv_writes(tmp_path: Path) -> None:
    world = tmp_path / "runner"
    world.mkdir()
    victim = world / "victim-cache"
    files = {"uv.toml": f'cache-dir = "{victim}"\n', "requirements.txt": "numpy\n"}
    clone = hostile_clone(world, files)
    around = Surroundings(world, clone)
    result = run_in(clone, "scan", "requirements.txt", "-t", "linux-x86_64", "--offline")
    assert result.returncode in (0, 1, 4), result.stderr  # offline, uv answers from its own cache or not at all
    assert not victim.exists() and around.changed() == []


def test_an_unlocked_project_never_runs_its_build_backend(tmp_path: Path) -> None:
    world = tmp_path / "runner"
    world.mkdir()
    marker = world / "setup-py-ran"
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
            '[project]\nname = "svc"\nversion = "1.0"\ndynamic = ["dependencies"]\n'
        ),
        "setup.py": f"open({str(marker)!r}, 'w').write('ran')\nfrom setuptools import setup\nsetup()\n",
    }
    clone = hostile_clone(world, files)
    around = Surroundings(world, clone)
    result = run_in(clone, "scan", "pyproject.toml", "-t", "linux-x86_64", "--offline")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert not marker.exists() and around.changed() == []
