"""`diff_locks`: the library entry point behind `depaudit diff BASE HEAD` and `scan --baseline REV`.

Each side is a lock path or `REV:path` read from git. Both sides are scanned with one set of options
(targets, Python, extras and groups, size look-ups), then compared by analysis.lockdiff.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from depaudit.analysis.docker_resolve import wanted_files
from depaudit.analysis.lockdiff import LockDiff, diff_reports
from depaudit.budgets import BudgetCheck, check_diff
from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.fileio import read_text
from depaudit.model import Finding, Lock, Selection, SizeReport
from depaudit.rules.base import RuleDoc, describe
from depaudit.rules.engine import RuleSelection
from depaudit.rules.run_budgets import budget_findings
from depaudit.scan import InputOptions, scan_input, scan_lock
from depaudit.settings import Settings, scan_options
from depaudit.sources.detect import LOCK_KINDS, detect_kind
from depaudit.sources.dockerfile import parse_dockerfile
from depaudit.sources.gitrev import load_lock_spec, read_git_file, split_rev_spec
from depaudit.targets import python_from_requires


def common_python(*locks: Lock) -> str:
    """The Python both sides are scanned for: the highest of each lock's lowest admitted X.Y, so
    that neither side is measured for an interpreter its `requires-python` refuses."""
    versions = {python_from_requires(lock.requires_python) for lock in locks}
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def diff_locks(
    base: str | Path,
    head: str | Path,
    *,
    targets: Sequence[str] | None = None,
    python: str | None = None,
    selection: Selection | None = None,
    offline: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cwd: Path | None = None,
    **scan_options: Any,
) -> LockDiff:
    """Scan `base` and `head` (paths, or `REV:path` read from the git repository around `cwd`) for
    the same targets and Python, and compare them. `scan_options` go to scan_lock unchanged
    (cache_dir, installed, glibc, macos). Raises InputError (unreadable lock, bad revision or path),
    UsageError (unknown target or extra) or ToolError (git failed)."""
    kinds = (spec_kind(base, cwd), spec_kind(head, cwd))
    if any(kind not in ("uv.lock", "pylock.toml") for kind in kinds):
        options: dict[str, Any] = {
            "targets": targets,
            "python": python,
            "selection": selection or Selection(),
            "offline": offline,
            "progress": progress,
            **scan_options,
        }
        with tempfile.TemporaryDirectory(prefix="depaudit-diff-") as work:
            sides = [
                _scan_input_side(side, spec, kind, cwd, Path(work) / side, options)
                for side, spec, kind in (("base", base, kinds[0]), ("head", head, kinds[1]))
            ]
        return diff_reports(*sides)
    scan_options.pop("inputs", None)  # how to read inputs that are not locks
    base_lock = load_lock_spec(base, cwd)
    head_lock = load_lock_spec(head, cwd)
    py = python or common_python(base_lock, head_lock)
    options = dict(
        targets=targets,
        python=py,
        selection=selection or Selection(),
        offline=offline,
        progress=progress,
        **scan_options,
    )
    return diff_reports(_scan_side("base", base_lock, options), _scan_side("head", head_lock, options))


def spec_kind(spec: str | Path, cwd: Path | None = None) -> str:
    """The input kind of a path or `REV:path` (read from git), by content."""
    text_spec = str(spec)
    if split_rev_spec(text_spec, cwd) is None:
        path = Path(cwd or ".") / spec
        return detect_kind(path, read_text(path, "lock file", allow_empty=False))
    return detect_kind(text_spec.partition(":")[2], read_git_file(text_spec, cwd))


def _scan_input_side(
    side: str, spec: str | Path, kind: str, cwd: Path | None, work: Path, options: dict[str, Any]
) -> SizeReport:
    """One side of a diff where an input is not a uv.lock/pylock.toml. A file at a git revision is
    written into `work` first, with the files it names at the same revision (requirements includes,
    the files a Dockerfile's installs name; never outside its folder), as uv and the scan read them."""
    text_spec = str(spec)
    parts = split_rev_spec(text_spec, cwd)
    path, text = Path(cwd or ".") / spec, None
    if kind == "dockerfile":  # a diff compares the two files; what the CPU index would give is scan's
        options = {**options, "inputs": options.get("inputs", InputOptions())._replace(compare_cpu=False)}
    if parts is not None:
        if kind in LOCK_KINDS:
            path, text = Path(text_spec), read_git_file(text_spec, cwd, kind="lock file")
        else:
            path = materialize(parts, kind, cwd, work)
            if kind == "dockerfile":  # its build context is what was written beside it, nothing else
                options = {**options, "inputs": options["inputs"]._replace(context=path.parent)}
    try:
        report, _ = scan_input(path, kind, text=text, **options)
    except UsageError as exc:
        raise UsageError(f"{side}: {exc}") from None
    except DepauditError as exc:  # name the spec the user gave, not the folder it was written to
        exc.message = exc.message.replace(str(path), text_spec).replace(str(work), text_spec)
        raise
    return report._replace(lockfile=text_spec)


def materialize(parts: tuple[str, str], kind: str, cwd: Path | None, work: Path) -> Path:
    """Write `REV:path` into `work` (as the same relative path) with the files it names at that
    revision that exist there: -r/-c includes, uv.toml and pyproject.toml beside it, a Dockerfile's
    requirements, pyproject and locks. Returns the written file's path."""
    rev, name = parts
    folder = PurePosixPath(name).parent
    wanted = [PurePosixPath(name).name]
    written: set[str] = set()
    while wanted:
        relative = posixpath.normpath(wanted.pop())
        if relative in written or relative.startswith(("..", "/")):
            continue
        try:
            text = read_git_file(f"{rev}:{(folder / relative).as_posix()}", cwd, kind="input file")
        except InputError:
            continue  # not at that revision: the scan says what is missing
        written.add(relative)
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        wanted += _named_files(relative, text, kind)
    return work / PurePosixPath(name).name


def _named_files(relative: str, text: str, kind: str) -> list[str]:
    here = posixpath.dirname(relative)
    if kind == "dockerfile" and relative.endswith(("Dockerfile", "dockerfile")):
        return wanted_files(parse_dockerfile(text, relative))
    if relative.endswith(".toml"):
        return [posixpath.join(here, "uv.toml")] if relative.endswith("pyproject.toml") else []
    includes = re.findall(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)", text, re.MULTILINE)
    return [posixpath.join(here, n) for n in includes] + [
        posixpath.join(here, n) for n in ("pyproject.toml", "uv.toml")
    ]


def _scan_side(side: str, lock: Lock, options: dict[str, Any]) -> SizeReport:
    """scan_lock for one side; a usage error (an extra, group or member that lock lacks) says which side
    it was, since both sides are measured with the same selection. Raises as scan_lock does."""
    try:
        return scan_lock(lock, **options)
    except UsageError as exc:
        raise UsageError(f"{side}: {exc}") from None


def diff_against_base(
    head: SizeReport,
    base: str | Path,
    *,
    selection: Selection | None = None,
    offline: bool = False,
    cwd: Path | None = None,
    **scan_options: Any,
) -> LockDiff:
    """Compare an existing scan (`head`) with `base` scanned for the same targets and Python: the
    core of `scan --baseline REV`. Raises as diff_locks does."""
    if not head.targets:
        raise ValueError("the head scan covers no target")
    names = [t.target.name for t in head.targets]
    python = head.targets[0].target.python
    options = dict(
        targets=names,
        python=python,
        selection=selection or Selection(),
        offline=offline,
        installed=head.installed_sizes,
        bytecode=head.size_basis == "bytecode",  # both sides on one size basis, as two scans would be
        **scan_options,
    )
    before = _scan_side("base", load_lock_spec(base, cwd), options)
    return diff_reports(before, head)


@dataclass(frozen=True)
class DiffRequest:
    """One diff: both sides (paths or `REV:path`), the settings (targets, Python, selection, look-ups,
    the diff budgets), and the platform details scan_lock takes."""

    base: str
    head: str
    settings: Settings
    glibc: str | None = None
    macos: str | None = None
    cwd: Path | None = None
    binary: bool = False
    progress: Callable[[int, int], None] | None = None


@dataclass(frozen=True)
class DiffOutcome:
    """The diff, every diff budget check (DA506/DA507), the findings of those that did not pass, and the
    budget rules that ran (for SARIF)."""

    diff: LockDiff
    checks: tuple[BudgetCheck, ...] = ()
    findings: tuple[Finding, ...] = ()
    rules: tuple[RuleDoc, ...] = ()

    @property
    def breaches(self) -> tuple[BudgetCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def index_errors(self) -> tuple[str, ...]:
        """Why the index could not be reached for a size, when no increase budget is already exceeded."""
        if any(c.verdict == "fail" and c.check == "download-increase" for c in self.checks):
            return ()
        return self.diff.index_errors

    @property
    def exit_code(self) -> int:
        """1 a diff budget exceeded or a lock size that differs from the index's (DA105); 4 the index
        could not be reached; 1 a budget not verifiable; else 0."""
        if any(c.verdict == "fail" for c in self.checks) or self.diff.lock_sizes_differ:
            return 1
        return 4 if self.index_errors else 1 if self.breaches else 0


def run_diff(request: DiffRequest) -> DiffOutcome:
    """Scan both sides alike, compare them, and check the diff budgets. Raises as diff_locks does."""
    settings = request.settings
    options = {**scan_options(settings), "glibc": request.glibc, "macos": request.macos}
    options["inputs"] = InputOptions(exclude_newer=settings.exclude_newer)
    options["verify_sizes"] = True  # online, both sides' lock sizes are checked against the index (DA105)
    diff = diff_locks(request.base, request.head, progress=request.progress, cwd=request.cwd, **options)
    head = "" if split_rev_spec(request.head) is not None else request.head
    checks = tuple(
        check_diff(
            diff,
            max_increase=settings.max_increase,
            fail_on_new_accelerator=settings.fail_on_new_accelerator,
            path=head,
        )
    )
    rules = settings.rules.effective()
    failing = [c for c in checks if not c.passed]
    findings = tuple(budget_findings(failing, rules.select, rules.ignore, binary=request.binary))
    chosen = RuleSelection(rules.select, rules.ignore)
    docs = tuple(d for d in describe("DA5") if d.id in ("DA506", "DA507") and chosen.wants(d.id))
    return DiffOutcome(diff, checks, findings, docs)
