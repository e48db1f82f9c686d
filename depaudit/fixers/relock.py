"""`depaudit fix --lock`, crash-safe: lock a staged copy, then swap the new pyproject.toml and uv.lock in
under a journal, so that any interruption (kill -9 at any moment) leaves the old pair or the new pair.

1. A journal (`.depaudit-fix.journal.json` beside uv.lock, written atomically) says "staging" and names
   the files that will change and the staging folder, before that folder is made: whatever a kill
   leaves, the journal names it.
2. The project (its workspace root) is copied to a sibling folder (same depth, so relative paths out of
   the project still resolve; same file system, so renames stay atomic), the edits are applied there and
   `uv lock` runs there. The user's files are untouched; a failure removes the copy (exit 4).
3. If a file changed on disk since the fix read it, nothing is written (ChangedOnDisk, exit 4): the
   user's edit is kept.
4. The new content of each file is written complete and fsync'd beside it (mode and owner kept, through
   symlinks); the journal then says "prepared", with the old and new SHA-256 of each file.
5. Each file is renamed into place; then the journal and the staging folder are removed.

`recover` (run by every `depaudit fix` before it reads anything) finishes what a killed run left: a
"staging" journal is rolled back (the copy and temp files go; the files were never touched), a
"prepared" one is rolled forward (files still old get their new content). A file that is neither old
nor new was edited by someone since: nothing is touched and the journal stays, with a message. Without a
journal, the temp file of a first journal that a kill interrupted is removed (nothing else existed yet).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from depaudit import fileio
from depaudit.errors import ChangedOnDisk, InputError

JOURNAL_NAME = ".depaudit-fix.journal.json"
# Tests only: seconds to sleep after each journal step, so that kills at random moments land inside the
# short swap steps too (tests/fixers/test_fix_crash.py). Unset in normal use.
STEP_DELAY_ENV = "DEPAUDIT_TEST_STEP_DELAY"
# What a copy of the project leaves out (environments, caches, build output, depaudit's own journal and
# temp files): the staged copy here and the dry run's copy in depaudit.fixers.pipeline.
COPY_IGNORE = shutil.ignore_patterns(
    ".venv",
    "venv",
    ".git",
    "node_modules",
    "__pycache__",
    "*.egg-info",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    "dist",
    "build",
    JOURNAL_NAME,
    "*.depaudit-tmp",
)


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def relock(
    root: Path,
    project_dir: Path,
    new_texts: dict[Path, str],
    expected: dict[Path, bytes | None],
    uv_lock: Callable[[Path], None],
) -> None:
    """Write `new_texts` (path -> text) and a new uv.lock made by `uv_lock(staged project dir)`, as one
    crash-safe step. `expected`: each file's bytes when the fix read it (None: absent), uv.lock included.
    Raises ToolError (uv failed), ChangedOnDisk (a file changed meanwhile), OutputError; nothing is
    changed in any of these cases."""
    lock = root / "uv.lock"
    targets = [Path(os.path.realpath(p)) for p in [*new_texts, lock]]
    journal = root / JOURNAL_NAME
    stage = _new_stage(root, journal, targets)
    try:
        _stage_copy(root, stage, new_texts)
        uv_lock(stage / os.path.relpath(project_dir, root))
        new = {Path(p): text.encode("utf-8") for p, text in new_texts.items()}
        new[lock] = fileio.read_bytes(stage / "uv.lock", "lock file")
        _check_unchanged(expected)
        entries = _prepare(new, expected)
    except BaseException:
        _roll_back(journal, stage, targets)
        raise
    _write_journal(
        journal, {"state": "prepared", "stage": str(stage), "targets": [str(t) for t in targets], "entries": entries}
    )
    _commit(entries)
    _finish(journal, stage, targets)


def _new_stage(root: Path, journal: Path, targets: list[Path]) -> Path:
    """A new folder beside `root` (same depth and file system) named after it, recorded in a "staging"
    journal before it is made: a kill at any moment leaves nothing the next run's recovery does not find
    (it removes the folder the journal names, whether or not it was made yet). Raises InputError when no
    folder can be made there (the journal is removed again)."""
    for _ in range(100):
        stage = root.parent / f".{root.name}.depaudit-lock-{os.urandom(4).hex()}"
        if os.path.lexists(stage):  # never name a folder that is not ours: recovery would remove it
            continue
        _write_journal(journal, {"state": "staging", "stage": str(stage), "targets": [str(t) for t in targets]})
        try:
            stage.mkdir(mode=0o700)
        except FileExistsError:  # made by someone else since the check: pick another name
            continue
        except OSError as exc:
            _remove_journal(journal)
            raise InputError(
                root.parent, f"cannot stage a copy of the project beside it: {exc.strerror or exc}"
            ) from None
        _step()
        return stage
    _remove_journal(journal)
    raise InputError(root.parent, "cannot find a free name to stage a copy of the project")


def _stage_copy(root: Path, stage: Path, new_texts: dict[Path, str]) -> None:
    """Copy the project to `stage` and write the edited files there (as regular files: a symlinked
    pyproject.toml must not be written through while staging)."""
    shutil.copytree(root, stage, ignore=COPY_IGNORE, symlinks=True, dirs_exist_ok=True)
    _step()
    for path, text in new_texts.items():
        staged = stage / os.path.relpath(path, root)
        if staged.is_symlink():
            staged.unlink()
        fileio.write_text(staged, text)
    staged_lock = stage / "uv.lock"
    if staged_lock.is_symlink():
        data = fileio.read_bytes(root / "uv.lock", "lock file")
        staged_lock.unlink()
        fileio.write_bytes(staged_lock, data)


def _check_unchanged(expected: dict[Path, bytes | None]) -> None:
    for path, data in expected.items():
        if _current(path) != data:
            raise ChangedOnDisk(
                f"{path}: changed on disk while depaudit was re-locking; nothing was written "
                f"(the change on disk is kept): run the fix again"
            )


def _current(path: Path) -> bytes | None:
    try:
        return fileio.read_bytes(path, "file")
    except InputError:
        return None if not os.path.lexists(path) else b"\0unreadable"


def _prepare(new: dict[Path, bytes], expected: dict[Path, bytes | None]) -> list[dict[str, str | None]]:
    """Complete new files beside their targets; the journal entries that describe them."""
    entries = []
    for path, data in new.items():
        final, temp = fileio.prepare_replacement(path, data)
        entries.append(
            {"target": str(final), "temp": str(temp), "old": digest(expected.get(path)), "new": digest(data)}
        )
        _step()
    return entries


def _commit(entries: list[dict[str, str | None]]) -> None:
    for entry in entries:
        fileio.commit_replacement(str(entry["temp"]), str(entry["target"]))
        _step()


def _roll_back(journal: Path, stage: Path, targets: list[Path]) -> None:
    """Undo a run that did not reach "prepared": the user's files were never touched."""
    _finish(journal, stage, targets)


def _finish(journal: Path, stage: Path, targets: list[Path]) -> None:
    shutil.rmtree(stage, ignore_errors=True)
    for target in targets:
        for leftover in target.parent.glob(f".{target.name}.*.depaudit-tmp"):
            leftover.unlink(missing_ok=True)
    _remove_journal(journal)


def _remove_journal(journal: Path) -> None:
    """The journal, then the temp files of journal writes a kill interrupted."""
    journal.unlink(missing_ok=True)
    _remove_journal_temps(journal.parent)


def _remove_journal_temps(folder: Path) -> None:
    for leftover in folder.glob(f".{JOURNAL_NAME}.*.depaudit-tmp"):
        leftover.unlink(missing_ok=True)


def _write_journal(path: Path, body: dict[str, Any]) -> None:
    fileio.write_text(
        path,
        json.dumps({"schema": 1, "pid": os.getpid(), "process": _process_token(os.getpid()), **body}, indent=1) + "\n",
    )
    _step()


def _step() -> None:
    delay = os.environ.get(STEP_DELAY_ENV)
    if delay:
        time.sleep(float(delay))


def _process_token(pid: int) -> str | None:
    """The start time of process `pid` (from /proc), which tells a live process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def recover(folder: Path) -> str | None:
    """Finish or undo what an interrupted `fix --lock` left in `folder` (where its uv.lock is). Returns
    a sentence saying what was done, or None when there was nothing. Raises ChangedOnDisk when the run
    is still going, or when a file changed since and the journal cannot be applied safely."""
    journal = folder / JOURNAL_NAME
    if not journal.is_file():
        # A run killed while writing its first journal had made nothing else yet: only that temp file.
        _remove_journal_temps(folder)
        return None
    try:
        body = json.loads(fileio.read_bytes(journal, "journal"))
        state, stage, targets = body["state"], Path(body["stage"]), [Path(t) for t in body["targets"]]
    except (InputError, ValueError, KeyError, TypeError):
        raise ChangedOnDisk(
            f"{journal}: an interrupted `depaudit fix --lock` left a journal depaudit cannot "
            f"read; check pyproject.toml and uv.lock, then delete it"
        ) from None
    pid = body.get("pid")
    if isinstance(pid, int) and pid != os.getpid() and body.get("process") and _process_token(pid) == body["process"]:
        raise ChangedOnDisk(
            f"{folder}: another `depaudit fix --lock` (pid {pid}) is working on this project; "
            f"run again when it has finished"
        )
    if state == "prepared":
        _roll_forward(journal, body.get("entries", []))
        _finish(journal, stage, targets)
        return f"completed an interrupted `depaudit fix --lock` ({', '.join(t.name for t in targets)} updated)"
    _finish(journal, stage, targets)
    return "undid an interrupted `depaudit fix --lock` (your files had not been changed)"


def _roll_forward(journal: Path, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        target, current = Path(entry["target"]), digest(_current(Path(entry["target"])))
        if current == entry["new"]:
            continue
        if current != entry["old"] or not Path(entry["temp"]).exists():
            raise ChangedOnDisk(
                f"{target}: changed since an interrupted `depaudit fix --lock`; depaudit leaves "
                f"it and {journal.name} alone: check the files, then delete {journal}"
            )
    for entry in entries:
        if digest(_current(Path(entry["target"]))) != entry["new"]:
            fileio.commit_replacement(entry["temp"], entry["target"])
