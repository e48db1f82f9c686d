"""Platforms to install for, named as uv's `--python-platform` names them, and for each (platform,
Python) the PEP 508 marker environment and the wheel tags an installer accepts, best first — the
order `packaging.tags` (pip) computes on that platform.

Names (uv 0.13's list; the version a name implies is what uv assumes for it):

- `x86_64-unknown-linux-gnu`, `aarch64-unknown-linux-gnu` (alias `linux`): glibc 2.28, like uv;
  `--glibc` changes it. `{x86_64,aarch64,riscv64,s390x,ppc64le}-manylinux_2_N` and `-manylinux2014`
  (= 2.17) fix it in the name.
- `x86_64-unknown-linux-musl`, `aarch64-unknown-linux-musl`: musl 1.2 (`musllinux_1_2`);
  `{arch}-musllinux_1_N` fixes it.
- `aarch64-apple-darwin`, `x86_64-apple-darwin`: macOS 13.0, like uv, or $MACOSX_DEPLOYMENT_TARGET
  (uv reads it too); `--macos` changes it.
- `x86_64-pc-windows-msvc` (alias `windows`), `aarch64-pc-windows-msvc`, `i686-pc-windows-msvc`.
- The first presets stay as aliases and as the default set: `linux-x86_64`, `linux-aarch64` (the
  `-unknown-linux-gnu` names), `macos-arm64` (alias `macos`: `aarch64-apple-darwin` at macOS 14.0, as
  depaudit has always measured it — what a current Mac installs; torch >= 2.9 ships macOS 14 wheels
  only; only `--macos` changes it, not the environment), `windows-amd64` (`x86_64-pc-windows-msvc`).

Python is any CPython 3.x: `3.12`, `3.12.4`, or free-threaded `3.13t` (ABI `cp313t`, no abi3).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from depaudit.errors import UsageError
from depaudit.model import Target
from depaudit.versions import InvalidSpecifier, specifier_set_contains

DEFAULT_TARGETS: tuple[str, ...] = ("linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64")
DEFAULT_GLIBC = "2.28"
DEFAULT_MACOS = "13.0"
PRESET_MACOS = (14, 0)  # macos-arm64 / macos: see the module docstring
DEFAULT_MUSL = (1, 2)
ALIASES: dict[str, str] = {
    "linux-x86_64": "x86_64-unknown-linux-gnu",
    "linux-aarch64": "aarch64-unknown-linux-gnu",
    "macos-arm64": "aarch64-apple-darwin",
    "windows-amd64": "x86_64-pc-windows-msvc",
    "linux": "x86_64-unknown-linux-gnu",
    "macos": "aarch64-apple-darwin",
    "windows": "x86_64-pc-windows-msvc",
}
CHOICES = (
    "linux-x86_64, linux-aarch64, macos-arm64, windows-amd64 (the defaults), or a uv --python-platform "
    "name: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, x86_64-manylinux_2_N, aarch64-manylinux_2_N, "
    "x86_64-manylinux2014, aarch64-manylinux2014, riscv64|s390x|ppc64le-manylinux_2_N, "
    "x86_64-unknown-linux-musl, aarch64-unknown-linux-musl, x86_64-musllinux_1_N, aarch64-musllinux_1_N, "
    "x86_64-apple-darwin, aarch64-apple-darwin, x86_64-pc-windows-msvc, aarch64-pc-windows-msvc, "
    "i686-pc-windows-msvc, linux, macos, windows"
)
_LINUX_ARCHS = ("x86_64", "aarch64", "riscv64", "s390x", "ppc64le")
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_WINDOWS = {"x86_64": ("win_amd64", "AMD64"), "aarch64": ("win_arm64", "ARM64"), "i686": ("win32", "x86")}
_MANYLINUX = re.compile(r"^(?P<arch>[a-z0-9_]+?)-manylinux(?:_(?P<major>\d+)_(?P<minor>\d+)|(?P<legacy>2014))$")
_MUSLLINUX = re.compile(r"^(?P<arch>x86_64|aarch64)-musllinux_(?P<major>1)_(?P<minor>\d+)$")


class Platform(NamedTuple):
    """An operating system ("linux", "musl", "macos", "windows"), a CPU architecture as uv names it
    (x86_64, aarch64, ...) and the OS/libc version (None: the default, or the version option)."""

    os: str
    arch: str
    version: tuple[int, int] | None = None


def parse_platform(name: str) -> Platform:
    """The Platform a target name means. Raises UsageError naming the choices for an unknown name."""
    canonical = ALIASES.get(name, name)
    arch, _, rest = canonical.partition("-")
    if rest == "unknown-linux-gnu" and arch in ("x86_64", "aarch64"):
        return Platform("linux", arch)
    if rest == "unknown-linux-musl" and arch in ("x86_64", "aarch64"):
        return Platform("musl", arch, DEFAULT_MUSL)
    if rest == "apple-darwin" and arch in ("x86_64", "aarch64"):
        return Platform("macos", arch, PRESET_MACOS if name in ("macos-arm64", "macos") else None)
    if rest == "pc-windows-msvc" and arch in _WINDOWS:
        return Platform("windows", arch)
    match = _MANYLINUX.match(canonical)
    if match and match.group("arch") in _LINUX_ARCHS:
        version = (2, 17) if match.group("legacy") else (int(match.group("major")), int(match.group("minor")))
        if version[0] == 2 and version[1] >= _glibc_floor(match.group("arch")):
            return Platform("linux", match.group("arch"), version)
    match = _MUSLLINUX.match(canonical)
    if match:
        return Platform("musl", match.group("arch"), (1, int(match.group("minor"))))
    raise UsageError(f"unknown target {name!r} (choose from {CHOICES})")


def _glibc_floor(arch: str) -> int:
    """The oldest manylinux glibc minor for an architecture (packaging: 2.5 on x86, else 2.17)."""
    return 5 if arch in ("x86_64", "i686") else 17


def _version_pair(text: str, what: str) -> tuple[int, int]:
    parts = text.split(".")
    try:
        if len(parts) not in (1, 2, 3):
            raise ValueError
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a version like 3.11") from None
    return major, minor


def parse_python(text: str) -> tuple[tuple[int, int], str, bool]:
    """((major, minor), full version, free-threaded) of a `--python` value such as 3.12, 3.12.4 or
    3.13t. Raises UsageError for anything else (CPython 3 only; free-threading from 3.13)."""
    threaded = text.endswith("t")
    core = text[:-1] if threaded else text
    if not re.fullmatch(r"\d+(\.\d+){1,2}", core):
        raise UsageError(f"--python: {text!r} is not a CPython version like 3.12, 3.12.4 or 3.13t")
    numbers = tuple(int(p) for p in core.split("."))
    if numbers[0] != 3:
        raise UsageError(f"--python: {text!r}: depaudit targets CPython 3")
    if threaded and numbers[1] < 13:
        raise UsageError(f"--python: {text!r}: free-threaded CPython starts at 3.13 (3.13t)")
    full = core if len(numbers) == 3 else f"{numbers[0]}.{numbers[1]}.0"
    return (numbers[0], numbers[1]), full, threaded


def _manylinux_platforms(arch: str, glibc: tuple[int, int]) -> list[str]:
    out = []
    for minor in range(glibc[1], _glibc_floor(arch) - 1, -1):
        out.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
        legacy = _LEGACY_MANYLINUX.get((glibc[0], minor))
        if legacy and (arch in ("x86_64", "i686") or legacy == "manylinux2014"):
            out.append(f"{legacy}_{arch}")
    return [*out, f"linux_{arch}"]


def _musllinux_platforms(arch: str, musl: tuple[int, int]) -> list[str]:
    return [f"musllinux_{musl[0]}_{minor}_{arch}" for minor in range(musl[1], -1, -1)] + [f"linux_{arch}"]


def _mac_formats(version: tuple[int, int], arch: str) -> list[str]:
    """packaging's binary formats a macOS version runs, for arm64 and x86_64."""
    if arch == "arm64":
        return ["arm64", "universal2"]
    if version < (10, 4):
        return []
    return ["x86_64", "intel", "fat64", "fat3", "universal2", "universal"]


def _mac_platforms(macos: tuple[int, int], arch: str) -> list[str]:
    """packaging.tags.mac_platforms(macos, arch), written out (it is pure given both arguments)."""
    out: list[str] = []
    if (10, 0) <= macos < (11, 0):
        for minor in range(macos[1], -1, -1):
            out += [f"macosx_10_{minor}_{f}" for f in _mac_formats((10, minor), arch)]
    if macos >= (11, 0):
        for major in range(macos[0], 10, -1):
            out += [f"macosx_{major}_0_{f}" for f in _mac_formats((major, 0), arch)]
        for minor in range(16, 3, -1):
            formats = _mac_formats((10, minor), arch) if arch == "x86_64" else ["universal2"]
            out += [f"macosx_10_{minor}_{f}" for f in formats]
    return out


def _platform_tags(platform: Platform, glibc: str | None, macos: str | None, deployment: str | None) -> list[str]:
    if platform.os == "linux":
        version = platform.version or _version_pair(glibc or DEFAULT_GLIBC, "--glibc")
        return _manylinux_platforms(platform.arch, version)
    if platform.os == "musl":
        return _musllinux_platforms(platform.arch, platform.version or DEFAULT_MUSL)
    if platform.os == "macos":
        if macos is None and platform.version is not None:
            version = platform.version
        elif macos is None and deployment:
            version = _version_pair(deployment, "MACOSX_DEPLOYMENT_TARGET")
        else:
            version = _version_pair(macos or DEFAULT_MACOS, "--macos")
        return _mac_platforms(version, "arm64" if platform.arch == "aarch64" else platform.arch)
    return [_WINDOWS[platform.arch][0]]


def _environment(platform: Platform) -> dict[str, str]:
    if platform.os in ("linux", "musl"):
        return {
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": platform.arch,
            "os_name": "posix",
        }
    if platform.os == "macos":
        machine = "arm64" if platform.arch == "aarch64" else platform.arch
        return {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": machine, "os_name": "posix"}
    return {
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": _WINDOWS[platform.arch][1],
        "os_name": "nt",
    }


def _tags(python: tuple[int, int], threaded: bool, platforms: list[str]) -> tuple[str, ...]:
    """CPython tag priority as packaging computes it: cpXY-<abi>, the stable ABI (abi3, or abi3t when
    free-threaded), none; older stable ABIs; then py tags per platform; then the `any` tags."""
    major, minor = python
    cp = f"cp{major}{minor}"
    stable = "abi3t" if threaded else "abi3"
    tags: list[str] = [f"{cp}-{cp}{'t' if threaded else ''}-{plat}" for plat in platforms]
    tags += [f"{cp}-{stable}-{plat}" for plat in platforms]
    tags += [f"{cp}-none-{plat}" for plat in platforms]
    for lower in range(minor - 1, 1, -1):
        tags += [f"cp{major}{lower}-{stable}-{plat}" for plat in platforms]
    py_versions = [f"py{major}{minor}", f"py{major}"] + [f"py{major}{lower}" for lower in range(minor - 1, -1, -1)]
    for version in py_versions:
        tags += [f"{version}-none-{plat}" for plat in platforms]
    tags.append(f"{cp}-none-any")
    tags += [f"{version}-none-any" for version in py_versions]
    return tuple(dict.fromkeys(tags))


def make_target(
    name: str,
    python: str = "3.11",
    glibc: str | None = None,
    macos: str | None = None,
    deployment_target: str | None = None,
) -> Target:
    """The Target for a platform name (see the module docstring) and Python version. `glibc`
    replaces the default glibc of names that do not fix one, `macos` the macOS version of every
    apple-darwin name, `deployment_target` ($MACOSX_DEPLOYMENT_TARGET) the 13.0 default of the uv
    names only. Raises UsageError for unknown names or malformed versions."""
    platform = parse_platform(name)
    version, full, threaded = parse_python(python)
    env = _environment(platform)
    env.update(
        {
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "python_version": f"{version[0]}.{version[1]}",
            "python_full_version": full,
            "implementation_version": full,
            "platform_release": "",
            "platform_version": "",
        }
    )
    label = f"{version[0]}.{version[1]}{'t' if threaded else ''}"
    tags = _tags(version, threaded, _platform_tags(platform, glibc, macos, deployment_target))
    return Target(name=name, python=label, environment=tuple(sorted(env.items())), tags=tags)


def python_from_requires(requires_python: str | None) -> str:
    """The lowest Python X.Y a `requires-python` admits (3.11 for ">=3.11"); 3.11 when unknown."""
    if not requires_python:
        return "3.11"
    try:
        for minor in range(6, 30):
            if specifier_set_contains(requires_python, f"3.{minor}") or specifier_set_contains(
                requires_python, f"3.{minor}.99"
            ):
                return f"3.{minor}"
    except InvalidSpecifier:
        return "3.11"
    return "3.11"
