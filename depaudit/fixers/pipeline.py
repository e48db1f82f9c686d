"""`depaudit fix` as a library: find the project file, plan the edits, apply them, re-lock with uv,
restore byte for byte when re-locking fails, and compare the locks before and after.

Nothing here prints; `depaudit.cli.fix` renders the result.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from depaudit import fileio
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.analysis.torch_reach import TorchReach, torch_reach
from depaudit.errors import InputError, ToolError, UsageError
from depaudit.families import is_torch_family, needs_cuda_by_nature
from depaudit.fixers.apply import apply_edits, unified_diff
from depaudit.fixers.dockerfile import plan_dockerfile_fix
from depaudit.fixers.model_entries import ModelEntry, find_model_entries
from depaudit.fixers.pyproject import (
    TorchImport,
    describe_ref,
    find_torch_imports,
    needs_from_reach,
    plan_cpu_index_text,
    plan_runtime_swap_text,
    refuse_credentials,
)
from depaudit.fixers.relock import COPY_IGNORE, legacy_journal_warning, pending, recover, refuse_outside, relock
from depaudit.fixers.requirements import plan_requirements_files
from depaudit.fixers.verdict import Verdict, cpu_index_verdict, runtime_verdict
from depaudit.lint import dockerfile_context
from depaudit.model import Edit, SizeReport
from depaudit.process import find_uv as find_uv_command
from depaudit.process import run_tool
from depaudit.scan import scan_lock
from depaudit.sources.pyproject import Pyproject, parse_pyproject, read_pyproject_text
from depaudit.sources.uvlock import load_lock
from depaudit.sources.workspace import layout, repository_root

FIX_TARGETS = ("cpu-index", "onnxruntime", "tinygrad")


@dataclass(frozen=True)
class FixPlan:
    """The planned edits for one project (empty when nothing needs changing) and what to tell the user."""

    kind: str  # "pyproject", "requirements" or "dockerfile"
    project_dir: Path
    edits: tuple[Edit, ...]
    notes: tuple[str, ...] = ()
    imports: tuple[TorchImport, ...] = ()
    lock_path: Path | None = None
    lock_bytes: bytes | None = None  # uv.lock as read when planning: a change before the swap refuses it
    models: tuple[ModelEntry, ...] = ()  # --to onnxruntime: what `depaudit port` can export
    unfixed: tuple[str, ...] = ()  # requirements: `path:line: …` still installing torch this fix left (exit 1)

    @property
    def changed(self) -> bool:
        return any(e.changed for e in self.edits)


@dataclass(frozen=True)
class VersionChange:
    """A package the re-lock moved from one version to another; `jump` names a major or minor change
    of a torch-family package ("major"/"minor"), which a reviewer should see."""

    name: str
    before: str
    after: str
    jump: str | None = None


@dataclass(frozen=True)
class TargetDelta:
    """One target's install before and after the fix. `after_total`/`after_accelerator` are None when a
    package the new lock installs there has no wheel for the target (`after_no_wheel`: a build from
    source or a failed install, whose size nobody knows): never a saving."""

    target: str
    before_total: int | None
    after_total: int | None
    before_accelerator: int | None
    after_accelerator: int | None
    removed: tuple[str, ...]
    added: tuple[str, ...]
    after_unknown: tuple[str, ...] = ()
    after_accelerator_packages: tuple[str, ...] = ()
    changed: tuple[VersionChange, ...] = ()
    after_no_wheel: tuple[str, ...] = ()


def classify(path: Path) -> tuple[str, Path]:
    """("pyproject" | "requirements" | "dockerfile", the file) for a PATH argument (file or folder).
    Raises InputError when a folder holds neither a pyproject.toml nor a requirements file."""
    path = Path(path)
    if path.is_dir():
        if (path / "pyproject.toml").exists():
            return "pyproject", path / "pyproject.toml"
        for name in ("requirements.in", "requirements.txt"):
            if (path / name).exists():
                return "requirements", path / name
        raise InputError(path, "no pyproject.toml or requirements.txt/.in here")
    name = path.name.lower()
    if name.startswith("dockerfile") or name.endswith((".dockerfile", ".containerfile")) or name == "containerfile":
        return "dockerfile", path
    if name.endswith((".txt", ".in")):
        return "requirements", path
    return "pyproject", path


def plan_fix(
    path: Path, to: str = "cpu-index", *, index_url: str = DEFAULT_CPU_INDEX_URL, force: bool = False
) -> FixPlan:
    """Plan the fix for PATH (a project folder, pyproject.toml, requirements file or Dockerfile).
    Raises InputError (unreadable/invalid input), FixRefused (refused, exit 5), UsageError (unsupported
    combo, or an index URL carrying a credential)."""
    if to not in FIX_TARGETS:
        raise UsageError(f"--to must be one of {', '.join(FIX_TARGETS)}")
    refuse_credentials(index_url)
    kind, file = classify(Path(path))
    text = _read(file)
    if kind == "dockerfile":
        return _plan_dockerfile(file, text, index_url)
    if kind == "requirements":
        if to != "cpu-index":
            raise UsageError(f"--to {to} needs a pyproject.toml project (got {file})")
        found = plan_requirements_files(file, index_url=index_url, force=force)
        return FixPlan("requirements", file.parent, found.edits, found.notes, unfixed=found.unfixed)
    lock_path = find_lock(file.parent)
    lock_bytes = fileio.read_bytes(lock_path, "lock file") if lock_path is not None else None
    if to == "cpu-index":
        plan = _plan_cpu_index(file, text, lock_path, index_url, force)
    else:
        plan = _plan_runtime(file, text, lock_path, to)
    return replace(plan, lock_bytes=lock_bytes)


def interrupted_work(path: Path, state_dir: Path, *, dry_run: bool = False) -> list[str]:
    """Finish or undo an interrupted `fix --lock` of the project around PATH (its folder, and its lock's
    folder), from depaudit's own journal in `state_dir`. With `dry_run`, nothing is done: the sentences
    only say what is pending. Returns what was done or is pending, one sentence each (and a warning per
    journal-shaped file found inside the project, which is ignored). Raises ChangedOnDisk when the work
    cannot be finished safely."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    lock = find_lock(folder) if folder.is_dir() else None
    said = []
    for candidate in dict.fromkeys([folder, lock.parent if lock else folder]):
        warning = legacy_journal_warning(candidate)
        if warning:
            said.append(warning)
        if dry_run:
            if pending(candidate, state_dir):
                said.append(
                    f"{candidate}: an interrupted `depaudit fix --lock` left work to finish; the dry run leaves "
                    f"it (run `depaudit fix` without --dry-run to complete or undo it)"
                )
            continue
        message = recover(candidate, state_dir)
        if message:
            said.append(message)
    return said


def find_lock(folder: Path) -> Path | None:
    """The lock uv uses for a project folder: its own, or its workspace root's (a member has no lock
    of its own). None when there is none."""
    return layout(folder).lock()


def _read(file: Path) -> str:
    return read_pyproject_text(file)


def _plan_dockerfile(file: Path, text: str, index_url: str = DEFAULT_CPU_INDEX_URL) -> FixPlan:
    # The requirements files a RUN names are read here, so the planner itself stays pure.
    edit = plan_dockerfile_fix(file, text, context=dockerfile_context(file, text), cpu_index_url=index_url)
    return FixPlan("dockerfile", file.parent, (edit,), tuple(edit.summary))


def _reach(pyproject: Pyproject, lock_path: Path | None) -> list[TorchReach] | None:
    if lock_path is None:
        return None
    return torch_reach(load_lock(lock_path), pyproject.name)


def _plan_cpu_index(file: Path, text: str, lock_path: Path | None, index_url: str, force: bool) -> FixPlan:
    project = parse_pyproject(text, file)
    needs = needs_from_reach(project, _reach(project, lock_path))
    cuda_only = cuda_by_nature_notes(project)
    if not needs.packages:
        return FixPlan(
            "pyproject",
            file.parent,
            (Edit(str(file), text, text),),
            ("the project installs no torch-family package", *cuda_only),
            lock_path=lock_path,
        )
    edit = plan_cpu_index_text(text, str(file), needs, index_url=index_url, force=force)
    notes = needs.notes if edit.changed else ()
    return FixPlan("pyproject", file.parent, (edit,), tuple(edit.summary) + notes + cuda_only, lock_path=lock_path)


def _plan_runtime(file: Path, text: str, lock_path: Path | None, runtime: str) -> FixPlan:
    project = parse_pyproject(text, file)
    edit = plan_runtime_swap_text(text, str(file), runtime)
    imports = tuple(find_torch_imports(file.parent, project.name))
    models = tuple(find_model_entries(file.parent, [i.path for i in imports])) if runtime == "onnxruntime" else ()
    return FixPlan(
        "pyproject",
        file.parent,
        (edit,),
        tuple(edit.summary) + cuda_by_nature_notes(project),
        imports,
        lock_path,
        models=models,
    )


def cuda_by_nature_notes(project: Pyproject) -> tuple[str, ...]:
    """One note per declared dependency that needs CUDA by nature (flash-attn, xformers, ...): the fix
    leaves it where it is, and it will not run on a CPU build of torch."""
    return tuple(
        f"{describe_ref(d.where)} installs {d.name}, which needs CUDA by nature (no CPU build): "
        f"left as it is; it will not run with a CPU torch"
        for d in project.declared
        if needs_cuda_by_nature(d.name)
    )


def plan_verdict(
    plan: FixPlan,
    to: str,
    lock_path: Path | None,
    *,
    targets: Sequence[str] | None = None,
    allow_torch: bool = False,
    check_stale: bool = True,
    report: SizeReport | None = None,
) -> Verdict:
    """What the lock at `lock_path` says about the project once `plan` is applied (see
    `depaudit.fixers.verdict`). Raises InputError for an unreadable lock."""
    edit = plan.edits[0]
    project = parse_pyproject(edit.after.removeprefix("\ufeff"), edit.path)
    lock = load_lock(lock_path) if lock_path is not None else None
    if to == "cpu-index":
        return cpu_index_verdict(project, lock, targets, report)
    return runtime_verdict(project, lock, allow_torch, check_stale)


def find_uv() -> list[str]:
    """The command that runs uv (see `process.find_uv`). Raises ToolError when none exists."""
    return find_uv_command("to use --lock")


def run_uv_lock(project_dir: Path, timeout: float = 900) -> None:
    """`uv lock` in `project_dir`. Raises ToolError with uv's stderr when it fails or times out."""
    command = [*find_uv(), "lock"]
    try:
        result = run_tool(command, cwd=project_dir, timeout=timeout, check=False)
    except OSError as exc:
        raise ToolError(command, str(exc)) from None
    if result.returncode != 0:
        raise ToolError(command, result.stderr, what=f"uv lock failed (exit {result.returncode})")


def apply_and_lock(plan: FixPlan, *, lock: bool, state_dir: Path) -> None:
    """Write the edits; with `lock`, re-lock a staged copy and swap pyproject.toml and uv.lock in
    together under a journal kept in `state_dir` (`depaudit.fixers.relock`): an interruption at any
    moment leaves the old pair or the new pair. Raises ToolError (uv failed), ChangedOnDisk (a file
    changed meanwhile) or FixRefused (a file resolves outside the project), with every file as it was."""
    root = project_root(plan)
    changed = [e for e in plan.edits if e.changed]
    refuse_outside([Path(e.path) for e in changed], root)
    if not lock:
        apply_edits(list(plan.edits))
        return
    expected: dict[Path, bytes | None] = {Path(e.path): e.before.encode("utf-8") for e in changed}
    expected[root / "uv.lock"] = plan.lock_bytes
    relock(root, plan.project_dir, {Path(e.path): e.after for e in changed}, expected, run_uv_lock, state_dir)


def project_root(plan: FixPlan) -> Path:
    """The folder a fix may write in: the workspace root (uv.lock's folder) of a pyproject project, else
    the repository (the nearest folder holding .git) around the requirements file or Dockerfile, else its
    folder."""
    if plan.kind == "pyproject":
        return plan.lock_path.parent if plan.lock_path else plan.project_dir
    return repository_root(plan.project_dir)


def dry_run_lock(plan: FixPlan) -> Path:
    """Apply the plan to a copy of the project (of the workspace root when the lock lives there) in a
    temp folder and re-lock there; returns the new uv.lock's path (inside a folder the caller removes
    with `shutil.rmtree(path.parents[-1 - depth])`, see `dry_run_base`). Path sources outside the project
    (`../lib`) are linked into the temp folder where the copy's relative paths look for them."""
    root = Path(os.path.realpath(plan.lock_path.parent if plan.lock_path else plan.project_dir))
    escapes = _outside_paths(plan.lock_path, root)
    depth = max((_ups(p) for p in escapes), default=1)
    anchor = root.parents[depth - 1] if depth <= len(root.parents) else Path(root.anchor)
    base = Path(tempfile.mkdtemp(prefix="depaudit-fix-"))
    copy = base / root.relative_to(anchor)
    try:
        shutil.copytree(root, copy, ignore=COPY_IGNORE, symlinks=True)
        _link_outside_paths(base, anchor, root, escapes)
        given = plan.lock_path.parent if plan.lock_path else plan.project_dir
        moved = tuple(
            Edit(str(copy / os.path.relpath(e.path, given)), e.before, e.after, e.summary) for e in plan.edits
        )
        apply_edits(list(moved))
        run_uv_lock(copy / os.path.relpath(plan.project_dir, given))
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return copy / "uv.lock"


def dry_run_base(new_lock: Path) -> Path:
    """The temp folder `dry_run_lock` made for `new_lock` (the one to remove)."""
    for folder in new_lock.parents:
        if folder.name.startswith("depaudit-fix-") and folder.parent == Path(tempfile.gettempdir()):
            return folder
    return new_lock.parent


def _outside_paths(lock_path: Path | None, root: Path) -> list[str]:
    """The lock's path sources (relative to its folder) that lead out of it: `../lib`."""
    if lock_path is None:
        return []
    kinds = ("path", "directory", "editable")
    values = {p.source.value for p in load_lock(lock_path).packages if p.source.kind in kinds}
    return sorted(v for v in values if not os.path.isabs(v) and os.path.normpath(v).startswith(".."))


def _ups(relative: str) -> int:
    """How many folders `relative` climbs (`../../x` -> 2)."""
    return len(list(itertools.takewhile(lambda part: part == "..", Path(os.path.normpath(relative)).parts)))


def _link_outside_paths(base: Path, anchor: Path, root: Path, escapes: list[str]) -> None:
    """For each path source outside the project, a symlink in the temp tree at the place the copy's
    relative path reaches, pointing at the real folder (read by uv, never written by depaudit)."""
    copy_parts = root.relative_to(anchor).parts
    for relative in escapes:
        real = Path(os.path.normpath(root / relative))
        try:
            parts = real.relative_to(anchor).parts
        except ValueError:
            continue
        shared = len(list(itertools.takewhile(lambda pair: pair[0] == pair[1], zip(parts, copy_parts, strict=False))))
        if shared == len(parts):
            continue  # inside the copy already
        link = base.joinpath(*parts[: shared + 1])
        if not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(anchor.joinpath(*parts[: shared + 1]))


def compare(before: SizeReport | None, after: SizeReport) -> list[TargetDelta]:
    """Per target of `after`: totals, accelerator bytes, the packages removed and added, and every
    version the re-lock changed."""
    old = {t.target.name: t for t in before.targets} if before else {}
    deltas = []
    for report in after.targets:
        if not report.supported:
            continue
        prior = old.get(report.target.name)
        known = prior is not None and prior.supported
        versions_before = {p.name: p.package.version or "" for p in prior.packages} if prior and known else {}
        versions_after = {p.name: p.package.version or "" for p in report.packages}
        no_wheel = tuple(p.name for p in report.packages if p.wheel is None and p.package.source.kind == "registry")
        deltas.append(
            TargetDelta(
                target=report.target.name,
                before_total=prior.total_bytes if prior and known else None,
                after_total=None if no_wheel else report.total_bytes,
                before_accelerator=prior.accelerator_bytes if prior and known else None,
                after_accelerator=None if no_wheel else report.accelerator_bytes,
                removed=tuple(sorted(set(versions_before) - set(versions_after))) if prior else (),
                added=tuple(sorted(set(versions_after) - set(versions_before))) if prior else (),
                after_unknown=report.unknown_size,
                after_accelerator_packages=tuple(p.name for p in report.packages if p.accelerator),
                changed=tuple(
                    _version_change(name, versions_before[name], version)
                    for name, version in sorted(versions_after.items())
                    if name in versions_before and versions_before[name] != version
                ),
                after_no_wheel=no_wheel,
            )
        )
    return deltas


def _version_change(name: str, before: str, after: str) -> VersionChange:
    """A version change, with a torch-family major/minor jump named (local labels like +cpu ignored)."""
    jump = None
    if is_torch_family(name):
        old, new = release_parts(before), release_parts(after)
        jump = "major" if old[:1] != new[:1] else "minor" if old[:2] != new[:2] else None
    return VersionChange(name, before, after, jump)


def release_parts(version: str) -> tuple[int, ...]:
    """The numeric release of a version (`2.13.0+cpu` -> (2, 13, 0)); () when it has none."""
    parts = []
    for piece in version.split("+", 1)[0].split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


# ---------------------------------------------------------------- the whole fix


class FixStatus(StrEnum):
    """What a fix did, or why the project is not fixed (judged from the lock, never from the config)."""

    would_change = "would-change"
    changed = "changed"
    already_fixed = "already-fixed"
    torch_free = "torch-free"
    nothing_to_change = "nothing-to-change"
    stale = "stale"
    no_wheel = "no-wheel"
    torch_at_runtime = "torch-at-runtime"
    accelerators = "accelerators"
    unfixed = "unfixed"  # requirements that still install torch from where this fix cannot switch


@dataclass(frozen=True)
class FixRequest:
    """One `depaudit fix`: what to fix and toward what, how (dry run, re-lock, force), the targets and
    selection the before/after scans measure, their look-up options (`scan`: scan_lock keywords), the
    state folder of the crash journal, the folder diffs are relative to, and where progress lines go."""

    path: Path
    to: str = "cpu-index"
    index_url: str = DEFAULT_CPU_INDEX_URL
    dry_run: bool = False
    lock: bool = False
    force: bool = False
    allow_torch: bool = False
    targets: tuple[str, ...] | None = None
    scan: Mapping[str, Any] = field(default_factory=dict)
    state_dir: Path = Path(".")
    cwd: Path = Path(".")
    say: Callable[[str], None] = field(default=lambda message: None, compare=False)
    # called with the files the plan would edit (and its lock) before anything is written: the CLI
    # refuses there an --output naming one of them
    vet: Callable[[list[Path]], None] = field(default=lambda paths: None, compare=False)


@dataclass(frozen=True)
class FixOutcome:
    """The plan, its unified diff, what happened (status and a one-line message), the verdict of the
    lock, and per target the install before and after a re-lock."""

    plan: FixPlan
    status: FixStatus
    message: str
    diff: str
    verdict: Verdict | None = None
    deltas: tuple[TargetDelta, ...] | None = None

    @property
    def exit_code(self) -> int:
        """0 fixed (or nothing to fix), 1 the lock still installs accelerator wheels or torch at run time, or
        a requirements file still installs torch from where this fix cannot switch it."""
        return 0 if (self.verdict is None or self.verdict.ok) and not self.plan.unfixed else 1


def run_fix(request: FixRequest) -> FixOutcome:
    """Recover an interrupted run, plan, apply (unless a dry run), re-lock (with `lock`) and judge by the
    lock. Raises InputError, FixRefused, UsageError, ToolError or ChangedOnDisk as the steps do."""
    for message in interrupted_work(request.path, request.state_dir, dry_run=request.dry_run):
        request.say(message)
    plan = plan_fix(request.path, request.to, index_url=request.index_url, force=request.force)
    request.vet([Path(e.path) for e in plan.edits] + ([plan.lock_path] if plan.lock_path else []))
    diff = "".join(unified_diff(e, request.cwd) for e in plan.edits if e.changed)
    deltas: tuple[TargetDelta, ...] | None = None
    verdict: Verdict | None = None
    if plan.kind == "pyproject":
        deltas, verdict = _fix_project(plan, request)
    elif plan.changed and not request.dry_run:
        apply_and_lock(plan, lock=False, state_dir=request.state_dir)
    if request.lock and plan.kind != "pyproject":
        request.say("--lock applies to uv projects only; skipped")
    status, message = fix_status(plan, request.dry_run, verdict, request.lock)
    return FixOutcome(plan, status, message, diff, verdict, deltas)


def _fix_project(plan: FixPlan, request: FixRequest) -> tuple[tuple[TargetDelta, ...] | None, Verdict | None]:
    """Apply (unless dry run) and, with --lock, re-lock; then judge by the lock: (deltas, verdict)."""
    to, targets = request.to, request.targets
    if plan.changed and request.lock:
        return _locked_comparison(plan, request)
    if plan.changed and not request.dry_run:
        apply_and_lock(plan, lock=False, state_dir=request.state_dir)
    if not plan.changed:
        verdict = plan_verdict(plan, to, plan.lock_path, targets=targets, allow_torch=request.allow_torch)
        if request.lock and verdict.state == "stale":  # nothing to edit, but --lock asks for a lock that matches
            return _locked_comparison(plan, request)
        return None, verdict
    if to != "cpu-index":  # the old lock still tells which other runtime dependencies bring torch in
        return None, plan_verdict(plan, to, plan.lock_path, allow_torch=request.allow_torch, check_stale=False)
    return None, None


def _locked_comparison(plan: FixPlan, request: FixRequest) -> tuple[tuple[TargetDelta, ...], Verdict]:
    """Scan the lock before, apply (or copy + apply) and re-lock, scan after (two scans): (per-target
    deltas, the verdict of the new lock)."""
    options = {**request.scan, "targets": list(request.targets) if request.targets else None}
    before = scan_lock(plan.lock_path, **options) if plan.lock_path else None
    if request.dry_run:
        request.say("re-locking a copy of the project with uv (dry run: your files stay as they are)")
        new_lock = dry_run_lock(plan)
        try:
            after = scan_lock(new_lock, **options)
            verdict = plan_verdict(
                plan, request.to, new_lock, targets=request.targets, allow_torch=request.allow_torch, report=after
            )
        finally:
            shutil.rmtree(dry_run_base(new_lock), ignore_errors=True)
    else:
        request.say("re-locking with uv")
        apply_and_lock(plan, lock=True, state_dir=request.state_dir)
        new_lock = plan.lock_path or plan.project_dir / "uv.lock"
        after = scan_lock(new_lock, **options)
        verdict = plan_verdict(
            plan, request.to, new_lock, targets=request.targets, allow_torch=request.allow_torch, report=after
        )
    return tuple(compare(before, after)), verdict


def fix_status(plan: FixPlan, dry_run: bool, verdict: Verdict | None, locked: bool) -> tuple[FixStatus, str]:
    """What changed, or whether the lock shows the project fixed (never from the config alone)."""
    files = ", ".join(sorted({Path(e.path).name for e in plan.edits if e.changed}))
    if plan.unfixed:  # requirements this fix cannot switch: never "fixed"
        more = f" (and {len(plan.unfixed) - 1} more, below)" if len(plan.unfixed) > 1 else ""
        done = f"{'would change' if dry_run else 'changed'} {files}; " if plan.changed else ""
        return FixStatus.unfixed, f"{done}not fixed: {plan.unfixed[0]}{more}"
    if plan.changed:
        if dry_run:
            return FixStatus.would_change, f"would change {files} (dry run)"
        relocked = " and uv.lock" if locked and plan.kind == "pyproject" else ""
        return FixStatus.changed, f"changed {files}{relocked}"
    if plan.kind != "pyproject":
        return FixStatus.already_fixed, "already fixed, nothing to change"
    torch_free = any("installs no torch-family package" in n for n in plan.notes)
    if verdict is not None and verdict.state == "clean":
        if torch_free:
            return FixStatus.torch_free, "nothing to change: the project installs no torch-family package"
        return FixStatus.already_fixed, "already fixed, nothing to change"
    if verdict is not None and verdict.state in ("no-lock", "torch-allowed"):
        return FixStatus.nothing_to_change, "nothing to change in pyproject.toml"
    if verdict is not None and verdict.state == "stale":
        return FixStatus.stale, "not fixed: pyproject.toml is configured, but uv.lock is stale"
    if verdict is not None and verdict.state == "no-wheel":
        return FixStatus.no_wheel, "not fixed: uv.lock has no wheel of torch for some targets (see below)"
    if verdict is not None and verdict.state == "torch-at-runtime":
        return (
            FixStatus.torch_at_runtime,
            "not fixed: nothing to change in pyproject.toml, but torch is still installed at run time",
        )
    return (
        FixStatus.accelerators,
        "not fixed: nothing depaudit can change in pyproject.toml, but uv.lock still installs accelerator wheels",
    )
