"""`scan_lock`: the library entry point behind `depaudit scan`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from depaudit.analysis.attribution import exclusive_members
from depaudit.analysis.install_set import InstallPlan, installed_packages, plan_install, select_members
from depaudit.analysis.size_lookup import DEFAULT_DEADLINE, default_cache_dir
from depaudit.analysis.sizes import fill_sizes
from depaudit.model import InstalledPackage, Lock, Selection, SizeReport, TargetReport, TopLevelCost
from depaudit.sources.uvlock import load_lock
from depaudit.targets import DEFAULT_TARGETS, make_target, python_from_requires

_DEFAULT = object()


def scan_lock(
    path: str | Path | Lock,
    *,
    targets: Sequence[str] | None = None,
    python: str | None = None,
    selection: Selection = Selection(),
    offline: bool = False,
    cache_dir: Path | object | None = _DEFAULT,
    installed: bool = False,
    progress: Callable[[int, int], None] | None = None,
    glibc: str | None = None,
    macos: str | None = None,
    bytecode: bool = False,
    allow_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
    verify_sizes: bool = False,
) -> SizeReport:
    """Scan a uv.lock or pylock.toml: per target, what installs, each wheel's size, accelerators, paths.

    `targets` (platform names, see `depaudit.targets`) defaults to the four presets; `python` to the
    lowest version `requires-python` admits; `macos` to 14.0 for macos-arm64, to
    $MACOSX_DEPLOYMENT_TARGET, else 13.0 (as uv) for the apple-darwin names.
    `selection` picks workspace members, extras and groups as `uv sync` options do (default: the
    production install of the root project). Sizes come from the lock, else the index (cached in
    `cache_dir`, default the user cache; None disables caching); `offline` forbids network access;
    look-ups reach only the lock's registries (and their file hosts) at global addresses, plus
    `allow_hosts`, within `lookup_deadline` seconds for all of them (what has no answer by then stays
    unknown). A size is the wheel download by default; `installed` makes it the wheel's
    uncompressed contents, `bytecode` those plus an estimate of the `.pyc` files pip compiles.
    `verify_sizes` (online, download sizes): every registry wheel's size is checked against the index
    and the index's number used (`SizeReport.sizes_checked`; DA105 names a lock size that differs).
    Raises InputError (bad lock) or UsageError (unknown target, member, extra or group). Unknown sizes
    are data (None), not errors.
    """
    lock = path if isinstance(path, Lock) else load_lock(path)
    cache = default_cache_dir() if cache_dir is _DEFAULT else cast("Path | None", cache_dir)
    py = python or python_from_requires(lock.requires_python)
    deployment = os.environ.get("MACOSX_DEPLOYMENT_TARGET") or None  # uv honours it too (uv names only)
    chosen = [make_target(name, py, glibc, macos, deployment) for name in (targets or DEFAULT_TARGETS)]
    members = select_members(lock, selection)
    plans = [plan_install(lock, target, selection, members) for target in chosen]
    per_target = [installed_packages(lock, plan) if plan.supported else [] for plan in plans]
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
        deadline=lookup_deadline,
        verify=verify_sizes,
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
        sizes_checked=verify_sizes and not offline and basis == "download",
    )


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
