"""Which packages a target installs from a lock, which wheel each gets, and why each is there.

The install set follows `uv sync` (uv's `InstallTarget`): the workspace members installed are the
root project, or every member when the workspace root is virtual, or those named with `--package`,
or all with `--all-packages`. Extras and dependency groups apply to those members only; a group of
the root project also applies when a member that does not define it is selected (as in uv). The
lock's graph is walked breadth-first from there, keeping only edges whose markers hold for the
target, so the first path that reaches a package is a shortest one; paths are parent links. With
`[tool.uv] conflicts`, extras switched on anywhere in the graph are collected first (uv does the
same) so conflict markers see them. Wheels are chosen by the target's tag priority, then build tag.

An edge whose marker turns on a value depaudit cannot know for the target (`platform_version`, ...:
see `analysis.markers`) is followed, as the worst case, and what only such edges reach is
*conditional*: `InstallPlan.conditions` names the first such marker on its path. uv keeps these
packages in the lock with the marker, and `uv sync` installs them wherever the marker holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from depaudit.analysis.accelerators import (
    Label,
    WheelEvidence,
    evidence_label,
    fallback_label,
    is_cuda_runtime,
    name_label,
    wheel_label,
)
from depaudit.analysis.markers import MarkerError, MarkerEvaluator
from depaudit.errors import InputError, UsageError, excerpt
from depaudit.families import TORCH_FAMILY
from depaudit.model import (
    FLAT_FORMATS,
    Dependency,
    InstalledPackage,
    InstallScope,
    Lock,
    Package,
    Selection,
    Target,
    Via,
    Wheel,
    wheel_tags,
)
from depaudit.names import canonical_name
from depaudit.versions import InvalidSpecifier, specifier_set_contains

WORKSPACE_ROOT = "(workspace root)"  # names the virtual root in paths from its own dependency groups
_VIRTUAL_ROOT = -2  # its node id in the active graph (attribution uses -1 for its own start node)
_State = tuple[int, "str | None"]  # (lock index, extra or None for the package's own dependencies)


class Members(NamedTuple):
    """The resolved selection: production roots, the root project whose groups alone apply (uv's
    `group_root`), the extras per root, the groups per package, and the virtual root's groups."""

    roots: tuple[int, ...]
    group_root: int | None
    extras: dict[int, tuple[str, ...]]
    groups: dict[int, tuple[str, ...]]
    manifest_groups: tuple[str, ...]
    scope: InstallScope


class InstallPlan(NamedTuple):
    """What a target installs: lock indices in BFS order (roots excluded), each one's path, and the
    active graph (edges whose markers hold) for attribution and labels. The walk fills the lists and
    dicts of the plan `make` returns."""

    target: Target
    supported: bool
    reason: str | None
    order: list[int]
    paths: dict[int, Via]
    edges: dict[int, list[int]]
    roots: list[int]
    conditions: dict[int, str]  # conditional package -> the unknowable marker

    @classmethod
    def make(cls, target: Target, supported: bool, reason: str | None = None, roots: Iterable[int] = ()) -> InstallPlan:
        return cls(target, supported, reason, [], {}, {}, list(roots), {})


def select_members(lock: Lock, selection: Selection) -> Members:
    """Resolve `selection` against the lock's workspace as uv does. Raises UsageError for an unknown
    member, extra or group, and for extras/groups that `[tool.uv] conflicts` forbids together."""
    index = lock.index
    kind, names = _target_kind(lock, selection)
    roots = tuple(index.by_name[name][0] for name in names)
    wanted_groups = _wanted(selection.groups)
    if kind == "pylock":  # a flat list: selections act only through `'x' in extras` markers
        how = kind if lock.format == "pylock.toml" else lock.format
        scope = InstallScope((), how, tuple(sorted(_wanted(selection.extras))), tuple(sorted(wanted_groups)))
        return Members(roots, None, dict.fromkeys(roots, ()), dict.fromkeys(roots, ()), (), scope)
    group_root = _group_root(lock, kind, roots, wanted_groups, selection.all_groups)
    extras = _root_extras(lock, roots, selection)
    groups: dict[int, tuple[str, ...]] = {}
    for i in roots + ((group_root,) if group_root is not None else ()):
        defined = [g for g, _ in lock.packages[i].dependency_groups]
        groups[i] = tuple(
            g
            for g in defined
            if (selection.all_groups or g in wanted_groups) and _includes_group(lock, kind, roots, i, g)
        )
    manifest = tuple(
        g
        for g, _ in lock.manifest_groups
        if (selection.all_groups or g in wanted_groups) and _includes_group(lock, kind, roots, None, g)
    )
    _check_groups(lock, kind, roots, wanted_groups)
    scope = InstallScope(
        packages=tuple(lock.packages[i].name for i in roots),
        how=kind,
        extras=tuple(sorted({e for v in extras.values() for e in v})),
        groups=tuple(sorted({g for v in groups.values() for g in v} | set(manifest))),
    )
    members = Members(roots, group_root, extras, groups, manifest, scope)
    _check_conflicts(lock, members)
    return members


def _wanted(names: Iterable[str]) -> set[str]:
    return {canonical_name(n) for n in names}


def _target_kind(lock: Lock, selection: Selection) -> tuple[str, tuple[str, ...]]:
    """uv's install target: ("root project" | "--package" | "--all-packages" | "all members", names)."""
    if lock.format in FLAT_FORMATS:
        if selection.packages or selection.all_packages:
            raise UsageError(
                f"{lock.path} is a {lock.format}, which records no workspace members: "
                f"--package and --all-packages apply to uv.lock"
            )
        return "pylock", lock.roots
    members = lock.roots
    if selection.all_packages:
        return "--all-packages", members
    if selection.packages:
        wanted = tuple(dict.fromkeys(canonical_name(p) for p in selection.packages))
        unknown = [p for p in wanted if p not in members]
        if unknown:
            raise UsageError(
                f"no workspace member named {', '.join(unknown)} in {lock.path} (members: {', '.join(sorted(members))})"
            )
        return "--package", wanted
    if lock.project is not None:
        return "root project", (lock.project,)
    return "all members (virtual workspace root)", members


def _group_root(lock: Lock, kind: str, roots: tuple[int, ...], wanted: set[str], all_groups: bool) -> int | None:
    """The root project when one other member is selected and a group the root defines applies."""
    if kind != "--package" or len(roots) != 1 or lock.project is None:
        return None
    root = lock.index.by_name[lock.project][0]
    if root == roots[0]:
        return None
    applies = any(
        (all_groups or g in wanted) and _includes_group(lock, kind, roots, root, g)
        for g, _ in lock.packages[root].dependency_groups
    )
    return root if applies else None


def _includes_group(lock: Lock, kind: str, roots: tuple[int, ...], owner: int | None, group: str) -> bool:
    """uv's `includes_group` for a requested group: with one member selected, the member's own groups
    apply, and a group of the root (or virtual root) only when the member does not define it."""
    if kind != "--package" or len(roots) != 1 or owner == roots[0]:
        return True
    return group not in {g for g, _ in lock.packages[roots[0]].dependency_groups}


def _root_extras(lock: Lock, roots: tuple[int, ...], selection: Selection) -> dict[int, tuple[str, ...]]:
    wanted = _wanted(selection.extras)
    out: dict[int, tuple[str, ...]] = {}
    known: set[str] = set()
    for i in roots:
        defined = [e for e, _ in lock.packages[i].optional_dependencies]
        known.update(defined)
        out[i] = tuple(e for e in defined if selection.all_extras or e in wanted)
    missing = sorted(wanted - known)
    if missing and lock.format not in FLAT_FORMATS:
        names = ", ".join(lock.packages[i].name for i in roots)
        raise UsageError(f"no extra named {', '.join(missing)} in {names} ({lock.path})")
    return out


def _check_groups(lock: Lock, kind: str, roots: tuple[int, ...], wanted: set[str]) -> None:
    if lock.format in FLAT_FORMATS:
        return
    owners = list(roots)
    if kind == "--package" and len(roots) == 1 and lock.project is not None:
        owners.append(lock.index.by_name[lock.project][0])
    known = {g for i in owners for g, _ in lock.packages[i].dependency_groups}
    known |= {g for g, _ in lock.manifest_groups}
    missing = sorted(wanted - known)
    if missing:
        names = ", ".join(lock.packages[i].name for i in roots)
        raise UsageError(f"no dependency group named {', '.join(missing)} in {names} ({lock.path})")


def _check_conflicts(lock: Lock, members: Members) -> None:
    chosen = {("extra", lock.packages[i].name, e) for i, names in members.extras.items() for e in names}
    chosen |= {("group", lock.packages[i].name, g) for i, names in members.groups.items() for g in names}
    for conflict in lock.conflicts:
        clash = [item for item in conflict if item in chosen]
        if len(clash) > 1:
            names = " and ".join(f"{kind} {name}" for kind, _, name in clash)
            raise UsageError(f"{names} conflict (tool.uv.conflicts in the project): choose one")


def _encoded(kind: str, package: str, name: str | None = None) -> str:
    """uv's conflict-marker name for an activated project, extra or group (`extra-11-hdr-service-np1`)."""
    return f"{kind}-{len(package)}-{package}" + (f"-{name}" if name is not None else "")


def supported(lock: Lock, target: Target, evaluate: MarkerEvaluator) -> str | None:
    """None when the lock supports the target, else why not (requires-python, supported-markers or
    pylock `environments`). Raises InputError for a malformed requires-python or marker."""
    if lock.requires_python:
        try:
            inside = specifier_set_contains(lock.requires_python, target.marker_environment["python_full_version"])
        except InvalidSpecifier:
            raise InputError(lock.path, f"invalid requires-python {excerpt(lock.requires_python)}") from None
        if not inside:
            return f"Python {target.python} is outside the lock's requires-python {lock.requires_python}"
    if lock.supported_markers:
        key = "environments" if lock.format == "pylock.toml" else "supported-markers"
        try:
            if not any(evaluate(m) for m in lock.supported_markers):
                why = "environments" if lock.format == "pylock.toml" else "supported-markers (tool.uv.environments)"
                return f"the lock's {why} exclude this platform"
        except MarkerError as exc:
            raise InputError(lock.path, f"{key}: {exc}") from None
    return None


class _Walk:
    """One breadth-first walk of the lock for one target (see the module docstring)."""

    def __init__(self, lock: Lock, target: Target, members: Members, definite: bool = False) -> None:
        self.lock = lock
        self.index = lock.index
        self.evaluate = MarkerEvaluator(target.marker_environment)
        self.members = members
        self.plan = InstallPlan.make(target, True, roots=members.roots)
        self.active = self._activated()
        self.definite = definite  # follow only edges whose marker surely holds (no "may hold")
        self.state_conditions: dict[_State, str] = {}

    def _activated(self) -> frozenset[str]:
        """The activated set markers are evaluated against: uv's encoded names for uv.lock; plain
        extra and group names for pylock's `'x' in extras` / `dependency_groups` markers."""
        lock, m = self.lock, self.members
        if lock.format in FLAT_FORMATS:
            return frozenset(m.scope.extras) | frozenset(m.scope.groups) | frozenset(lock.default_groups)
        names = {_encoded("project", lock.packages[i].name) for i in m.roots}
        names |= {_encoded("extra", lock.packages[i].name, e) for i, es in m.extras.items() for e in es}
        names |= {_encoded("group", lock.packages[i].name, g) for i, gs in m.groups.items() for g in gs}
        active = frozenset(names)
        if lock.conflicts:
            active = self._extras_switched_on(active)
        return active

    def _starts(self) -> tuple[list[tuple[int, Dependency]], deque[_State]]:
        """Edges leaving the roots' groups and the virtual root, and the roots' own states."""
        lock, m = self.lock, self.members
        queue: deque[_State] = deque()
        for i in m.roots:
            queue.append((i, None))
            queue.extend((i, e) for e in m.extras[i])
        loose = [(i, d) for i, gs in m.groups.items() for g in gs for d in lock.packages[i].group(g)]
        loose += [(_VIRTUAL_ROOT, d) for g, deps in lock.manifest_groups if g in m.manifest_groups for d in deps]
        loose += [(_VIRTUAL_ROOT, d) for d in lock.manifest_requirements]
        return loose, queue

    def _extras_switched_on(self, active: frozenset[str]) -> frozenset[str]:
        """First pass (only for locks with conflicts): every extra some reachable edge switches on."""
        found = set(active)
        loose, queue = self._starts()
        seen: set[_State] = set(queue)

        def follow(parent: int, deps: Iterable[Dependency]) -> None:
            for dep in deps:
                switched = {_encoded("extra", dep.name, e) for e in dep.extras}
                if not self._holds(dep, frozenset(found | switched), parent):
                    continue
                found.update(switched)
                child = self._child(dep)
                for state in ((child, None), *((child, e) for e in dep.extras)):
                    if state not in seen:
                        seen.add(state)
                        queue.append(state)

        for parent, dep in loose:
            follow(parent, (dep,))
        while queue:
            index, extra = queue.popleft()
            follow(index, self._deps(index, extra))
        return frozenset(found)

    def _deps(self, index: int, extra: str | None) -> tuple[Dependency, ...]:
        package = self.lock.packages[index]
        return package.dependencies if extra is None else package.extra(extra)

    def _holds(self, dep: Dependency, active: frozenset[str], parent: int) -> bool:
        return self._decide(dep, active, parent) is not False

    def _decide(self, dep: Dependency, active: frozenset[str], parent: int) -> bool | None:
        try:
            return self.evaluate.decide(dep.marker, active)
        except MarkerError as exc:
            owner = self.lock.packages[parent].name if parent >= 0 else "[manifest]"
            raise InputError(self.lock.path, f"package {owner}: {exc}") from None

    def _child(self, dep: Dependency) -> int:
        found = self.index.find(dep)
        if found is None:  # load_lock rejects such locks; a Lock built by hand may still have one
            raise InputError(self.lock.path, f"dependency {dep.name} is missing or ambiguous")
        return found

    def run(self) -> InstallPlan:
        plan, lock = self.plan, self.lock
        for i in self.members.roots:
            plan.paths[i] = Via(lock.packages[i].name)
        start_paths = dict(plan.paths)
        if self.members.group_root is not None:
            gr = self.members.group_root
            start_paths[gr] = Via(lock.packages[gr].name)
        start_paths[_VIRTUAL_ROOT] = Via(WORKSPACE_ROOT)
        loose, queue = self._starts()
        seen: set[_State] = set(queue)
        for parent, dep in loose:
            self._visit(parent, dep, start_paths[parent], queue, seen, None)
        plan.roots.extend(p for p in dict.fromkeys(p for p, _ in loose) if p not in self.members.roots)
        conditions = self.state_conditions
        while queue:
            state = queue.popleft()
            index, extra = state
            path = plan.paths[index]
            condition = conditions.get(state) if conditions else None
            for dep in self._deps(index, extra):
                self._visit(index, dep, path, queue, seen, condition)
        return plan

    def _visit(
        self,
        parent: int,
        dep: Dependency,
        parent_path: Via,
        queue: deque[_State],
        seen: set[_State],
        condition: str | None,
    ) -> None:
        if dep.marker is not None:
            verdict = self._decide(dep, self.active, parent)
            if verdict is False or (verdict is None and self.definite):
                return
            if verdict is None and condition is None:
                condition = dep.marker
        child = self._child(dep)
        plan = self.plan
        plan.edges.setdefault(parent, []).append(child)
        if child not in plan.paths:
            plan.paths[child] = Via(dep.name, parent_path)
            plan.order.append(child)
            if condition is not None:
                plan.conditions[child] = condition
        state: _State = (child, None)
        if state not in seen:
            seen.add(state)
            queue.append(state)
            if condition is not None:
                self.state_conditions[state] = condition
        for extra in dep.extras:
            state = (child, extra)
            if state not in seen:
                seen.add(state)
                queue.append(state)
                if condition is not None:
                    self.state_conditions[state] = condition


def plan_install(
    lock: Lock, target: Target, selection: Selection = Selection(), members: Members | None = None
) -> InstallPlan:
    """Walk the lock for one target. Raises UsageError (bad selection) or InputError (bad marker).
    `members` (from `select_members`) saves resolving the selection again for every target."""
    evaluate = MarkerEvaluator(target.marker_environment)
    reason = supported(lock, target, evaluate)
    if reason:
        return InstallPlan.make(target, False, reason)
    members = members or select_members(lock, selection)
    plan = _Walk(lock, target, members).run()
    if plan.conditions:
        _settle_conditions(plan, _Walk(lock, target, members, definite=True).run())
    return plan


def _settle_conditions(plan: InstallPlan, definite: InstallPlan) -> None:
    """A package first reached through a "may hold" edge that a sure path reaches too installs surely:
    it loses its condition and takes the sure path."""
    for index in [i for i in plan.conditions if i in definite.paths]:
        del plan.conditions[index]
        plan.paths[index] = definite.paths[index]


def tag_ranks(target: Target) -> dict[str, int]:
    """Rank of every tag the target accepts (0 = best)."""
    return {tag: rank for rank, tag in enumerate(target.tags)}


def choose_wheel(wheels: Iterable[Wheel], ranks: dict[str, int]) -> Wheel | None:
    """The wheel an installer picks: best-ranked compatible tag, then the higher build tag."""
    best: Wheel | None = None
    best_rank = len(ranks)
    for wheel in wheels:
        rank = best_rank + 1
        for tag in wheel_tags(wheel.filename):
            r = ranks.get(tag)
            if r is not None and r < rank:
                rank = r
        if rank < best_rank:
            best, best_rank = wheel, rank
        elif rank == best_rank and best is not None and _build_key(wheel) < _build_key(best):
            best = wheel
    return best


def _build_key(wheel: Wheel) -> tuple[int, str]:
    """Lower is preferred: the higher build number first, then the lower suffix (the order the first
    version of this function kept, with the tag rank, in one key)."""
    number, suffix = wheel.build_tag if wheel.filename.count("-") == 5 else (-1, "")
    return -number, suffix


def installed_packages(
    lock: Lock, plan: InstallPlan, evidence: Mapping[str, WheelEvidence] | None = None
) -> list[InstalledPackage]:
    """The plan's packages with their chosen wheel (or how the target gets them without one, see
    `no_wheel_kind`) and accelerator label with its basis (`analysis.accelerators`: from the wheel
    itself; `evidence` holds what the index said about wheels, by URL, when it was asked)."""
    ranks = tag_ranks(plan.target)
    labels, runtime = _name_facts(lock)
    pylock = lock.format in FLAT_FORMATS  # no edges recorded (pylock, Poetry, PDM)
    beside = pylock and any(runtime[i] and _binary_wheel(lock.packages[i], ranks) for i in plan.order)
    environment = plan.target.marker_environment
    out = []
    for index in plan.order:
        package = lock.packages[index]
        if package.source.kind == "virtual":
            continue  # a virtual workspace member installs nothing of its own
        wheel = choose_wheel(package.wheels, ranks)
        label = labels[index]
        if label.basis is None and wheel is not None and package.name in TORCH_FAMILY:
            found = evidence.get(wheel.url) if evidence and wheel.url else None
            label = (
                wheel_label(package, wheel)
                or evidence_label(found, environment)
                or _fallback(lock, plan, index, wheel, found, runtime, ranks, beside)
            )
        kind, reason = ("wheel", None) if wheel else no_wheel_kind(package, lock.roots)
        out.append(
            InstalledPackage(
                package=package,
                wheel=wheel,
                path=plan.paths[index],
                accelerator=label.family,
                reason=reason,
                install_kind=kind,
                accelerator_basis=label.basis,
                condition=plan.conditions.get(index),
            )
        )
    return out


def _fallback(
    lock: Lock,
    plan: InstallPlan,
    index: int,
    wheel: Wheel,
    found: WheelEvidence | None,
    runtime: list[bool],
    ranks: dict[str, int],
    beside: bool,
) -> Label:
    """Rules 7-8 of `analysis.accelerators`: the known PyPI build, then the lock's own evidence."""
    edges: tuple[str, ...] | None = None
    if lock.format not in FLAT_FORMATS:
        edges = tuple(
            lock.packages[c].name
            for c in plan.edges.get(index, ())
            if runtime[c] and choose_wheel(lock.packages[c].wheels, ranks) is not None
        )
    return fallback_label(lock.packages[index], wheel, found, edges=edges, beside=beside)


def wants_evidence(item: InstalledPackage) -> bool:
    """True for an installed torch-family wheel whose label neither its name, version label, index nor
    platform decided: what the index says about the wheel itself can decide it (`analysis.wheel_evidence`)."""
    wheel = item.wheel
    if wheel is None or not wheel.url or item.name not in TORCH_FAMILY:
        return False
    return name_label(item.name, item.package.version).basis is None and wheel_label(item.package, wheel) is None


def _name_facts(lock: Lock) -> tuple[list[Label], list[bool]]:
    """Per package of the lock: the label its name or version label decides, and whether it is a CUDA
    runtime package; worked out once per lock and kept on it, since every target asks again (the one
    memo of these facts: docs/performance.md, `name-facts-per-lock`)."""
    facts = lock.__dict__.get("_name_facts")  # Lock keeps a __dict__ (model.Lock)
    if facts is None:
        facts = (
            [name_label(p.name, p.version) for p in lock.packages],
            [is_cuda_runtime(p.name) for p in lock.packages],
        )
        lock.__dict__["_name_facts"] = facts
    return facts


def _binary_wheel(package: Package, ranks: dict[str, int]) -> bool:
    """The package's wheel for the target is platform-specific (not `-any`)."""
    wheel = choose_wheel(package.wheels, ranks)
    return wheel is not None and not wheel.filename.endswith("-any.whl")


def no_wheel_kind(package: Package, members: tuple[str, ...] = ()) -> tuple[str, str]:
    """(install kind, reason) for a package the target gets without a wheel of its own (see
    `InstalledPackage.install_kind`): a workspace member (one of `members`) or local path is the
    project's own tree; an sdist, git checkout or source URL is built at install time; a registry package
    with neither a wheel for the target nor an sdist (or a wheel-only URL or file for another platform)
    cannot be installed there at all."""
    kind = package.source.kind
    if kind in ("directory", "editable"):
        if package.name in members:
            return "workspace", "workspace member"
        return "local", f"local path {package.source.value}"
    has_sdist = package.sdist_url is not None or package.sdist_size is not None
    if kind == "registry":
        if has_sdist:
            return "build", "no wheel for this target: built from the sdist"
        return "none", "no wheel and no sdist for this target: cannot install"
    if package.wheels and not has_sdist:  # a wheel file or URL that does not fit this platform
        return "none", f"its {kind} wheel does not fit this target: cannot install"
    if kind == "path":
        return "local", f"local path {package.source.value}"
    return "build", f"built from {kind} source"
