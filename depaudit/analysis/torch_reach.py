"""Which torch-family packages a locked project installs, and through which of its dependency lists.

`[tool.uv.sources]` binds only a project's *direct* dependencies, so a torch that arrives through, say,
sentence-transformers keeps its default (CUDA) build until it is declared directly. These functions
walk the lock graph from each of the project's dependency lists (runtime, each extra, each group) and
say which torch-family packages each list reaches, directly or not. Pure functions over the model.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from depaudit.families import is_torch_family
from depaudit.model import Dependency, Lock, Package
from depaudit.names import canonical_name as canonicalize_name

# A dependency list of the project: ("dependencies", None), ("extra", name) or ("group", name).
ListRef = tuple[str, "str | None"]


class TorchReach(NamedTuple):
    """One torch-family package the project installs: its locked version, the lists that declare it
    directly, and for each list that reaches it only transitively, the shortest path there."""

    name: str
    version: str | None
    direct_in: tuple[ListRef, ...]
    transitive_in: tuple[tuple[ListRef, tuple[str, ...]], ...]
    direct_in_member: bool = False

    @property
    def only_transitive(self) -> bool:
        return not self.direct_in and not self.direct_in_member


def root_package(lock: Lock, project_name: str | None = None) -> Package | None:
    """The lock's package for the project itself (a workspace root or the single root)."""
    wanted = canonicalize_name(project_name) if project_name else None
    roots = [p for p in lock.packages if p.name in lock.roots]
    for package in roots:
        if wanted and canonicalize_name(package.name) == wanted:
            return package
    for package in roots:
        if package.source.kind in ("virtual", "editable", "directory") and package.source.value in (".", ""):
            return package
    return roots[0] if len(roots) == 1 else None


def dependency_lists(root: Package) -> list[tuple[ListRef, tuple[Dependency, ...]]]:
    """The root's runtime dependencies, then each extra, then each group, as (ListRef, deps)."""
    lists: list[tuple[ListRef, tuple[Dependency, ...]]] = [(("dependencies", None), root.dependencies)]
    lists += [(("extra", name), deps) for name, deps in root.optional_dependencies]
    lists += [(("group", name), deps) for name, deps in root.dependency_groups]
    return lists


def reachable(
    lock: Lock, start: tuple[Dependency, ...], wanted: Callable[[str], bool] | None = None
) -> dict[str, tuple[str, ...]]:
    """Every package name reachable from `start` (markers ignored: any platform), each with the
    shortest chain of names that reaches it (the first element is the direct dependency). With
    `wanted`, only those names are returned. Linear in the lock: the walk keeps a parent link per
    name and materialises a chain only for the names returned."""
    by_name = lock.index.by_name  # the parsers store normalised names
    packages = lock.packages
    parent: dict[str, str | None] = {}
    queue: deque[tuple[Dependency, str | None]] = deque((d, None) for d in start)
    seen_extras: set[tuple[str, str]] = set()
    while queue:
        dep, via = queue.popleft()
        name = canonicalize_name(dep.name)
        first_visit = name not in parent
        if first_visit:
            parent[name] = via
        new_extras = [e for e in dep.extras if (name, e) not in seen_extras]
        if not first_visit and not new_extras:
            continue
        for package in (packages[i] for i in by_name.get(name, ())):
            if first_visit:
                queue.extend((d, name) for d in package.dependencies)
            for extra in new_extras:
                queue.extend((d, name) for d in package.extra(extra))
        seen_extras.update((name, e) for e in new_extras)
    return {name: _chain(parent, name) for name in parent if wanted is None or wanted(name)}


def _chain(parent: dict[str, str | None], name: str) -> tuple[str, ...]:
    out = [name]
    while (up := parent[out[-1]]) is not None:
        out.append(up)
    return tuple(reversed(out))


def torch_reach(lock: Lock, project_name: str | None = None) -> list[TorchReach]:
    """Each torch-family package the project's lists reach, sorted by name. Empty when the lock has
    no identifiable project root. Memoised on the lock (several rules ask during one scan)."""
    cache = lock.__dict__.setdefault("_torch_reach", {})  # Lock keeps a __dict__ (model.Lock)
    if project_name not in cache:
        cache[project_name] = _torch_reach(lock, project_name)
    return list(cache[project_name])


def _torch_reach(lock: Lock, project_name: str | None) -> list[TorchReach]:
    root = root_package(lock, project_name)
    if root is None:
        return []
    members = [p for p in lock.packages if p.name in lock.roots and p is not root]
    member_direct = {canonicalize_name(d.name) for m in members for _, deps in dependency_lists(m) for d in deps}
    versions: dict[str, str | None] = {}
    for package in lock.packages:
        if is_torch_family(package.name):
            versions.setdefault(canonicalize_name(package.name), package.version)
    if not versions:
        return []  # no torch-family package locked: nothing can reach one
    direct: dict[str, list[ListRef]] = {}
    transitive: dict[str, list[tuple[ListRef, tuple[str, ...]]]] = {}
    for ref, deps in dependency_lists(root):
        names = {canonicalize_name(d.name) for d in deps}
        for name, path in reachable(lock, deps, is_torch_family).items():
            if name in names:
                direct.setdefault(name, []).append(ref)
            else:
                transitive.setdefault(name, []).append((ref, path))
    result = []
    for name in sorted(set(direct) | set(transitive)):
        result.append(
            TorchReach(
                name,
                versions.get(name),
                tuple(direct.get(name, ())),
                tuple(transitive.get(name, ())),
                name in member_direct,
            )
        )
    return result


def runtime_torch_paths(lock: Lock, project_name: str | None = None) -> list[tuple[str, ...]]:
    """For each runtime dependency of the project that is not itself torch-family but brings a
    torch-family package in, the shortest chain from it to that package (`("sentence-transformers",
    "torch")`), sorted. Empty when the lock has no identifiable project root."""
    root = root_package(lock, project_name)
    if root is None:
        return []
    paths = []
    for dep in root.dependencies:
        if is_torch_family(dep.name):
            continue
        hits = sorted((len(path), path) for name, path in reachable(lock, (dep,)).items() if is_torch_family(name))
        if hits:
            paths.append(hits[0][1])
    return sorted(set(paths))
