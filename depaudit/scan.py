"""`scan_lock`: the library entry point behind `depaudit scan`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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
from depaudit.analysis.size_lookup import DEFAULT_DEADLINE
from depaudit.analysis.sizes import fill_sizes, index_unreachable, locate_wheels
from depaudit.errors import UsageError
from depaudit.fileio import read_text
from depaudit.logs import get_logger
from depaudit.model import (
    InstalledPackage,
    InstallScope,
    Lock,
    Resolved,
    RunReport,
    Selection,
    SizeReport,
    Target,
    TargetReport,
    TopLevelCost,
)
from depaudit.sources.inputs import load_any_lock
from depaudit.sources.tomlparse import parse_toml
from depaudit.sources.uvlock import load_lock
from depaudit.targets import DEFAULT_TARGETS, make_target, python_from_requires

if TYPE_CHECKING:  # resolving imports subprocess machinery a plain lock scan never needs (start-up)
    from depaudit.analysis.docker_resolve import ResolvedRun
    from depaudit.analysis.resolve import ResolveOptions, TargetResolution

log = get_logger(__name__)
Hosts = tuple[Sequence[str], Sequence[str]]  # (allowed by the command line or environment, by the project)


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
    lookup_deadline: float | None = DEFAULT_DEADLINE,
    verify_sizes: bool = False,
) -> SizeReport:
    """Scan a uv.lock or pylock.toml: per target, what installs, each wheel's size, accelerators, paths.

    `targets` (platform names, see `depaudit.targets`) defaults to the four presets; `python` to the
    lowest version `requires-python` admits; `macos` to 14.0 for macos-arm64, to `deployment` (the
    edge passes $MACOSX_DEPLOYMENT_TARGET, as uv reads it), else 13.0 (as uv) for the apple-darwin names.
    `selection` picks workspace members, extras and groups as `uv sync` options do (default: the
    production install of the root project). Sizes come from the lock, else the index (cached in
    `cache_dir`; None: no disk cache); `offline` forbids network access; look-ups reach only the lock's
    registries (and their file hosts) at global addresses, plus `allow_hosts` (any address: the command
    line's) and `project_hosts` (global addresses only: a checkout's), within `lookup_deadline` seconds
    for all of them (what has no answer by then stays unknown). A size is the wheel download by
    default; `installed` makes it the wheel's uncompressed contents, `bytecode` those plus an estimate
    of the `.pyc` files pip compiles. `verify_sizes` (online, download sizes): every registry wheel's
    size is checked against the index and the index's number used (`SizeReport.sizes_checked`; DA105
    names a lock size that differs).
    `verify_sizes` (online, download sizes): every registry wheel's size is checked against the index
    and the index's number used (`SizeReport.sizes_checked`; DA105 names a lock size that differs).
    Raises InputError (bad lock) or UsageError (unknown target, member, extra or group). Unknown sizes
    are data (None), not errors.
    """
    lock = path if isinstance(path, Lock) else load_lock(path)
    py = python or python_from_requires(lock.requires_python)
    chosen = make_targets(targets, py, glibc, macos, deployment)
    members = select_members(lock, selection)
    measured = [(lock, plan_install(lock, target, selection, members), None) for target in chosen]
    hosts = (allow_hosts, project_hosts)
    basis = _basis(installed, bytecode)
    report = _measure(measured, offline, cache_dir, progress, basis, hosts, lookup_deadline, verify_sizes)
    return report._replace(lockfile=str(lock.path), scope=members.scope, input_kind=lock.format)


class InputOptions(NamedTuple):
    """How `scan_input` reads an input that is not a lock: the uv command (None: found when needed,
    `process.find_uv`), the `--exclude-newer` cut-off, the CPU index a Dockerfile's lines are compared
    with, the Dockerfile's build context (None: its folder, then the parent), and a callback told
    what is being resolved (for a progress line), and the folder a requirements file's includes must
    stay in (None: the file's own folder)."""

    uv: tuple[str, ...] | None = None
    exclude_newer: str | None = None
    cpu_index_url: str | None = None
    compare_cpu: bool = True  # also resolve each Dockerfile line with the CPU index (diff does not need it)
    context: Path | None = None
    announce: Callable[[str], None] | None = None
    root: Path | None = None  # what a requirements file may include from (default: its own folder)


def scan_input(
    path: Path,
    kind: str,
    *,
    text: str | None = None,
    text_on_disk: bool = False,
    targets: Sequence[str] | None = None,
    python: str | None = None,
    selection: Selection = Selection(),
    offline: bool = False,
    cache_dir: Path | None = None,
    installed: bool = False,
    bytecode: bool = False,
    progress: Callable[[int, int], None] | None = None,
    glibc: str | None = None,
    macos: str | None = None,
    allow_hosts: Sequence[str] = (),
    project_hosts: Sequence[str] = (),
    deployment: str | None = None,
    lookup_deadline: float | None = DEFAULT_DEADLINE,
    verify_sizes: bool = False,
    inputs: InputOptions = InputOptions(),
) -> tuple[SizeReport, Lock | None]:
    """Scan any input depaudit reads (`kind` from `sources.detect.detect_kind`): a lock (uv.lock,
    pylock.toml, poetry.lock, pdm.lock; `text` when read from git, or with `text_on_disk` when it is the
    file's content, read already), a requirements file or an unlocked
    pyproject.toml (resolved per target by uv), or a Dockerfile (each RUN line resolved for the image's
    platform, unless `targets` names others). Returns the report and the lock the lock rules read (the
    first target's resolution for a resolved input; None for a Dockerfile). Raises InputError,
    UsageError or ToolError (uv missing, the index unreachable for a resolution: exit 4)."""
    sizes = {
        "offline": offline,
        "cache_dir": cache_dir,
        "progress": progress,
        "allow_hosts": allow_hosts,
        "project_hosts": project_hosts,
        "lookup_deadline": lookup_deadline,
    }
    if kind not in ("requirements", "pyproject", "dockerfile"):
        lock, selection = load_any_lock(path, kind, selection, text, on_disk=text_on_disk)
        report = scan_lock(
            lock,
            targets=targets,
            python=python,
            selection=selection,
            installed=installed,
            bytecode=bytecode,
            glibc=glibc,
            macos=macos,
            deployment=deployment,
            verify_sizes=verify_sizes,
            **sizes,  # type: ignore[arg-type]
        )
        return report, lock
    # Resolution runs uv in subprocesses: imported here, so a plain lock scan never loads it (start-up).
    from depaudit.analysis import resolve
    from depaudit.process import find_uv

    cache = cache_dir
    options = resolve.ResolveOptions(
        inputs.uv or tuple(find_uv(f"to scan {_KIND_WORDS[kind]} (uv resolves it)")),
        cache,
        offline,
        resolve.check_exclude_newer(inputs.exclude_newer),
        tuple(allow_hosts),
        glibc=glibc,
        macos=macos,
    )
    version = resolve.uv_version(options.uv)
    if inputs.announce is not None:
        inputs.announce(f"resolving {path} with {version}")
    if kind == "dockerfile":
        return _scan_dockerfile_input(path, targets, python, options, inputs, version, sizes), None
    if kind == "requirements" and (selection.extras or selection.groups or selection.all_extras):
        raise UsageError("--extra/--group apply to a project, not to a requirements file")
    source = resolve.ResolveInput(
        kind,  # type: ignore[arg-type]
        path,
        inputs.root or path.parent,
        selection.extras,
        selection.all_extras,
        selection.groups,
    )
    chosen = make_targets(targets, python or _project_python(path, kind), glibc, macos, deployment)
    resolutions = resolve.resolve_targets(source, chosen, options, version)
    report = scan_resolved(
        resolutions,
        label=str(path),
        resolved=resolve.resolved_by(source, options, version),
        installed=installed,
        bytecode=bytecode,
        **sizes,  # type: ignore[arg-type]
    )
    return report, next((r.lock for r in resolutions if r.lock is not None), None)


_KIND_WORDS = {
    "requirements": "a requirements file",
    "pyproject": "a pyproject.toml without a lock",
    "dockerfile": "what a Dockerfile's RUN lines install",
}


def _scan_dockerfile_input(
    path: Path,
    targets: Sequence[str] | None,
    python: str | None,
    options: ResolveOptions,
    inputs: InputOptions,
    version: str,
    sizes: dict[str, Any],
) -> SizeReport:
    from depaudit.analysis.docker_resolve import resolve_dockerfile
    from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL

    runs = resolve_dockerfile(
        path,
        inputs.context,
        options,
        targets=targets,
        python=python,
        cpu_index_url=(inputs.cpu_index_url or DEFAULT_CPU_INDEX_URL) if inputs.compare_cpu else None,
        version=version,
    )
    resolved = Resolved("dockerfile", version, options.as_of, options.exclude_newer)
    return scan_dockerfile(runs, label=str(path), resolved=resolved, **sizes)


def _project_python(path: Path, kind: str) -> str:
    """The lowest Python a pyproject's requires-python admits (3.11 for a requirements file)."""
    if kind != "pyproject":
        return python_from_requires(None)
    project = parse_toml(read_text(path, "pyproject.toml"), path).get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    return python_from_requires(requires if isinstance(requires, str) else None)


def make_targets(
    names: Sequence[str] | None,
    python: str,
    glibc: str | None = None,
    macos: str | None = None,
    deployment: str | None = None,
) -> list[Target]:
    """The Targets for platform names (default: the four presets) at one Python (`deployment`: the
    $MACOSX_DEPLOYMENT_TARGET uv reads, for its apple-darwin names). UsageError for an unknown name or
    version."""
    return [make_target(name, python, glibc, macos, deployment) for name in (names or DEFAULT_TARGETS)]


def scan_resolved(
    resolutions: Sequence[TargetResolution],
    *,
    label: str,
    resolved: Resolved,
    offline: bool = False,
    cache_dir: Path | None = None,
    installed: bool = False,
    bytecode: bool = False,
    progress: Callable[[int, int], None] | None = None,
    allow_hosts: Sequence[str] = (),
    project_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
) -> SizeReport:
    """Scan what a resolver answered per target (`analysis.resolve`): each target's pylock-form Lock
    measured as `scan_lock` measures one; a target without one is reported not installable (its
    budgets cannot pass). `label` names the input, `resolved` says how it was resolved."""
    measured: list[Measured] = []
    for item in resolutions:
        if item.lock is None:
            measured.append((None, InstallPlan.make(item.target, False, item.error), item.error))
        else:
            measured.append((item.lock, plan_install(item.lock, item.target), None))
    hosts = (allow_hosts, project_hosts)
    report = _measure(measured, offline, cache_dir, progress, _basis(installed, bytecode), hosts, lookup_deadline)
    scope = InstallScope((), "resolved", (), ())
    return report._replace(lockfile=label, scope=scope, input_kind=resolved.kind, resolved=resolved)


def scan_dockerfile(
    runs: Sequence[ResolvedRun],
    *,
    label: str,
    resolved: Resolved,
    offline: bool = False,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_hosts: Sequence[str] = (),
    project_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
) -> SizeReport:
    """Measure what each RUN line installs (`analysis.docker_resolve.resolve_dockerfile`): per line
    and target, download and installed bytes, the accelerator part, and the same line from the CPU
    index (`runs`); per target, what all the lines install together (later lines replace a package an
    earlier one installed), as a scan of one lock would report it. A line that could not be resolved
    leaves its target's totals unknown (not installable: its budgets cannot pass)."""
    cache = cache_dir
    plans = [(r, _items(r.installs, r.selection), _items(r.cpu, Selection())) for r in runs]
    flat = [item for _, own, cpu in plans for item in (*(own or ()), *(cpu or ()))]
    flat = locate_wheels(flat, offline=offline, cache_dir=cache, allow_hosts=allow_hosts, project_hosts=project_hosts)

    def sizes(basis: str, shown: Callable[[int, int], None] | None = None) -> list[InstalledPackage]:
        return fill_sizes(
            flat,
            offline=offline,
            cache_dir=cache,
            progress=shown,
            basis=basis,
            allow_hosts=allow_hosts,
            project_hosts=project_hosts,
            deadline=lookup_deadline,
        )

    download, unpacked = sizes("download", progress), sizes("installed")
    reports: list[RunReport] = []
    union: dict[str, dict[str, InstalledPackage]] = {}
    failed: dict[str, str] = {}
    start = 0
    for run, own, cpu in plans:
        n_own, n_cpu = len(own or ()), len(cpu or ())
        own_sized, own_unpacked = download[start : start + n_own], unpacked[start : start + n_own]
        cpu_sized = download[start + n_own : start + n_own + n_cpu]
        start += n_own + n_cpu
        reports.append(_run_report(label, run, own, own_sized, own_unpacked, cpu, cpu_sized))
        if own is None:
            failed.setdefault(run.target.name, f"line {run.run.line}: {reports[-1].problem}")
        union.setdefault(run.target.name, {}).update({p.name: p for p in own_sized})
    targets = {r.target.name: r.target for r in runs}
    per_target = tuple(
        TargetReport(target, False, unsupported_reason=failed[name], unresolved=True)
        if name in failed
        else TargetReport(target, True, tuple(union.get(name, {}).values()))
        for name, target in targets.items()
    )
    return SizeReport(
        lockfile=label,
        targets=per_target,
        scope=InstallScope((), "resolved", (), ()),
        input_kind="dockerfile",
        resolved=resolved,
        runs=tuple(reports),
    )


def _items(resolution: TargetResolution | None, selection: Selection) -> list[InstalledPackage] | None:
    """What a resolved line installs for its target (None: it did not resolve)."""
    if resolution is None or resolution.lock is None:
        return None
    plan = plan_install(resolution.lock, resolution.target, selection)
    return installed_packages(resolution.lock, plan) if plan.supported else None


def _run_report(
    label: str,
    run: ResolvedRun,
    own: list[InstalledPackage] | None,
    sized: Sequence[InstalledPackage],
    unpacked: Sequence[InstalledPackage],
    cpu: list[InstalledPackage] | None,
    cpu_sized: Sequence[InstalledPackage],
) -> RunReport:
    ins = run.run.instruction
    base = RunReport(label, ins.line, ins.end_line, run.run.command, run.target.name)
    if own is None:
        why = run.problem or (run.installs.error if run.installs is not None else None) or "not resolved"
        return base._replace(problem=why)
    unknown = sum(1 for p in sized if p.size is None and p.wheel is not None)
    cpu_unknown = any(p.size is None and p.wheel is not None for p in cpu_sized)
    cpu_why = run.cpu_problem or (run.cpu.error if run.cpu is not None and run.cpu.lock is None else None)
    return base._replace(
        packages=len(sized),
        download=sum(p.size or 0 for p in sized),
        installed=None if any(p.size is None for p in unpacked if p.wheel) else sum(p.size or 0 for p in unpacked),
        accelerator=sum(p.size or 0 for p in sized if p.accelerator),
        unknown=unknown,
        cpu_download=None if cpu is None or cpu_unknown else sum(p.size or 0 for p in cpu_sized),
        cpu_accelerator=None if cpu is None else sum(p.size or 0 for p in cpu_sized if p.accelerator),
        cpu_problem=cpu_why,
    )


def _basis(installed: bool, bytecode: bool) -> str:
    return "bytecode" if bytecode else "installed" if installed else "download"


Measured = tuple[Lock | None, InstallPlan, str | None]  # (lock, plan, why the target did not resolve)


def _measure(
    measured: Sequence[Measured],
    offline: bool,
    cache: Path | None,
    progress: Callable[[int, int], None] | None,
    basis: str,
    hosts: Hosts,
    deadline: float | None = DEFAULT_DEADLINE,
    verify: bool = False,
) -> SizeReport:
    """Sizes for every plan in one look-up pass (shared wheels fetched once, one progress bar); labels
    from what the index says about the wheels themselves where nothing else decides them."""

    def items(evidence: dict[str, WheelEvidence] | None = None) -> list[list[InstalledPackage]]:
        return [
            installed_packages(lock, plan, evidence) if lock and plan.supported else [] for lock, plan, _ in measured
        ]

    per_target = items()
    evidence = _wheel_evidence(measured, per_target, offline=offline, cache=cache, hosts=hosts)
    if evidence:  # what the wheels say about themselves can change torch-family labels: label again
        per_target = items(evidence)
    _log_labels(per_target, [plan for _, plan, _ in measured])
    flat = [item for found in per_target for item in found]
    allow, named = hosts
    flat = locate_wheels(flat, offline=offline, cache_dir=cache, allow_hosts=allow, project_hosts=named)
    sized = fill_sizes(
        flat,
        offline=offline,
        cache_dir=cache,
        progress=progress,
        basis=basis,
        allow_hosts=allow,
        project_hosts=named,
        deadline=deadline,
        verify=verify,
    )
    reports = []
    start = 0
    for (lock, plan, error), found in zip(measured, per_target, strict=True):
        packages = sized[start : start + len(found)]
        start += len(found)
        if lock is None or not plan.supported:
            reports.append(
                TargetReport(plan.target, False, unsupported_reason=plan.reason, unresolved=error is not None)
            )
            continue
        top = _top_level(lock, packages, exclusive_members(plan.roots, plan.edges))
        reports.append(TargetReport(plan.target, True, tuple(packages), top))
    checked = verify and not offline and basis == "download"
    return SizeReport(
        lockfile="",
        targets=tuple(reports),
        installed_sizes=basis != "download",
        size_basis=basis,
        sizes_checked=checked,
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
    for plan, found in zip(plans, per_target, strict=True):
        for item in found:
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
    measured: Sequence[Measured],
    per_target: list[list[InstalledPackage]],
    *,
    offline: bool,
    cache: Path | None,
    hosts: Hosts,
) -> dict[str, WheelEvidence]:
    """What the index says about the torch-family wheels nothing else labels, with the marker environment
    of each target that chose each (cached; offline only the cache)."""
    wanted: dict[str, list[dict[str, str]]] = {}
    for (_, plan, _), found in zip(measured, per_target, strict=True):
        for item in found:
            if wants_evidence(item) and item.wheel is not None and item.wheel.url:
                wanted.setdefault(item.wheel.url, []).append(plan.target.marker_environment)
    if not wanted:
        return {}
    from depaudit.analysis.wheel_evidence import wheel_evidence  # only a lock with torch-family wheels pays

    indexes = {p.source.value for lock, _, _ in measured if lock for p in lock.packages if p.source.kind == "registry"}
    policy = HostPolicy.make(registry_hosts(indexes), *hosts)
    return wheel_evidence(wanted, offline=offline, cache_dir=cache, hosts=policy)


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


__all__ = ["InputOptions", "make_targets", "scan_dockerfile", "scan_input", "scan_lock", "scan_resolved"]
