"""`depaudit fix` as a library: find the project file, plan the edits, apply them, re-lock with uv,
restore byte for byte when re-locking fails, and compare the locks before and after.

Nothing here prints; `depaudit.cli.fix` renders the result.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from depaudit import fileio
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.analysis.torch_reach import TorchReach, torch_reach
from depaudit.errors import InputError, ToolError, UsageError
from depaudit.families import needs_cuda_by_nature
from depaudit.fixers.apply import apply_edits
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
from depaudit.fixers.relock import COPY_IGNORE, recover, relock
from depaudit.fixers.requirements import plan_requirements_files
from depaudit.fixers.verdict import Verdict, cpu_index_verdict, runtime_verdict
from depaudit.lint import dockerfile_context
from depaudit.model import Edit, SizeReport
from depaudit.process import run_tool
from depaudit.sources.pyproject import Pyproject, parse_pyproject, read_pyproject_text
from depaudit.sources.uvlock import load_lock

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
class TargetDelta:
    """One target's install before and after the fix."""

    target: str
    before_total: int | None
    after_total: int
    before_accelerator: int | None
    after_accelerator: int
    removed: tuple[str, ...]
    added: tuple[str, ...]
    after_unknown: tuple[str, ...] = ()
    after_accelerator_packages: tuple[str, ...] = ()


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


def recover_interrupted(path: Path) -> list[str]:
    """Finish or undo an interrupted `fix --lock` around PATH (its folder, and its lock's folder).
    Returns what was done, one sentence each. Raises ChangedOnDisk when that cannot be done safely."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    lock = find_lock(folder) if folder.is_dir() else None
    done = []
    for candidate in dict.fromkeys([folder, lock.parent if lock else folder]):
        message = recover(candidate)
        if message:
            done.append(message)
    return done


def find_lock(folder: Path) -> Path | None:
    """The uv.lock that covers a project folder: its own, or a workspace root's above it (a member
    has no lock of its own). None when there is none."""
    for candidate in [folder, *folder.resolve().parents][:6]:
        lock = candidate / "uv.lock"
        if lock.exists() or lock.is_symlink():  # a FIFO or device here is refused by the reader, not skipped
            return lock
        if candidate != folder and (candidate / "pyproject.toml").is_file():
            break  # the enclosing project has no lock: stop rather than wander further up
    return None


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
) -> Verdict:
    """What the lock at `lock_path` says about the project once `plan` is applied (see
    `depaudit.fixers.verdict`). Raises InputError for an unreadable lock."""
    edit = plan.edits[0]
    project = parse_pyproject(edit.after.removeprefix("\ufeff"), edit.path)
    lock = load_lock(lock_path) if lock_path is not None else None
    if to == "cpu-index":
        return cpu_index_verdict(project, lock, targets)
    return runtime_verdict(project, lock, allow_torch, check_stale)


def find_uv() -> list[str]:
    """The command that runs uv: `uv` on PATH, else the binary of the installed `uv` module, else
    `python -m uv`. Raises ToolError when none exists."""
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # the dev group's uv, optional: a user's environment may have only a uv on PATH or none

        return [uv.find_uv_bin()]
    except (ImportError, FileNotFoundError, AttributeError):
        pass
    probe = run_tool([sys.executable, "-m", "uv", "--version"], timeout=60, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    raise ToolError(["uv", "lock"], what="uv not found: install it (pip install uv) to use --lock")


def run_uv_lock(project_dir: Path, timeout: float = 900) -> None:
    """`uv lock` in `project_dir`. Raises ToolError with uv's stderr when it fails or times out."""
    command = [*find_uv(), "lock"]
    try:
        result = run_tool(command, cwd=project_dir, timeout=timeout, check=False)
    except OSError as exc:
        raise ToolError(command, str(exc)) from None
    if result.returncode != 0:
        raise ToolError(command, result.stderr, what=f"uv lock failed (exit {result.returncode})")


def apply_and_lock(plan: FixPlan, *, lock: bool) -> None:
    """Write the edits; with `lock`, re-lock a staged copy and swap pyproject.toml and uv.lock in
    together under a journal (`depaudit.fixers.relock`): an interruption at any moment leaves the old
    pair or the new pair. Raises ToolError (uv failed) or ChangedOnDisk (a file changed meanwhile),
    with every file as it was."""
    if not lock:
        apply_edits(list(plan.edits))
        return
    root = plan.lock_path.parent if plan.lock_path else plan.project_dir
    changed = [e for e in plan.edits if e.changed]
    expected: dict[Path, bytes | None] = {Path(e.path): e.before.encode("utf-8") for e in changed}
    expected[root / "uv.lock"] = plan.lock_bytes
    relock(root, plan.project_dir, {Path(e.path): e.after for e in changed}, expected, run_uv_lock)


def dry_run_lock(plan: FixPlan) -> Path:
    """Apply the plan to a copy of the project (of the workspace root when the lock lives there) in a
    temp folder and re-lock there; returns the new uv.lock's path (inside a folder the caller removes
    with `shutil.rmtree(path.parent.parent)`)."""
    root = plan.lock_path.parent if plan.lock_path else plan.project_dir
    base = Path(tempfile.mkdtemp(prefix="depaudit-fix-"))
    copy = base / root.name
    try:
        shutil.copytree(root, copy, ignore=COPY_IGNORE, symlinks=True)
        moved = tuple(Edit(str(copy / os.path.relpath(e.path, root)), e.before, e.after, e.summary) for e in plan.edits)
        apply_edits(list(moved))
        run_uv_lock(copy / os.path.relpath(plan.project_dir, root))
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return copy / "uv.lock"


def compare(before: SizeReport | None, after: SizeReport) -> list[TargetDelta]:
    """Per target of `after`: totals, accelerator bytes, and package names removed/added."""
    old = {t.target.name: t for t in before.targets} if before else {}
    deltas = []
    for report in after.targets:
        if not report.supported:
            continue
        prior = old.get(report.target.name)
        names_after = {p.name for p in report.packages}
        names_before = {p.name for p in prior.packages} if prior and prior.supported else set()
        deltas.append(
            TargetDelta(
                target=report.target.name,
                before_total=prior.total_bytes if prior and prior.supported else None,
                after_total=report.total_bytes,
                before_accelerator=prior.accelerator_bytes if prior and prior.supported else None,
                after_accelerator=report.accelerator_bytes,
                removed=tuple(sorted(names_before - names_after)) if prior else (),
                added=tuple(sorted(names_after - names_before)) if prior else (),
                after_unknown=report.unknown_size,
                after_accelerator_packages=tuple(p.name for p in report.packages if p.accelerator),
            )
        )
    return deltas
