"""Platform presets: for each (platform, python) the PEP 508 marker environment and the wheel tags an
installer accepts, best first — the order pip and uv use to choose among a package's wheels."""

from __future__ import annotations

from functools import lru_cache

from depaudit.errors import UsageError
from depaudit.model import Target

PLATFORMS: dict[str, dict[str, str]] = {
    "linux-x86_64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"},
    "linux-aarch64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64", "os_name": "posix"},
    "macos-arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64", "os_name": "posix"},
    "windows-amd64": {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"},
}
DEFAULT_TARGETS: tuple[str, ...] = tuple(PLATFORMS)
DEFAULT_GLIBC = "2.28"
DEFAULT_MACOS = "14.0"
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


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


def _linux_platforms(arch: str, glibc: tuple[int, int]) -> list[str]:
    out = []
    floor = 17 if arch == "aarch64" else 5
    for minor in range(glibc[1], floor - 1, -1):
        out.append(f"manylinux_{glibc[0]}_{minor}_{arch}")
        legacy = _LEGACY_MANYLINUX.get((glibc[0], minor))
        if legacy and (arch in ("x86_64", "i686") or legacy == "manylinux2014"):
            out.append(f"{legacy}_{arch}")
    out.append(f"linux_{arch}")
    return out


def _mac_platforms(macos: tuple[int, int]) -> list[str]:
    out = []
    for major in range(macos[0], 10, -1):  # arm64 exists from macOS 11
        minor_top = macos[1] if major == macos[0] else 0
        for minor in range(minor_top, -1, -1):
            out.append(f"macosx_{major}_{minor}_arm64")
            out.append(f"macosx_{major}_{minor}_universal2")
    for minor in range(16, 3, -1):  # universal2 wheels tagged with 10.x still run on arm64
        out.append(f"macosx_10_{minor}_universal2")
    return out


def _platform_tags(name: str, glibc: tuple[int, int], macos: tuple[int, int]) -> list[str]:
    if name.startswith("linux-"):
        return _linux_platforms(name.split("-", 1)[1], glibc)
    if name == "macos-arm64":
        return _mac_platforms(macos)
    return ["win_amd64"]


def _tags(python: tuple[int, int], platforms: list[str]) -> tuple[str, ...]:
    """CPython tag priority as pip computes it: cpXY-cpXY, abi3 down the minors, none; then py tags."""
    major, minor = python
    cp = f"cp{major}{minor}"
    tags: list[str] = []
    for plat in platforms:
        tags.append(f"{cp}-{cp}-{plat}")
    for plat in platforms:
        tags.append(f"{cp}-abi3-{plat}")
    for plat in platforms:
        tags.append(f"{cp}-none-{plat}")
    for lower in range(minor - 1, 1, -1):
        for plat in platforms:
            tags.append(f"cp{major}{lower}-abi3-{plat}")
    py_versions = [f"py{major}{minor}", f"py{major}"] + [f"py{major}{lower}" for lower in range(minor - 1, -1, -1)]
    for version in py_versions:
        for plat in platforms:
            tags.append(f"{version}-none-{plat}")
    tags.append(f"{cp}-none-any")
    tags.append(f"py{major}{minor}-none-any")
    tags.append(f"py{major}-none-any")
    for lower in range(minor - 1, -1, -1):
        tags.append(f"py{major}{lower}-none-any")
    return tuple(dict.fromkeys(tags))


@lru_cache(maxsize=64)
def make_target(name: str, python: str = "3.11", glibc: str = DEFAULT_GLIBC, macos: str = DEFAULT_MACOS) -> Target:
    """The Target for a platform preset and Python version. Raises UsageError for unknown names."""
    if name not in PLATFORMS:
        raise UsageError(f"unknown target {name!r} (choose from {', '.join(PLATFORMS)})")
    py = _version_pair(python, "--python")
    env = dict(PLATFORMS[name])
    env.update({
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": f"{py[0]}.{py[1]}",
        "python_full_version": python if python.count(".") == 2 else f"{py[0]}.{py[1]}.0",
        "implementation_version": python if python.count(".") == 2 else f"{py[0]}.{py[1]}.0",
        "platform_release": "",
        "platform_version": "",
    })
    platforms = _platform_tags(name, _version_pair(glibc, "--glibc"), _version_pair(macos, "--macos"))
    return Target(name=name, python=f"{py[0]}.{py[1]}", environment=tuple(sorted(env.items())), tags=_tags(py, platforms))


def python_from_requires(requires_python: str | None) -> str:
    """The lowest Python X.Y a `requires-python` admits (3.11 for ">=3.11"); 3.11 when unknown."""
    if not requires_python:
        return "3.11"
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return "3.11"
    for minor in range(6, 30):
        if spec.contains(Version(f"3.{minor}"), prereleases=True) or spec.contains(Version(f"3.{minor}.99")):
            return f"3.{minor}"
    return "3.11"
