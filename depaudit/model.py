"""The data model: frozen dataclasses, no I/O. Every layer above speaks in these types."""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Literal, NamedTuple

SOURCE_KINDS: tuple[str, ...] = ("registry", "git", "url", "path", "directory", "editable", "virtual")


class Source(NamedTuple):
    """Where a locked package comes from: its kind and the value the lock gives (URL or path).
    (NamedTuples here and for Dependency and Wheel: built per lock entry, hashed per edge look-up.)"""

    kind: str
    value: str


class Wheel(NamedTuple):
    """One built distribution listed in a lock. `size` is bytes, None when the lock does not say.
    (A NamedTuple, not a dataclass: a 2 MB lock lists 5,600 wheels and this is built for each.)"""

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
        return (int(digits) if digits else -1, parts[2][len(digits) :])

    @property
    def tags(self) -> tuple[str, ...]:
        """Every `python-abi-platform` tag the filename expands to (compressed tag sets expanded)."""
        return wheel_tags(self.filename)


@lru_cache(maxsize=65536)
def wheel_tags(filename: str) -> tuple[str, ...]:
    """The expanded tags of a wheel filename, memoised: every target asks for the same wheels."""
    if filename.count("-") < 4:  # name-version-python-abi-platform at least
        return ()
    parts = filename[:-4].rsplit("-", 3)
    py, abi, plat = parts[1], parts[2], parts[3]
    if "." not in py and "." not in abi and "." not in plat:  # one tag: most wheels
        return (f"{py}-{abi}-{plat}",)
    return tuple(f"{p}-{a}-{q}" for p in py.split(".") for a in abi.split(".") for q in plat.split("."))


class Dependency(NamedTuple):
    """An edge in the lock's graph: `name` (with `version`/`source` when the name is ambiguous),
    the PEP 508 `marker` under which it applies, and extras it enables on the dependency."""

    name: str
    version: str | None = None
    source: Source | None = None
    marker: str | None = None
    extras: tuple[str, ...] = ()


class Package(NamedTuple):
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
    resolution_markers: tuple[str, ...] = ()  # the forks this version was locked for (uv.lock)

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


FLAT_FORMATS: tuple[str, ...] = ("pylock.toml", "poetry.lock", "pdm.lock")
"""Lock formats read as a flat list (a synthetic root with one edge per package, the package's marker on
it): no workspace members, selections act through `extra`/`'x' in extras` markers."""


class _LockFields(NamedTuple):
    """A parsed lock file.

    `roots` are the workspace members (the project itself in a single-project lock); `project` is the
    member at the workspace root (None when the root is virtual: no `[project]` table, or a pylock).
    `manifest_groups` are dependency groups of a virtual workspace root (`[manifest.dependency-groups]`)
    and `manifest_requirements` requirements that belong to no member (`[manifest] requirements`).
    """

    path: str
    format: Literal["uv.lock", "pylock.toml", "poetry.lock", "pdm.lock"]
    version: int
    revision: int
    requires_python: str | None
    packages: tuple[Package, ...]
    roots: tuple[str, ...]
    supported_markers: tuple[str, ...] = ()
    conflicts: tuple[tuple[tuple[str, str, str], ...], ...] = ()  # sets of (kind, package, name)
    default_groups: tuple[str, ...] = ()  # pylock.toml `default-groups`
    project: str | None = None
    manifest_groups: tuple[tuple[str, tuple[Dependency, ...]], ...] = ()
    manifest_requirements: tuple[Dependency, ...] = ()


class Lock(_LockFields):
    """A parsed lock file (its fields: `_LockFields`). A subclass of the NamedTuple has a `__dict__`,
    which keeps what is worked out once per lock (this index, torch_reach's and install_set's facts)."""

    @cached_property
    def index(self) -> PackageIndex:  # type: ignore[override]  # shadows tuple.index, which no caller wants
        """Look-ups by name and by (name, version, source), built once per lock."""
        return PackageIndex(self.packages)


class PackageIndex:
    """Finds the locked package an edge names in O(1), however many versions of one name are locked
    (a lock may fork one name into thousands of versions; scanning them per edge is quadratic)."""

    def __init__(self, packages: tuple[Package, ...]) -> None:
        self.by_name: dict[str, list[int]] = {}
        for i, package in enumerate(packages):
            self.by_name.setdefault(package.name, []).append(i)
        self._packages = packages
        self._by_version: dict[tuple[str, str | None], list[int]] = {}
        self._by_id: dict[tuple[str, str | None, Source], list[int]] = {}
        for name, indices in self.by_name.items():
            if len(indices) > 1:
                for i in indices:
                    p = packages[i]
                    self._by_version.setdefault((name, p.version), []).append(i)
                    self._by_id.setdefault((name, p.version, p.source), []).append(i)

    def find(self, dep: Dependency) -> int | None:
        """The index of the package `dep` refers to, None when absent or ambiguous."""
        candidates = self.by_name.get(dep.name)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        if dep.version is None:
            if dep.source is None:
                return None
            same = [i for i in candidates if self._packages[i].source == dep.source]  # rare: no version
            return same[0] if len(same) == 1 else None
        if dep.source is None:
            matches = self._by_version.get((dep.name, dep.version), ())
        else:
            matches = self._by_id.get((dep.name, dep.version, dep.source), ())
        return matches[0] if len(matches) == 1 else None


class Target(NamedTuple):
    """A platform to install for: marker environment plus wheel tags in priority order (best first)."""

    name: str
    python: str
    environment: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]

    @property
    def marker_environment(self) -> dict[str, str]:
        return dict(self.environment)


class Selection(NamedTuple):
    """What to install, as `uv sync` options say it: which workspace members (`packages`, or
    `all_packages`; neither = uv's default: the root project, or every member when the root is
    virtual), and which extras and dependency groups of those members. No group is installed unless
    named: depaudit measures the production install, whatever `[tool.uv] default-groups` says."""

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    all_packages: bool = False
    all_groups: bool = False


class Via:
    """A shortest path from a workspace root to a package, kept as a link to the parent's path so a
    20,000-deep chain costs 20,000 links, not 200 million names. Materialised only when asked."""

    __slots__ = ("depth", "head", "name", "parent")
    HEAD = 3  # how many leading names (root first) every node keeps, for bounded printing in O(1)

    def __init__(self, name: str, parent: Via | None = None) -> None:
        self.name = name
        self.parent = parent
        self.depth: int = 1 if parent is None else parent.depth + 1
        if parent is None:
            self.head: tuple[str, ...] = (name,)
        else:
            self.head = parent.head if len(parent.head) >= self.HEAD else (*parent.head, name)

    @property
    def root(self) -> str:
        return self.head[0]

    def names(self) -> tuple[str, ...]:
        """Every name from the root to the package (O(depth))."""
        out = []
        node: Via | None = self
        while node is not None:
            out.append(node.name)
            node = node.parent
        return tuple(reversed(out))

    def tail(self, count: int) -> tuple[str, ...]:
        """The last `count` names (ending with the package), O(count)."""
        out: list[str] = []
        node: Via | None = self
        while node is not None and len(out) < count:
            out.append(node.name)
            node = node.parent
        return tuple(reversed(out))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Via):
            return self.names() == other.names()
        if isinstance(other, tuple):
            return self.names() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.names())

    def __repr__(self) -> str:
        return f"Via({' -> '.join(self.tail(4))}, depth={self.depth})"

    @classmethod
    def of(cls, names: tuple[str, ...]) -> Via:
        """A path from explicit names (root first). Raises ValueError for an empty tuple."""
        if not names:
            raise ValueError("a path has at least one name")
        node = None
        for name in names:
            node = cls(name, node)
        assert node is not None
        return node


class InstalledPackage(NamedTuple):
    """A package a target installs, the wheel chosen for it, and the shortest path that brings it in
    (`path`, a parent link; `via` materialises it). (A NamedTuple: built per package and target, and
    a class that costs no code generation at import.)"""

    package: Package
    wheel: Wheel | None
    path: Via
    accelerator: str | None = None
    size: int | None = None
    size_error: str | None = None
    reason: str | None = None  # why no wheel: "no wheel for this target: built from the sdist", ...
    # How the target gets this package: "wheel" (its size known or not), "build" from an sdist, a git
    # checkout or a source URL, "local" (a path the project points at), "workspace" (a member), or "none":
    # no wheel and no sdist for the target, so the install fails there.
    install_kind: str = "wheel"
    accelerator_basis: str | None = None  # what decided `accelerator` (or that a torch build is not one)
    # The marker it installs under when that turns on what depaudit cannot know for the target
    # (`'SMP' in platform_version`): counted as installed (the worst case), shown as "may install".
    condition: str | None = None

    @property
    def name(self) -> str:
        return self.package.name

    @property
    def via(self) -> tuple[str, ...]:
        """The whole path, root first, ending with this package (O(depth): print it, don't loop it)."""
        return self.path.names()

    @property
    def parent(self) -> str | None:
        """The package (or workspace root) that brings this one in."""
        return self.path.parent.name if self.path.parent is not None else None


class TopLevelCost(NamedTuple):
    """A direct dependency of the project and the bytes it costs together with all it alone pulls in."""

    name: str
    packages: tuple[str, ...]
    total_bytes: int
    accelerator_bytes: int
    unknown: int


class TargetReport(NamedTuple):
    """What one target installs from one lock, with sizes. `supported` False: the lock excludes it, or
    (`unresolved` True) the input could not be resolved for it (no wheel, a resolver conflict): then
    nothing is known about what would install, and a budget on the target cannot be verified."""

    target: Target
    supported: bool
    packages: tuple[InstalledPackage, ...] = ()
    top_level: tuple[TopLevelCost, ...] = ()
    unsupported_reason: str | None = None
    unresolved: bool = False

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
        """Every package installed without a wheel (builds, local paths, not installable): the JSON key
        `sdist_only` keeps this meaning; `builds`, `local_paths` and `not_installable` tell them apart."""
        return tuple(p.name for p in self.packages if p.wheel is None)

    @property
    def builds(self) -> tuple[str, ...]:
        """Packages built from source at install time (an sdist, a git checkout, a source URL)."""
        return tuple(p.name for p in self.packages if p.install_kind == "build")

    @property
    def local_paths(self) -> tuple[str, ...]:
        """Packages installed from the project's own tree: workspace members and local paths."""
        return tuple(p.name for p in self.packages if p.install_kind in ("local", "workspace"))

    @property
    def not_installable(self) -> tuple[str, ...]:
        """Packages with neither a wheel nor an sdist for this target: installing fails here."""
        return tuple(p.name for p in self.packages if p.install_kind == "none")

    @property
    def conditional(self) -> tuple[str, ...]:
        """Packages that may install: their marker turns on a value depaudit cannot know (counted)."""
        return tuple(p.name for p in self.packages if p.condition is not None)


class InstallScope(NamedTuple):
    """Which install the report measures, in uv's words: the workspace members installed (`packages`,
    with `how`: "root project", "all members (virtual workspace root)", "--package", "--all-packages"),
    the extras and dependency groups applied to them. `groups` empty = the production install."""

    packages: tuple[str, ...] = ()
    how: str = ""
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def production(self) -> bool:
        return not self.groups


class Resolved(NamedTuple):
    """How an input without a lock (requirements, an unlocked pyproject, a Dockerfile's installs) was
    turned into what installs: the input `kind`, the resolver (`tool`, with its version), the UTC date it
    ran as of (`as_of`: today's, or `exclude_newer` when given) and the `exclude_newer` cut-off."""

    kind: str
    tool: str
    as_of: str
    exclude_newer: str | None = None


class RunReport(NamedTuple):
    """What one RUN line of a Dockerfile installs from package indexes for one target: the line,
    `download` and `installed` bytes (None: unknown, or nothing resolved), the accelerator part of the
    download, and the same line with the CPU index added (`cpu_*`, None when not resolved, with
    `cpu_problem` saying why). `problem`: why the line itself could not be resolved."""

    path: str
    line: int
    end_line: int
    command: str
    target: str
    packages: int = 0
    download: int | None = None
    installed: int | None = None
    accelerator: int | None = None
    unknown: int = 0
    cpu_download: int | None = None
    cpu_accelerator: int | None = None
    cpu_problem: str | None = None
    problem: str | None = None

    @property
    def accelerator_share(self) -> float | None:
        if self.download is None or self.accelerator is None or not self.download:
            return None
        return self.accelerator / self.download


class SizeReport(NamedTuple):
    """The result of scanning one lock for several targets. `size_basis` says what a size counts:
    "download" (the wheel file), "installed" (its uncompressed contents) or "bytecode" (contents plus
    the .pyc files an installer that compiles bytecode writes, estimated)."""

    lockfile: str
    targets: tuple[TargetReport, ...]
    installed_sizes: bool = False
    findings: tuple[Finding, ...] = ()
    scope: InstallScope = InstallScope()
    size_basis: str = "download"
    input_kind: str = "lock"  # uv.lock, pylock.toml, poetry.lock, pdm.lock, requirements, pyproject, dockerfile
    resolved: Resolved | None = None  # set when the install set is a fresh resolution, not a lock
    runs: tuple[RunReport, ...] = ()  # a Dockerfile: each RUN line that installs Python packages
    # True: every registry wheel's download size is the index's, the lock's checked against it (DA105);
    # False: a size the lock records is taken from it as written (offline, or not asked to check).
    sizes_checked: bool = False

    @property
    def lock_sizes_used(self) -> int:
        """How many wheel sizes come from the lock unchecked (0 when checked, or for installed sizes)."""
        if self.sizes_checked or self.size_basis != "download":
            return 0
        return len(
            {
                p.wheel.url or p.wheel.filename
                for t in self.targets
                for p in t.packages
                if p.wheel and p.wheel.size is not None
            }
        )


SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


class Finding(NamedTuple):
    """A rule's verdict about one place in one file."""

    rule: str
    severity: str
    message: str
    path: str
    line: int | None = None
    column: int | None = None
    fixable: bool = False
    target: str | None = None
    package: str | None = None  # the package the finding is about, when it is about one (its identity)


class Edit(NamedTuple):
    """A planned change to one file: its text before and after. Applying writes `after` atomically."""

    path: str
    before: str
    after: str
    summary: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after


class LayerMeasurement(NamedTuple):
    created_by: str
    size: int


class ImageMeasurement(NamedTuple):
    """What an image costs: bytes on disk, compressed as a registry stores it, and where they are."""

    image: str
    size: int
    compressed_size: int | None
    layers: tuple[LayerMeasurement, ...] = ()
    python_packages: tuple[tuple[str, int], ...] = ()
    shared_libraries: tuple[tuple[str, int], ...] = ()
    accelerator_bytes: int = 0
    extra: tuple[tuple[str, object], ...] = ()
