"""The data model: frozen dataclasses, no I/O. Every layer above speaks in these types."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

SourceKind = Literal["registry", "git", "url", "path", "directory", "editable", "virtual"]
SOURCE_KINDS: tuple[str, ...] = ("registry", "git", "url", "path", "directory", "editable", "virtual")


@dataclass(frozen=True)
class Source:
    """Where a locked package comes from: its kind and the value the lock gives (URL or path)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Wheel:
    """One built distribution listed in a lock. `size` is bytes, None when the lock does not say."""

    filename: str
    url: str | None
    size: int | None

    @property
    def build_tag(self) -> tuple[int, str]:
        """The wheel's build tag as (number, suffix), (-1, "") when it has none (sorts lowest)."""
        parts = self.filename[:-4].split("-")
        if len(parts) != 6:
            return (-1, "")
        digits = ""
        for ch in parts[2]:
            if not ch.isdigit():
                break
            digits += ch
        return (int(digits) if digits else -1, parts[2][len(digits):])

    @property
    def tags(self) -> tuple[str, ...]:
        """Every `python-abi-platform` tag the filename expands to (compressed tag sets expanded)."""
        return wheel_tags(self.filename)


@lru_cache(maxsize=65536)
def wheel_tags(filename: str) -> tuple[str, ...]:
    """The expanded tags of a wheel filename, memoised: every target asks for the same wheels."""
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return ()
    py, abi, plat = parts[-3], parts[-2], parts[-1]
    return tuple(f"{p}-{a}-{q}" for p in py.split(".") for a in abi.split(".") for q in plat.split("."))


@dataclass(frozen=True)
class Dependency:
    """An edge in the lock's graph: `name` (with `version`/`source` when the name is ambiguous),
    the PEP 508 `marker` under which it applies, and extras it enables on the dependency."""

    name: str
    version: str | None = None
    source: Source | None = None
    marker: str | None = None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Package:
    """A locked package: one name at one version from one source."""

    name: str
    version: str | None
    source: Source
    dependencies: tuple[Dependency, ...] = ()
    optional_dependencies: tuple[tuple[str, tuple[Dependency, ...]], ...] = ()
    dependency_groups: tuple[tuple[str, tuple[Dependency, ...]], ...] = ()
    wheels: tuple[Wheel, ...] = ()
    sdist_url: str | None = None
    sdist_size: int | None = None
    line: int | None = None

    @property
    def key(self) -> tuple[str, str | None, Source]:
        return (self.name, self.version, self.source)

    def extra(self, name: str) -> tuple[Dependency, ...]:
        for extra_name, deps in self.optional_dependencies:
            if extra_name == name:
                return deps
        return ()

    def group(self, name: str) -> tuple[Dependency, ...]:
        for group_name, deps in self.dependency_groups:
            if group_name == name:
                return deps
        return ()


@dataclass(frozen=True)
class Lock:
    """A parsed lock file. `roots` are the names of the workspace members (the project itself)."""

    path: str
    format: Literal["uv.lock", "pylock.toml"]
    version: int
    revision: int
    requires_python: str | None
    packages: tuple[Package, ...]
    roots: tuple[str, ...]
    supported_markers: tuple[str, ...] = ()
    conflicts: tuple[tuple[tuple[str, str, str], ...], ...] = ()  # sets of (kind, package, name)
    default_groups: tuple[str, ...] = ()  # pylock.toml `default-groups`


@dataclass(frozen=True)
class Target:
    """A platform to install for: marker environment plus wheel tags in priority order (best first)."""

    name: str
    python: str
    environment: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]

    @property
    def marker_environment(self) -> dict[str, str]:
        return dict(self.environment)


@dataclass(frozen=True)
class Selection:
    """What the user asked to install on top of the production dependencies."""

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstalledPackage:
    """A package a target installs, the wheel chosen for it, and the shortest path that brings it in."""

    package: Package
    wheel: Wheel | None
    via: tuple[str, ...]
    accelerator: str | None = None
    size: int | None = None
    size_error: str | None = None
    reason: str | None = None  # why no wheel: "sdist only", "built from git source", ...

    @property
    def name(self) -> str:
        return self.package.name


@dataclass(frozen=True)
class TopLevelCost:
    """A direct dependency of the project and the bytes it costs together with all it alone pulls in."""

    name: str
    packages: tuple[str, ...]
    total_bytes: int
    accelerator_bytes: int
    unknown: int


@dataclass(frozen=True)
class TargetReport:
    """What one target installs from one lock, with sizes. `supported` False: the lock excludes it."""

    target: Target
    supported: bool
    packages: tuple[InstalledPackage, ...] = ()
    top_level: tuple[TopLevelCost, ...] = ()
    unsupported_reason: str | None = None

    @property
    def total_bytes(self) -> int:
        return sum(p.size for p in self.packages if p.size is not None)

    @property
    def accelerator_bytes(self) -> int:
        return sum(p.size for p in self.packages if p.size is not None and p.accelerator)

    @property
    def unknown_size(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages if p.size is None and p.wheel is not None)

    @property
    def sdist_only(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages if p.wheel is None)


@dataclass(frozen=True)
class SizeReport:
    """The result of scanning one lock for several targets."""

    lockfile: str
    targets: tuple[TargetReport, ...]
    installed_sizes: bool = False
    findings: tuple["Finding", ...] = ()


Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Finding:
    """A rule's verdict about one place in one file."""

    rule: str
    severity: str
    message: str
    path: str
    line: int | None = None
    column: int | None = None
    fixable: bool = False
    target: str | None = None


@dataclass(frozen=True)
class Edit:
    """A planned change to one file: its text before and after. Applying writes `after` atomically."""

    path: str
    before: str
    after: str
    summary: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class LayerMeasurement:
    created_by: str
    size: int


@dataclass(frozen=True)
class ImageMeasurement:
    """What an image costs: bytes on disk, compressed as a registry stores it, and where they are."""

    image: str
    size: int
    compressed_size: int | None
    layers: tuple[LayerMeasurement, ...] = ()
    python_packages: tuple[tuple[str, int], ...] = ()
    shared_libraries: tuple[tuple[str, int], ...] = ()
    accelerator_bytes: int = 0
    extra: tuple[tuple[str, object], ...] = field(default=())
