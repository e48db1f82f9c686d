"""Independent oracles for the input tests: the real tools' own answers, evaluated with `packaging`
(not depaudit's marker evaluator, tag order or parsers)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote

import packaging.tags
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

BIN = Path(sys.executable).parent

# Marker environments of the default targets at Python 3.11, written out here (not from depaudit.targets).
ENVIRONMENTS = {
    "linux-x86_64": {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
    },
    "linux-aarch64": {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "aarch64",
        "os_name": "posix",
    },
    "macos-arm64": {
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "arm64",
        "os_name": "posix",
    },
    "windows-amd64": {
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "AMD64",
        "os_name": "nt",
    },
}
UV_PLATFORMS = {
    "linux-x86_64": "x86_64-unknown-linux-gnu",
    "linux-aarch64": "aarch64-unknown-linux-gnu",
    "macos-arm64": "aarch64-apple-darwin",
    "windows-amd64": "x86_64-pc-windows-msvc",
}


def environment(target: str, python: str = "3.11") -> dict[str, str]:
    return {
        **ENVIRONMENTS[target],
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "implementation_version": f"{python}.0",
        "platform_release": "",
        "platform_version": "",
    }


def exported_names(text: str, target: str, extras: tuple[str, ...] = ()) -> set[str]:
    """The names in a requirements export whose marker holds for `target` (with `extras` on)."""
    names = set()
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        req = Requirement(line)
        env = environment(target)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in (extras or ("",))):
            names.add(canonicalize_name(req.name))
    return names


def tool_env(home: Path) -> dict[str, str]:
    """An environment for poetry/pdm that never creates a virtualenv in the fixture folder."""
    env = {**os.environ, "POETRY_VIRTUALENVS_CREATE": "false", "PDM_USE_VENV": "false", "PDM_CHECK_UPDATE": "false"}
    env["POETRY_CACHE_DIR"] = str(home / "poetry-cache")
    return env


def run_tool(args: list[str], cwd: Path, home: Path, timeout: float = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=tool_env(home), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def copy_project(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".venv"))
    return dest


def uv_compile_total(
    requirements: Path, target: str, extra_args: tuple[str, ...] = (), python: str = "3.11"
) -> tuple[int, set[str]]:
    """What `uv pip compile` itself says installs for `target`: the sum of the wheel sizes in its
    pylock output (each package must list exactly one wheel for one platform) and the names."""
    import uv

    env = dict(os.environ)
    if target == "macos-arm64":
        env["MACOSX_DEPLOYMENT_TARGET"] = "14.0"
    done = subprocess.run(
        [
            uv.find_uv_bin(),
            "pip",
            "compile",
            str(requirements),
            "--format",
            "pylock.toml",
            "--quiet",
            "--python-platform",
            UV_PLATFORMS[target],
            "--python-version",
            python,
            "--python",  # any interpreter: uv would otherwise look for (and try to download) that Python
            sys.executable,
            "--no-python-downloads",
            *extra_args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=requirements.parent,
    )
    assert done.returncode == 0, done.stderr
    data = tomllib.loads(done.stdout)
    ranks = {str(tag): rank for rank, tag in enumerate(_tags(target, python))}
    total, names = 0, set()
    for package in data["packages"]:
        wheels = package.get("wheels", [])
        assert wheels, package["name"]
        best = min(
            wheels,
            key=lambda w: min(
                ranks.get(str(t), 10**6) for t in parse_wheel_filename(unquote(w["url"].rsplit("/", 1)[-1]))[3]
            ),
        )
        total += best["size"]
        names.add(canonicalize_name(package["name"]))
    return total, names


def _tags(target: str, python: str) -> list[object]:
    """packaging's tag priority for a target (platform lists as pip computes them there)."""
    version = tuple(int(p) for p in python.split("."))
    if target.startswith("linux"):
        arch = "x86_64" if target == "linux-x86_64" else "aarch64"
        platforms = [f"manylinux_2_{m}_{arch}" for m in range(28, 16, -1)] + [f"manylinux2014_{arch}", f"linux_{arch}"]
    elif target == "macos-arm64":
        platforms = list(packaging.tags.mac_platforms((14, 0), "arm64"))
    else:
        platforms = ["win_amd64"]
    return [
        *packaging.tags.cpython_tags(version, platforms=platforms),
        *packaging.tags.compatible_tags(version, platforms=platforms),
    ]


def evaluate(marker: str, target: str) -> bool:
    return Marker(marker).evaluate(environment(target))
