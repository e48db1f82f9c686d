"""Which packages a target installs from a lock, which wheel each gets, and why each is there.

Walks the lock's graph breadth-first from the workspace root(s), keeping only edges whose markers hold
for the target (with the user's extras and groups active), so the first path that reaches a package is
a shortest one. Wheels are chosen by the target's tag priority, ties broken by the higher build tag.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from depaudit.analysis.accelerators import TORCH_FAMILY, accelerator_family
from depaudit.analysis.markers import MarkerError, MarkerEvaluator, normalize_extra
from depaudit.errors import InputError, UsageError
from depaudit.model import Dependency, InstalledPackage, Lock, Package, Selection, Target, Wheel
from depaudit.sources.uvlock import resolve

_TAG_RANKS: dict[tuple[str, str], dict[str, int]] = {}


@dataclass
class InstallPlan:
    """The packages a target installs (lock indices, in BFS order), their paths and the active graph."""

    target: Target
    supported: bool
    reason: str | None = None
    order: list[int] = field(default_factory=list)
    via: dict[int, tuple[str, ...]] = field(default_factory=dict)
    edges: dict[int, set[int]] = field(default_factory=dict)
    roots: list[int] = field(default_factory=list)


def selected_markers(lock: Lock, selection: Selection) -> dict[int, frozenset[str]]:
    """Per root (lock index), the extras and groups the user selected, as uv encodes them in markers.

    Raises UsageError for an extra or group no root defines, and for a selection uv's conflicts forbid.
    """
    by_name = _index(lock)
    wanted_extras = {normalize_extra(e) for e in selection.extras}
    wanted_groups = {normalize_extra(g) for g in selection.groups}
    found_extras: set[str] = set()
    found_groups: set[str] = set()
    active: dict[int, frozenset[str]] = {}
    chosen: set[tuple[str, str, str]] = set()
    for root in lock.roots:
        for index in by_name[root]:
            package = lock.packages[index]
            extras = {name for name, _ in package.optional_dependencies}
            groups = {name for name, _ in package.dependency_groups}
            pick_extras = extras if selection.all_extras else extras & wanted_extras
            pick_groups = groups & wanted_groups
            found_extras |= extras & wanted_extras
            found_groups |= groups & wanted_groups
            chosen |= {("extra", package.name, e) for e in pick_extras}
            chosen |= {("group", package.name, g) for g in pick_groups}
            n = len(package.name)
            active[index] = frozenset(
                {f"extra-{n}-{package.name}-{e}" for e in pick_extras}
                | {f"group-{n}-{package.name}-{g}" for g in pick_groups}
                | pick_extras
            )
    if lock.format == "pylock.toml":
        # pylock.toml has no per-project tables: selections act through `'x' in extras` markers.
        return {i: frozenset(wanted_extras | wanted_groups | set(lock.default_groups)) for i in active}
    _check_selection(lock, wanted_extras - found_extras, wanted_groups - found_groups, chosen)
    return active


def _check_selection(lock: Lock, missing_extras: set[str], missing_groups: set[str], chosen: set) -> None:
    if missing_extras:
        raise UsageError(f"no extra named {', '.join(sorted(missing_extras))} in {lock.path}")
    if missing_groups:
        raise UsageError(f"no dependency group named {', '.join(sorted(missing_groups))} in {lock.path}")
    for conflict in lock.conflicts:
        clash = [item for item in conflict if item in chosen]
        if len(clash) > 1:
            names = " and ".join(f"{kind} {name}" for kind, _, name in clash)
            raise UsageError(f"{names} conflict (tool.uv.conflicts in the project): choose one")


def _index(lock: Lock) -> dict[str, list[int]]:
    by_name: dict[str, list[int]] = {}
    for i, package in enumerate(lock.packages):
        by_name.setdefault(package.name, []).append(i)
    return by_name


def supported(lock: Lock, target: Target, evaluate: MarkerEvaluator) -> str | None:
    """None when the lock supports the target, else why not (requires-python, supported-markers)."""
    if lock.requires_python:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            spec = SpecifierSet(lock.requires_python)
        except InvalidSpecifier:
            raise InputError(lock.path, f"invalid requires-python {lock.requires_python!r}") from None
        full = target.marker_environment["python_full_version"]
        if not spec.contains(full, prereleases=True):
            return f"Python {target.python} is outside the lock's requires-python {lock.requires_python}"
    if lock.supported_markers:
        try:
            if not any(evaluate(m) for m in lock.supported_markers):
                return "the lock's supported-markers (tool.uv.environments) exclude this platform"
        except MarkerError as exc:
            raise InputError(lock.path, f"supported-markers: {exc}") from None
    return None


def plan_install(lock: Lock, target: Target, selection: Selection = Selection()) -> InstallPlan:
    """Walk the lock for one target. Raises UsageError (bad selection) or InputError (bad marker)."""
    evaluate = MarkerEvaluator(target.marker_environment)
    reason = supported(lock, target, evaluate)
    if reason:
        return InstallPlan(target, False, reason)
    by_name = _index(lock)
    root_markers = selected_markers(lock, selection)
    active = frozenset().union(*root_markers.values()) if root_markers else frozenset()
    plan = InstallPlan(target, True)
    expanded: dict[int, set[str]] = {}
    queue: deque[tuple[int, Iterable[Dependency], frozenset[str]]] = deque()
    for index in sorted(root_markers):
        package = lock.packages[index]
        plan.roots.append(index)
        plan.via[index] = (package.name,)
        edges = list(package.dependencies)
        for name, deps in package.optional_dependencies:
            if name in root_markers[index]:
                edges.extend(deps)
        for name, deps in package.dependency_groups:
            if f"group-{len(package.name)}-{package.name}-{name}" in root_markers[index]:
                edges.extend(deps)
        queue.append((index, edges, active | root_markers[index]))
    while queue:
        parent, edges, extras = queue.popleft()
        for dep in edges:
            try:
                if not evaluate(dep.marker, extras):
                    continue
            except MarkerError as exc:
                raise InputError(lock.path, f"package {lock.packages[parent].name}: {exc}") from None
            child = _target_of(lock, by_name, dep)
            plan.edges.setdefault(parent, set()).add(child)
            package = lock.packages[child]
            if child not in plan.via:
                plan.via[child] = plan.via[parent] + (package.name,)
                plan.order.append(child)
                expanded[child] = set()
                queue.append((child, package.dependencies, active))
            new = [e for e in dep.extras if e not in expanded[child]] if child in expanded else []
            if new:
                expanded[child].update(new)
                extra_edges = [d for name, deps in package.optional_dependencies if name in new for d in deps]
                queue.append((child, extra_edges, active | frozenset(new)))
    plan.order = [i for i in plan.order if i not in root_markers]
    return plan


def _target_of(lock: Lock, by_name: dict[str, list[int]], dep: Dependency) -> int:
    candidates = by_name[dep.name]
    if len(candidates) == 1:
        return candidates[0]
    packages = [lock.packages[i] for i in candidates]
    match = resolve(dep, packages)
    if match is None:  # load_lock rejects such locks; a Lock built by hand may still have one
        raise InputError(lock.path, f"dependency {dep.name} is ambiguous ({len(candidates)} versions locked)")
    return candidates[packages.index(match)]


def tag_ranks(target: Target) -> dict[str, int]:
    key = (target.name, target.python + "|" + target.tags[0])
    ranks = _TAG_RANKS.get(key)
    if ranks is None:
        ranks = _TAG_RANKS[key] = {tag: rank for rank, tag in enumerate(target.tags)}
    return ranks


def choose_wheel(wheels: Iterable[Wheel], ranks: dict[str, int]) -> Wheel | None:
    """The wheel an installer picks: best-ranked compatible tag, then the higher build tag."""
    best: Wheel | None = None
    best_key: tuple | None = None
    for wheel in wheels:
        rank = min((ranks[t] for t in wheel.tags if t in ranks), default=None)
        if rank is None:
            continue
        number, suffix = wheel.build_tag
        key = (rank, -number, suffix)
        if best_key is None or key < best_key:
            best, best_key = wheel, key
    return best


def installed_packages(lock: Lock, plan: InstallPlan) -> list[InstalledPackage]:
    """The plan's packages with their chosen wheel (or why there is none) and accelerator family."""
    ranks = tag_ranks(plan.target)
    out = []
    families: dict[int, str | None] = {
        i: accelerator_family(lock.packages[i].name, lock.packages[i].version) for i in plan.order
    }
    for index in plan.order:
        package = lock.packages[index]
        if package.source.kind == "virtual":
            continue  # a virtual workspace member installs nothing of its own
        wheel = choose_wheel(package.wheels, ranks)
        family = families[index]
        if family is None and package.name in TORCH_FAMILY:
            # PyPI's Linux torch is a CUDA build without a local version label: it shows by the CUDA
            # wheels it depends on (a pylock has no edges, so any CUDA wheel in the set counts there).
            children = plan.order if lock.format == "pylock.toml" else plan.edges.get(index, ())
            if any(families.get(child) for child in children):
                family = "torch-cuda"
        out.append(InstalledPackage(
            package=package, wheel=wheel, via=plan.via[index], accelerator=family,
            reason=None if wheel else _no_wheel_reason(package),
        ))
    return out


def _no_wheel_reason(package: Package) -> str:
    kind = package.source.kind
    if kind == "registry":
        return "sdist only: built from source" if package.sdist_url or package.sdist_size is not None \
            else "no wheel or sdist for this target"
    return f"built from {kind} source"
