"""`depaudit fix --lock`, crash-safe: lock a staged copy, then swap the new pyproject.toml and uv.lock in
under a journal, so that any interruption (kill -9 at any moment) leaves the old pair or the new pair.

The journal is depaudit's own state, never the project's: a file in `<state dir>/fix-journals/`, named
by a hash of the project's real path (the state dir is DEPAUDIT_STATE_DIR, else $XDG_STATE_HOME/depaudit,
else ~/.local/state/depaudit: the machine's, not the checkout's). A repository cannot forge it, and a
journal-shaped file committed in a project (`.depaudit-fix.journal.json`, where earlier versions kept it)
is ignored with a warning. Every path a recovery acts on is checked to lie inside the project or to be
the staging folder named by the journal's random token.

1. The journal says "staging" and names the files that will change and the staging folder
   (`.<project>.depaudit-lock-<token>` beside the project's real folder: outside the project tree, on the
   same file system so renames stay atomic, at the same depth so `../lib` path sources still resolve),
   before that folder is made: whatever a kill leaves, the journal names it.
2. The project (its workspace root) is copied there, the edits are applied there and `uv lock` runs
   there. The user's files are untouched; a failure removes the copy (exit 4).
3. If a file changed on disk since the fix read it, nothing is written (ChangedOnDisk, exit 4): the
   user's edit is kept.
4. The new content of each file is written complete and fsync'd beside it (mode and owner kept); the
   journal then says "prepared", with the old and new SHA-256 of each file.
5. Each file is renamed into place; then the journal and the staging folder are removed.

`recover` (run by `depaudit fix` before it reads anything; never by `--dry-run`, which only says that
work is pending) finishes what a killed run left: a "staging" journal is rolled back (the copy and temp
files go; the files were never touched), a "prepared" one is rolled forward (files still old get their
new content). A file that is neither old nor new was edited by someone since: nothing is touched and the
journal stays, with a message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from depaudit import fileio
from depaudit.errors import ChangedOnDisk, FixRefused, InputError

JOURNAL_DIR = "fix-journals"
# Where depaudit before 0.2 kept its journal: inside the project, where a repository could plant one.
LEGACY_JOURNAL_NAME = ".depaudit-fix.journal.json"
_TOKEN = re.compile(r"[0-9a-f]{16}")
# Fault injection for the crash tests: called after each journal step. Production leaves it a no-op;
# tests/fixers/test_fix_crash.py runs depaudit through a wrapper that sets it to a short sleep, so that
# kills at random moments land inside the short swap steps too.
step_hook: Callable[[], None] = lambda: None  # noqa: E731
# What a copy of the project leaves out (environments, caches, build output, depaudit's temp files and
# an old in-project journal): the staged copy here and the dry run's copy in depaudit.fixers.pipeline.
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
    LEGACY_JOURNAL_NAME,
    "*.depaudit-tmp",
)


def journal_path(state_dir: Path, root: Path) -> Path:
    """The journal of the project whose lock lives in `root`: in depaudit's state folder, named by a
    hash of the folder's real path (the same from any working directory)."""
    key = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return state_dir / JOURNAL_DIR / f"{key}.json"


def stage_path(root: Path, token: str) -> Path:
    """The staging folder of a run with `token`: beside the project's real folder, hidden."""
    real = Path(os.path.realpath(root))
    return real.parent / f".{real.name}.depaudit-lock-{token}"


def legacy_journal_warning(folder: Path) -> str | None:
    """A one-line warning when `folder` holds a file named like an old in-project journal (committed by
    someone, or left by depaudit < 0.2): it is ignored, never read."""
    if os.path.lexists(folder / LEGACY_JOURNAL_NAME):
        return (
            f"{folder / LEGACY_JOURNAL_NAME}: ignored (depaudit keeps fix --lock recovery state outside "
            f"the project; a journal inside it is never trusted)"
        )
    return None


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def relock(
    root: Path,
    project_dir: Path,
    new_texts: dict[Path, str],
    expected: dict[Path, bytes | None],
    uv_lock: Callable[[Path], None],
    state_dir: Path,
) -> None:
    """Write `new_texts` (path -> text) and a new uv.lock made by `uv_lock(staged project dir)`, as one
    crash-safe step, journalled in `state_dir`. `root`: the folder of uv.lock (the workspace root).
    `expected`: each file's bytes when the fix read it (None: absent), uv.lock included. Raises
    FixRefused (a file resolves outside the project), ToolError (uv failed), ChangedOnDisk (a file
    changed meanwhile), OutputError; nothing is changed in any of these cases."""
    real_root = Path(os.path.realpath(root))
    lock = root / "uv.lock"
    refuse_outside([*new_texts, lock], real_root)
    targets = [Path(os.path.realpath(p)) for p in [*new_texts, lock]]
    journal = journal_path(state_dir, real_root)
    token, stage = _new_stage(real_root, journal, targets)
    base = {"root": str(real_root), "token": token, "stage": str(stage), "targets": [str(t) for t in targets]}
    try:
        _stage_copy(root, stage, new_texts)
        uv_lock(stage / os.path.relpath(project_dir, root))
        new = {Path(p): text.encode("utf-8") for p, text in new_texts.items()}
        new[lock] = fileio.read_bytes(stage / "uv.lock", "lock file")
        _check_unchanged(expected)
        entries = _prepare(new, expected)
    except BaseException:
        _finish(journal, stage, targets)
        raise
    _write_journal(journal, {**base, "state": "prepared", "entries": entries})
    _commit(entries)
    _finish(journal, stage, targets)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def refuse_outside(paths: list[Path], root: Path) -> None:
    """Raise FixRefused naming the first of `paths` whose real path (symlinks followed) is not inside
    the real folder `root`: a fix never writes outside the project, whatever a link points at."""
    real_root = Path(os.path.realpath(root))
    for path in paths:
        if not _inside(Path(os.path.realpath(path)), real_root):
            raise FixRefused(
                f"{path}: resolves to {os.path.realpath(path)}, outside the project ({real_root}); depaudit "
                f"does not write outside the project it fixes"
            )


def _new_stage(root: Path, journal: Path, targets: list[Path]) -> tuple[str, Path]:
    """(token, folder): a new staging folder beside `root`, recorded in a "staging" journal before it is
    made: a kill at any moment leaves nothing the next run's recovery does not find (it removes the
    folder the journal names, whether or not it was made yet). Raises InputError when no folder can be
    made there (the journal is removed again)."""
    for _ in range(100):
        token = os.urandom(8).hex()
        stage = stage_path(root, token)
        if os.path.lexists(stage):  # never name a folder that is not ours: recovery would remove it
            continue
        _write_journal(
            journal,
            {
                "root": str(root),
                "token": token,
                "state": "staging",
                "stage": str(stage),
                "targets": [str(t) for t in targets],
            },
        )
        try:
            stage.mkdir(mode=0o700)
        except FileExistsError:  # made by someone else since the check: pick another name
            continue
        except OSError as exc:
            _remove_journal(journal)
            raise InputError(
                root.parent, f"cannot stage a copy of the project beside it: {exc.strerror or exc}"
            ) from None
        step_hook()
        return token, stage
    _remove_journal(journal)
    raise InputError(root.parent, "cannot find a free name to stage a copy of the project")


def _stage_copy(root: Path, stage: Path, new_texts: dict[Path, str]) -> None:
    """Copy the project to `stage` and write the edited files there (as regular files: a symlinked
    pyproject.toml must not be written through while staging)."""
    shutil.copytree(root, stage, ignore=COPY_IGNORE, symlinks=True, dirs_exist_ok=True)
    step_hook()
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
        step_hook()
    return entries


def _commit(entries: list[dict[str, str | None]]) -> None:
    for entry in entries:
        fileio.commit_replacement(str(entry["temp"]), str(entry["target"]))
        step_hook()


def _finish(journal: Path, stage: Path, targets: list[Path]) -> None:
    """Remove the staging folder, the temp files beside the targets, then the journal."""
    shutil.rmtree(stage, ignore_errors=True)
    for target in targets:
        for leftover in target.parent.glob(f".{glob_escape(target.name)}.*.depaudit-tmp"):
            leftover.unlink(missing_ok=True)
    _remove_journal(journal)


def glob_escape(name: str) -> str:
    """`name` with glob metacharacters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _remove_journal(journal: Path) -> None:
    """The journal, then the temp files of journal writes a kill interrupted."""
    journal.unlink(missing_ok=True)
    _remove_journal_temps(journal)


def _remove_journal_temps(journal: Path) -> None:
    for leftover in journal.parent.glob(f".{journal.name}.*.depaudit-tmp"):
        leftover.unlink(missing_ok=True)


def _write_journal(path: Path, body: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(path.parent, f"cannot make depaudit's state folder: {exc.strerror or exc}") from None
    fileio.write_text(
        path,
        json.dumps({"schema": 2, "pid": os.getpid(), "process": _process_token(os.getpid()), **body}, indent=1) + "\n",
    )
    step_hook()


def _process_token(pid: int) -> str | None:
    """The start time of process `pid` (from /proc), which tells a live process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pending(root: Path, state_dir: Path) -> bool:
    """True when an interrupted `fix --lock` of the project in `root` left a journal to finish."""
    return journal_path(state_dir, root).is_file()


def recover(root: Path, state_dir: Path) -> str | None:
    """Finish or undo what an interrupted `fix --lock` left for the project whose uv.lock is in `root`.
    Returns a sentence saying what was done, or None when there was nothing. Raises ChangedOnDisk when
    the run is still going, when a file changed since and the journal cannot be applied safely, or when
    the journal does not describe this project (it is then left alone)."""
    root = Path(os.path.realpath(root))
    journal = journal_path(state_dir, root)
    if not journal.is_file():
        _remove_journal_temps(journal)  # a run killed while writing its first journal had made nothing else
        return None
    body = _read_journal(journal, root)
    pid = body.get("pid")
    if isinstance(pid, int) and pid != os.getpid() and body.get("process") and _process_token(pid) == body["process"]:
        raise ChangedOnDisk(
            f"{root}: another `depaudit fix --lock` (pid {pid}) is working on this project; "
            f"run again when it has finished"
        )
    stage, targets = Path(body["stage"]), [Path(t) for t in body["targets"]]
    if body["state"] == "prepared":
        _roll_forward(journal, body["entries"])
        _finish(journal, stage, targets)
        return f"completed an interrupted `depaudit fix --lock` ({', '.join(t.name for t in targets)} updated)"
    _finish(journal, stage, targets)
    return "undid an interrupted `depaudit fix --lock` (your files had not been changed)"


def _read_journal(journal: Path, root: Path) -> dict[str, Any]:
    """The journal's body, checked against `root`: every path in it must be the project's own file, the
    staging folder its token names, or a temp file beside a target. Raises ChangedOnDisk otherwise."""

    def refuse(why: str) -> ChangedOnDisk:
        return ChangedOnDisk(
            f"{journal}: an interrupted `depaudit fix --lock` left a journal depaudit will not act on ({why}); "
            f"check pyproject.toml and uv.lock in {root}, then delete the journal"
        )

    try:
        body = json.loads(fileio.read_bytes(journal, "journal"))
        token, state, stage, targets = body["token"], body["state"], body["stage"], body["targets"]
        entries = body.get("entries", []) if state == "prepared" else []
    except (InputError, ValueError, KeyError, TypeError):
        raise refuse("unreadable") from None
    if not isinstance(body, dict) or body.get("root") != str(root) or state not in ("staging", "prepared"):
        raise refuse("it names another project")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token) or stage != str(stage_path(root, token)):
        raise refuse("its staging folder is not one depaudit makes")
    if not isinstance(targets, list) or not all(isinstance(t, str) and _inside(Path(t), root) for t in targets):
        raise refuse("a file it names is outside the project")
    for entry in entries if isinstance(entries, list) else [None]:
        if not _valid_entry(entry, targets):
            raise refuse("a file it names is outside the project")
    return {**body, "entries": entries}


def _valid_entry(entry: Any, targets: list[str]) -> bool:
    if not isinstance(entry, dict) or entry.get("target") not in targets or not isinstance(entry.get("temp"), str):
        return False
    target, temp = Path(entry["target"]), Path(entry["temp"])
    named = temp.name.startswith(f".{target.name}.") and temp.name.endswith(".depaudit-tmp")
    return temp.parent == target.parent and named and "/" not in temp.name


def _roll_forward(journal: Path, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        target, current = Path(entry["target"]), digest(_current(Path(entry["target"])))
        if current == entry["new"]:
            continue
        if current != entry["old"] or not Path(entry["temp"]).exists():
            raise ChangedOnDisk(
                f"{target}: changed since an interrupted `depaudit fix --lock`; depaudit leaves "
                f"it and the journal alone: check the files, then delete {journal}"
            )
    for entry in entries:
        if digest(_current(Path(entry["target"]))) != entry["new"]:
            fileio.commit_replacement(entry["temp"], entry["target"])
