"""`diff_locks`: the library entry point behind `depaudit diff BASE HEAD` and `scan --baseline REV`.

Each side is a lock path or `REV:path` read from git. Both sides are scanned with one set of options
(targets, Python, extras and groups, size look-ups), then compared by analysis.lockdiff.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from depaudit.analysis.docker_resolve import wanted_files
from depaudit.analysis.lockdiff import LockDiff, diff_reports
from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.fileio import read_text
from depaudit.model import Lock, Selection, SizeReport
from depaudit.scan import InputOptions, scan_input, scan_lock
from depaudit.sources.detect import detect_kind
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
        options = {**options, "inputs": InputOptions(compare_cpu=False)}
    if parts is not None:
        if kind in ("uv.lock", "pylock.toml", "poetry.lock", "pdm.lock"):
            path, text = Path(text_spec), read_git_file(text_spec, cwd, kind="lock file")
        else:
            path = materialize(parts, kind, cwd, work)
            if kind == "dockerfile":  # its build context is what was written beside it, nothing else
                options = {**options, "inputs": InputOptions(context=path.parent, compare_cpu=False)}
    try:
        report, _ = scan_input(path, kind, text=text, **options)
    except UsageError as exc:
        raise UsageError(f"{side}: {exc}") from None
    except DepauditError as exc:  # name the spec the user gave, not the folder it was written to
        exc.message = exc.message.replace(str(path), text_spec).replace(str(work), text_spec)
        raise
    return replace(report, lockfile=text_spec)


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
        **scan_options,
    )
    before = _scan_side("base", load_lock_spec(base, cwd), options)
    return diff_reports(before, head)
