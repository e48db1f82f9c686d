"""`scan_lock`: the library entry point behind `depaudit scan`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from depaudit.analysis.accelerators import WheelEvidence
from depaudit.analysis.attribution import exclusive_members
from depaudit.analysis.host_policy import HostPolicy, registry_hosts
from depaudit.analysis.install_set import (
    InstallPlan,
    installed_packages,
    plan_install,
    select_members,
    wants_evidence,
)
from depaudit.analysis.sizes import fill_sizes, index_unreachable
from depaudit.logs import get_logger
from depaudit.model import InstalledPackage, Lock, Selection, SizeReport, TargetReport, TopLevelCost
from depaudit.sources.uvlock import load_lock
from depaudit.targets import DEFAULT_TARGETS, make_target, python_from_requires

log = get_logger(__name__)


def scan_lock(
    path: str | Path | Lock,
    *,
    targets: Sequence[str] | None = None,
    python: str | None = None,
    selection: Selection = Selection(),
    offline: bool = False,
    cache_dir: Path | None = None,
    installed: bool = False,
    progress: Callable[[int, int], None] | None = None,
    glibc: str | None = None,
    macos: str | None = None,
    bytecode: bool = False,
    allow_hosts: Sequence[str] = (),
    project_hosts: Sequence[str] = (),
    deployment: str | None = None,
) -> SizeReport:
    """Scan a uv.lock or pylock.toml: per target, what installs, each wheel's size, accelerators, paths.

    `targets` (platform names, see `depaudit.targets`) defaults to the four presets; `python` to the
    lowest version `requires-python` admits; `macos` to 14.0 for macos-arm64, to `deployment` (the
    edge passes $MACOSX_DEPLOYMENT_TARGET, as uv reads it), else 13.0 (as uv) for the apple-darwin names.
    `selection` picks workspace members, extras and groups as `uv sync` options do (default: the
    production install of the root project). Sizes come from the lock, else the index (cached in
    `cache_dir`; None: no disk cache); `offline` forbids network access; look-ups reach only the lock's
    registries (and their file hosts) at global addresses, plus `allow_hosts` (any address: the command
    line's) and `project_hosts` (global addresses only: a checkout's). A size is the wheel download by default; `installed` makes it the wheel's
    uncompressed contents, `bytecode` those plus an estimate of the `.pyc` files pip compiles.
    Raises InputError (bad lock) or UsageError (unknown target, member, extra or group). Unknown sizes
    are data (None), not errors.
    """
    lock = path if isinstance(path, Lock) else load_lock(path)
    cache = cache_dir
    py = python or python_from_requires(lock.requires_python)
    chosen = [make_target(name, py, glibc, macos, deployment) for name in (targets or DEFAULT_TARGETS)]
    members = select_members(lock, selection)
    plans = [plan_install(lock, target, selection, members) for target in chosen]
    per_target = [installed_packages(lock, plan) if plan.supported else [] for plan in plans]
    hosts = (allow_hosts, project_hosts)
    evidence = _wheel_evidence(lock, plans, per_target, offline=offline, cache=cache, hosts=hosts)
    if evidence:  # what the wheels say about themselves can change torch-family labels: label again
        per_target = [installed_packages(lock, plan, evidence) if plan.supported else [] for plan in plans]
    _log_labels(per_target, plans)
    # One look-up pass for every target, so shared wheels are fetched once and progress is one bar.
    flat = [item for items in per_target for item in items]
    basis = "bytecode" if bytecode else "installed" if installed else "download"
    sized = fill_sizes(
        flat,
        offline=offline,
        cache_dir=cache,
        progress=progress,
        basis=basis,
        allow_hosts=allow_hosts,
        project_hosts=project_hosts,
    )
    reports = []
    start = 0
    for plan, items in zip(plans, per_target, strict=True):
        packages = sized[start : start + len(items)]
        start += len(items)
        if not plan.supported:
            reports.append(TargetReport(plan.target, False, unsupported_reason=plan.reason))
            continue
        top = _top_level(lock, packages, exclusive_members(plan.roots, plan.edges))
        reports.append(TargetReport(plan.target, True, tuple(packages), top))
    return SizeReport(
        lockfile=str(lock.path),
        targets=tuple(reports),
        installed_sizes=basis != "download",
        scope=members.scope,
        size_basis=basis,
    )


def unreachable_index(report: SizeReport) -> tuple[str, ...]:
    """The distinct reasons size look-ups of `report` failed because the index could not be reached
    (`analysis.sizes.index_unreachable`); empty when every look-up got an answer or none was made."""
    errors = {e for t in report.targets for p in t.packages if (e := p.size_error) is not None}
    return tuple(sorted(e for e in errors if index_unreachable(e)))


def _log_labels(per_target: list[list[InstalledPackage]], plans: list[InstallPlan]) -> None:
    """`--verbose`: which evidence decided each label other than by name (torch-family builds above all)."""
    if "logging" not in sys.modules:  # nobody can show an INFO record: skip the loop (see depaudit.logs)
        return
    for plan, items in zip(plans, per_target, strict=True):
        for item in items:
            if item.accelerator_basis and item.accelerator_basis != "name":
                what = item.accelerator or "not an accelerator build"
                log.info(
                    "label: %s %s on %s: %s (%s)",
                    item.name,
                    item.package.version,
                    plan.target.name,
                    what,
                    item.accelerator_basis,
                )


def _wheel_evidence(
    lock: Lock,
    plans: list[InstallPlan],
    per_target: list[list[InstalledPackage]],
    *,
    offline: bool,
    cache: Path | None,
    hosts: tuple[Sequence[str], Sequence[str]],
) -> dict[str, WheelEvidence]:
    """What the index says about the torch-family wheels nothing else labels, with the marker environment
    of each target that chose each (cached; offline only the cache)."""
    wanted: dict[str, list[dict[str, str]]] = {}
    for plan, items in zip(plans, per_target, strict=True):
        for item in items:
            if wants_evidence(item) and item.wheel is not None and item.wheel.url:
                wanted.setdefault(item.wheel.url, []).append(plan.target.marker_environment)
    if not wanted:
        return {}
    from depaudit.analysis.wheel_evidence import wheel_evidence  # only a lock with torch-family wheels pays

    registries = registry_hosts({p.source.value for p in lock.packages if p.source.kind == "registry"})
    return wheel_evidence(wanted, offline=offline, cache_dir=cache, hosts=HostPolicy.make(registries, *hosts))


def _top_level(lock: Lock, packages: list[InstalledPackage], members: dict[int, list[int]]) -> tuple[TopLevelCost, ...]:
    by_name = {p.name: p for p in packages}
    costs = []
    for top, nodes in members.items():
        names = sorted({lock.packages[n].name for n in nodes if lock.packages[n].name in by_name})
        items = [by_name[n] for n in names]
        costs.append(
            TopLevelCost(
                name=lock.packages[top].name,
                packages=tuple(names),
                total_bytes=sum(i.size for i in items if i.size is not None),
                accelerator_bytes=sum(i.size for i in items if i.size is not None and i.accelerator),
                unknown=sum(1 for i in items if i.size is None and i.wheel is not None),
            )
        )
    return tuple(sorted(costs, key=lambda c: (-c.total_bytes, c.name)))


__all__ = ["InstallPlan", "scan_lock"]
