"""Verdicts from the lock, not from the config: whether a project is fixed is what its uv.lock installs.

`depaudit fix` says "already fixed" only when the lock installs no accelerator wheel on any target the
project supports (or the targets asked for), says "stale" when pyproject.toml asks for the CPU index but
the lock still takes a torch-family package from elsewhere, and for `--to onnxruntime|tinygrad` lists
every runtime dependency that still brings torch in. Pure functions over a parsed lock; nothing prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.markers import Marker

from depaudit.analysis.index_urls import is_cuda_index, same_url
from depaudit.analysis.torch_reach import root_package, runtime_torch_paths
from depaudit.families import is_torch_family
from depaudit.model import InstalledPackage, Lock, SizeReport, TargetReport
from depaudit.scan import scan_lock
from depaudit.sources.pyproject import Pyproject

OK_STATES = ("clean", "no-lock", "torch-allowed")


@dataclass(frozen=True)
class Verdict:
    """What the lock says. `state`: "clean", "no-lock", "stale", "accelerators", "no-wheel" (a
    torch-family package has no wheel for a target), "torch-at-runtime" or "torch-allowed"; `details`:
    one line per offending package or path."""

    state: str
    message: str
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state in OK_STATES


def cpu_index_verdict(
    project: Pyproject, lock: Lock | None, targets: Sequence[str] | None = None, report: SizeReport | None = None
) -> Verdict:
    """Clean when `lock` installs no accelerator wheel on any supported target of `targets` (default:
    all presets); "stale" when a torch-family package it installs comes from another registry than the
    CPU source pyproject.toml gives it there; "accelerators" otherwise."""
    if lock is None:
        return Verdict("no-lock", "no uv.lock to confirm it: run `uv lock` (or `depaudit fix --lock`)")
    if report is None:  # fix --lock passes the scan of the new lock it made anyway
        report = scan_lock(lock, targets=targets or None, offline=True, cache_dir=None)
    supported = [t for t in report.targets if t.supported]
    no_wheel = [(t, [p for p in t.packages if p.wheel is None and is_torch_family(p.name)]) for t in supported]
    no_wheel = [(t, found) for t, found in no_wheel if found]
    if no_wheel:
        where = ", ".join(f"{t.target.name} ({', '.join(p.name for p in found)})" for t, found in no_wheel)
        return Verdict(
            "no-wheel",
            f"uv.lock has no wheel for {where}: uv would build it from source there, or fail; the CPU index "
            f"may not publish a build for that platform and Python",
            tuple(_target_line(t, found) for t, found in no_wheel),
        )
    dirty = [(t, [p for p in t.packages if p.accelerator]) for t in supported]
    dirty = [(t, found) for t, found in dirty if found]
    if not dirty:
        names = ", ".join(t.target.name for t in supported)
        return Verdict("clean", f"uv.lock installs no accelerator wheel on {names}")
    details = tuple(_target_line(t, found) for t, found in dirty)
    stale = _stale(project, dirty)
    where = ", ".join(t.target.name for t, _ in dirty)
    if stale:
        name, got, want, on = stale
        return Verdict(
            "stale",
            f"uv.lock is stale: pyproject.toml takes {name} from {want}, but uv.lock still "
            f"installs it from {got} on {on}; run `uv lock` (or `depaudit fix --lock`)",
            details,
        )
    return Verdict("accelerators", f"uv.lock still installs accelerator wheels on {where}", details)


def _target_line(report: TargetReport, found: list[InstalledPackage]) -> str:
    """`linux-x86_64: torch 2.8.0, nvidia-cublas-cu12 12.8.4.1, ... (through sentence-transformers)`."""
    names = ", ".join(f"{p.name} {p.package.version or ''}".strip() for p in found)
    entry = sorted({p.via[1] for p in found if len(p.via) > 1})
    return f"{report.target.name}: {names}" + (f" (through {', '.join(entry)})" if entry else "")


def _stale(
    project: Pyproject, dirty: list[tuple[TargetReport, list[InstalledPackage]]]
) -> tuple[str, str, str, str] | None:
    """(package, locked registry, configured CPU index, targets) for the first torch-family package
    installed from another registry than its CPU source there, or None."""
    hits: dict[tuple[str, str, str], list[str]] = {}
    for report, found in dirty:
        for item in found:
            want = _cpu_url_for(project, item.name, report)
            got = item.package.source.value if item.package.source.kind == "registry" else item.package.source.kind
            if is_torch_family(item.name) and want and not same_url(got, want):
                hits.setdefault((item.name, got, want), []).append(report.target.name)
    if not hits:
        return None
    (name, got, want), on = next(iter(hits.items()))
    return name, got, want, ", ".join(on)


def _cpu_url_for(project: Pyproject, name: str, report: TargetReport) -> str | None:
    """The CPU index URL pyproject.toml's sources give `name` on this target, or None."""
    for source in project.sources_for(name):
        index = project.index_named(source.index) if source.index else None
        if index is None or is_cuda_index(index.url, index.name):
            continue
        try:
            applies = not source.marker or Marker(source.marker).evaluate(dict(report.target.environment))
        except Exception:  # a marker that cannot be evaluated: assume it applies
            applies = True
        if applies:
            return index.url
    return None


def runtime_verdict(
    project: Pyproject, lock: Lock | None, allow_torch: bool = False, check_stale: bool = True
) -> Verdict:
    """For `--to onnxruntime|tinygrad`: "torch-at-runtime" (or "torch-allowed" with `allow_torch`)
    listing every runtime dependency that still brings torch in, "stale" (with `check_stale`) when
    the lock still has a torch-family runtime dependency pyproject.toml no longer declares, else "clean"."""
    if lock is None:
        return Verdict("no-lock", "no uv.lock: which runtime dependencies still bring torch in is unknown")
    root = root_package(lock, project.name)
    declared = {d.name for d in project.declared_in(("dependencies", None))}
    locked_direct = sorted({d.name for d in (root.dependencies if root else ()) if is_torch_family(d.name)} - declared)
    if locked_direct and check_stale:
        return Verdict(
            "stale",
            f"uv.lock is stale: it still installs {', '.join(locked_direct)} as a runtime "
            f"dependency; run `uv lock` (or `depaudit fix --lock`)",
        )
    paths = runtime_torch_paths(lock, project.name)
    if not paths:
        return Verdict("clean", "no runtime dependency brings torch in")
    details = tuple(" -> ".join(path) for path in paths)
    state = "torch-allowed" if allow_torch else "torch-at-runtime"
    return Verdict(
        state,
        f"torch is still installed at run time: {len(paths)} runtime "
        f"dependenc{'y brings' if len(paths) == 1 else 'ies bring'} it in"
        + (" (accepted with --allow-torch)" if allow_torch else ""),
        details,
    )
