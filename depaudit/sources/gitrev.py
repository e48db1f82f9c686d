"""Read a file as it was at a git revision: `REV:path` (`origin/main:uv.lock`), for `depaudit diff`.

git resolves the spec exactly as `git show REV:path` would (a path is from the repository root;
`REV:./path` is relative to the working folder). `git cat-file --batch-check` is used rather than
`git show` because it answers the object's type and size before anything is read: a folder (a tree)
or an oversized blob is refused without reading it, and the spec travels on stdin, so a revision that
begins with `-` can never be taken for an option.
"""

from __future__ import annotations

import os
from pathlib import Path

from depaudit.errors import InputError, ToolError
from depaudit.fileio import max_input_bytes
from depaudit.model import Lock
from depaudit.process import run_tool
from depaudit.sources.uvlock import load_lock, lock_from_text

GIT_TIMEOUT = 60.0  # seconds; reading one blob from a local repository takes milliseconds


def split_rev_spec(spec: str, cwd: Path | None = None) -> tuple[str, str] | None:
    """(`rev`, `path`) when `spec` reads as `REV:path` and names no existing file (relative to `cwd`,
    default the working folder), else None."""
    if ":" not in spec or os.path.lexists(Path(cwd or ".") / spec):
        return None
    rev, _, path = spec.partition(":")
    if not rev or not path:
        return None
    return rev, path


def read_git_file(spec: str, cwd: Path | None = None, *, kind: str = "lock file") -> str:
    """The UTF-8 text of `REV:path` in the repository around `cwd` (default: the working folder).

    Raises InputError (`spec: what`) for a spec that is not `REV:path`, a folder outside any
    repository, an unknown revision, a path the revision lacks, a folder, an oversized or non-UTF-8
    file; ToolError when git is missing, fails otherwise, or exceeds GIT_TIMEOUT."""
    parts = split_rev_spec(spec, cwd)
    if parts is None:
        raise InputError(spec, "not a REV:path spec (for example origin/main:uv.lock)")
    where = Path(cwd) if cwd is not None else Path.cwd()
    oid, kind_found, size = _describe(spec, parts, where)
    if kind_found != "blob":
        raise InputError(spec, f"is a {'folder' if kind_found == 'tree' else kind_found} in git, not a {kind}")
    limit = max_input_bytes()
    if size > limit:
        raise InputError(
            spec,
            f"{size / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB input limit "
            f"(set DEPAUDIT_MAX_INPUT_BYTES to raise it)",
        )
    try:
        _, text, _ = _git(["cat-file", "blob", oid], where)
    except UnicodeDecodeError as exc:  # exc.object is the blob's bytes
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise InputError(spec, f"not UTF-8 (byte 0x{exc.object[exc.start]:02x})", line) from None
    if not text.strip():
        raise InputError(spec, f"empty file, not a {kind}")
    return text


def load_lock_spec(spec: str | Path, cwd: Path | None = None) -> Lock:
    """A lock from a file path, or from git when `spec` is `REV:path` naming no existing file. The
    lock's `path` is the spec as given. Raises InputError or ToolError as read_git_file does."""
    text_spec = str(spec)
    if split_rev_spec(text_spec, cwd) is None:
        return load_lock(Path(cwd or ".") / spec)
    return lock_from_text(read_git_file(text_spec, cwd), text_spec)


def _describe(spec: str, parts: tuple[str, str], cwd: Path) -> tuple[str, str, int]:
    """(object id, type, size) of the spec, or InputError saying which half of it is wrong."""
    code, out, err = _git(["cat-file", "--batch-check"], cwd, stdin=spec + "\n", check=False)
    if code != 0:
        if "not a git repository" in err:
            raise InputError(spec, f"{cwd} is not inside a git repository")
        raise ToolError(["git", "cat-file", "--batch-check"], err)
    fields = out.split()
    if len(fields) == 3 and fields[2].isdigit():
        return fields[0], fields[1], int(fields[2])
    rev, path = parts
    code, _, _ = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], cwd, check=False)
    if code != 0:
        raise InputError(spec, f"unknown git revision {rev!r} (fetch it first, e.g. `git fetch origin`)")
    raise InputError(spec, f"no file {path!r} at revision {rev!r}")


def _git(args: list[str], cwd: Path, *, stdin: str | None = None, check: bool = True) -> tuple[int, str, str]:
    """Run git (argument list, timeout, output decoded as UTF-8): (exit code, stdout, stderr). Raises
    ToolError when git is missing, times out or (with `check`) fails; UnicodeDecodeError for output that
    is not UTF-8."""
    done = run_tool(
        ["git", *args],
        timeout=GIT_TIMEOUT,
        input_text=stdin,
        cwd=cwd,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        check=check,
        missing_hint="git is needed to read REV:path specs",
        encoding="utf-8",
    )
    return done.returncode, done.stdout, done.stderr
