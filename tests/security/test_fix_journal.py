"""`depaudit fix` cannot be turned against the runner through its crash-recovery journal.

Before: every `fix` (even `--dry-run`, even on a requirements file) first "recovered" from a
`.depaudit-fix.journal.json` found in the project and trusted the paths in it. A committed journal
deleted an arbitrary folder (its "stage") and moved a repository file to `.git/hooks/pre-commit` (its
"entries"), which ran on the next commit. Now the journal is depaudit's own state (DEPAUDIT_STATE_DIR,
private to the test run), named by the project's real path, and every path in it is checked.

Real `git clone`, real `uv lock` against PEP 503 indexes on 127.0.0.1 (tests/fixers/localindex.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from depaudit.fixers.pipeline import find_uv
from depaudit.fixers.relock import LEGACY_JOURNAL_NAME, journal_path

from childrun import cli_env, run_depaudit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixers"))
from localindex import torch_indexes

HOOK_PAYLOAD = "#!/bin/sh\ntouch /tmp/depaudit-pwned\n"


@pytest.fixture
def indexes(tmp_path: Path):
    (tmp_path / "idx").mkdir()
    with torch_indexes(tmp_path / "idx") as urls:
        yield urls


def _pyproject(mirror: str, extra_deps: str = "", extra: str = "") -> str:
    return f'''[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.15.0"{extra_deps}]

[[tool.uv.index]]
name = "mirror"
url = "{mirror}"
default = true
{extra}'''


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env, timeout=60)


def _hostile_clone(tmp_path: Path, mirror: str, journal: dict) -> Path:
    """A repository whose author committed a journal-shaped file, cloned as CI would."""
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "pyproject.toml").write_text(_pyproject(mirror))
    (origin / "payload.sh").write_text(HOOK_PAYLOAD)
    subprocess.run([*find_uv(), "lock", "--quiet"], cwd=origin, check=True, timeout=120)
    (origin / LEGACY_JOURNAL_NAME).write_text(json.dumps(journal))
    _git("init", "-q", cwd=origin)
    _git("add", "-A", cwd=origin)
    _git("commit", "-q", "-m", "hostile", cwd=origin)
    clone = tmp_path / "work" / "clone"
    clone.parent.mkdir()
    _git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
    return clone


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    return victim


def _hostile_journals(clone_root: Path, victim: Path) -> dict[str, dict]:
    """The two journals the attack used: a "staging" one whose stage is an arbitrary folder, and a
    "prepared" one whose entry renames a repository file over `.git/hooks/pre-commit`."""
    hook = clone_root / ".git" / "hooks" / "pre-commit"
    return {
        "staging-deletes-a-folder": {"schema": 1, "pid": 1, "state": "staging", "stage": str(victim), "targets": []},
        "prepared-plants-a-hook": {
            "schema": 1,
            "pid": 1,
            "state": "prepared",
            "stage": str(victim),
            "targets": [str(hook)],
            "entries": [{"target": str(hook), "temp": str(clone_root / "payload.sh"), "old": None, "new": "0" * 64}],
        },
    }


@pytest.mark.parametrize("attack", ["staging-deletes-a-folder", "prepared-plants-a-hook"])
@pytest.mark.parametrize("args", [["--dry-run"], ["--dry-run", "--lock"], []], ids=["dry-run", "dry-run-lock", "fix"])
def test_a_committed_journal_is_ignored(tmp_path: Path, indexes, attack: str, args: list[str]) -> None:
    mirror, cpu = indexes
    victim = _victim(tmp_path)
    planned_root = tmp_path / "work" / "clone"
    clone = _hostile_clone(tmp_path, mirror, _hostile_journals(planned_root, victim)[attack])
    assert clone == planned_root
    result = run_depaudit("fix", str(clone), "--cpu-index-url", cpu, "--offline", *args, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    assert (victim / "precious.txt").read_text() == "keep me", "the journal's stage folder was deleted"
    assert not (clone / ".git" / "hooks" / "pre-commit").exists(), "a git hook was planted"
    assert (clone / "payload.sh").read_text() == HOOK_PAYLOAD
    assert result.stderr.count(f"{LEGACY_JOURNAL_NAME}: ignored") == 1, result.stderr
    if "--dry-run" in args:
        assert "pytorch-cpu" not in (clone / "pyproject.toml").read_text(), "a dry run changed the project"


def _forged_state_journal(root: Path, override: dict[str, object]) -> Path:
    """A journal in depaudit's own state folder for `root` (as if someone could write there)."""
    root = root.resolve()
    token = "0123456789abcdef"
    body = {
        "schema": 2,
        "pid": 1,
        "process": None,
        "root": str(root),
        "token": token,
        "state": "staging",
        "stage": str(root.parent / f".{root.name}.depaudit-lock-{token}"),
        "targets": [str(root / "pyproject.toml"), str(root / "uv.lock")],
        **override,
    }
    journal = journal_path(Path(os.environ["DEPAUDIT_STATE_DIR"]), root)
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(json.dumps(body))
    return journal


@pytest.mark.parametrize("what", ["stage", "targets", "root"])
def test_a_journal_naming_paths_outside_the_project_is_not_acted_on(tmp_path: Path, indexes, what: str) -> None:
    """Even in depaudit's own state folder, a journal whose paths are not the project's files, its
    token's staging folder or a temp file beside a target is refused (exit 4) and nothing is touched."""
    mirror, cpu = indexes
    victim = _victim(tmp_path)
    root = tmp_path / "svc"
    root.mkdir()
    (root / "pyproject.toml").write_text(_pyproject(mirror))
    subprocess.run([*find_uv(), "lock", "--quiet"], cwd=root, check=True, timeout=120)
    override = {
        "stage": {"stage": str(victim)},
        "targets": {"targets": [str(victim / "precious.txt")]},
        "root": {"root": str(victim)},
    }[what]
    journal = _forged_state_journal(root, override)
    result = run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline")
    assert result.returncode == 4, result.stderr
    assert "will not act on" in result.stderr
    assert (victim / "precious.txt").read_text() == "keep me"
    assert journal.exists()


@pytest.fixture
def workspace(tmp_path: Path, indexes) -> Path:
    """`ws/svc` (torch from the mirror, and `lib` from `../lib`, a path source outside the project)."""
    mirror, _ = indexes
    lib = tmp_path / "ws" / "lib"
    lib.mkdir(parents=True)
    (lib / "pyproject.toml").write_text(
        '[project]\nname = "lib"\nversion = "0.1.0"\n\n[build-system]\nrequires = ["hatchling"]\n'
        'build-backend = "hatchling.build"\n'
    )
    root = tmp_path / "ws" / "svc"
    root.mkdir()
    sources = '\n[tool.uv.sources]\nlib = { path = "../lib" }\n'
    (root / "pyproject.toml").write_text(_pyproject(mirror, ', "lib"', sources))
    subprocess.run([*find_uv(), "lock", "--quiet"], cwd=root, check=True, timeout=120)
    assert '{ directory = "../lib" }' in (root / "uv.lock").read_text()
    return root


def _leftovers(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if ".depaudit-lock-" in p.name or p.name.endswith(".depaudit-tmp")]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "fix"])
def test_fix_lock_from_inside_the_project_with_a_path_source_outside(
    tmp_path: Path, indexes, workspace: Path, dry_run: bool
) -> None:
    """`depaudit fix . --lock` run inside the project: the staged copy is outside the project, so
    `../lib` still resolves (it failed with exit 4), and the dry run works (it failed, "File exists")."""
    _, cpu = indexes
    before = (workspace / "uv.lock").read_bytes()
    args = ["fix", ".", "--cpu-index-url", cpu, "--offline", "--lock", *(["--dry-run"] if dry_run else [])]
    result = run_depaudit(*args, cwd=workspace, timeout=300)
    assert result.returncode == 0, result.stderr
    after = (workspace / "uv.lock").read_bytes()
    assert (after == before) if dry_run else (b"2.15.0+cpu" in after and b'directory = "../lib"' in after)
    assert not _leftovers(tmp_path), _leftovers(tmp_path)


_SLOW_STEPS = """
import sys, time
import depaudit.fixers.relock as relock
relock.step_hook = lambda: time.sleep(0.5)
sys.argv[0] = "depaudit"
from depaudit.cli import main
main()
"""


def test_a_kill_then_a_recovery_from_another_folder_leaves_nothing_behind(
    tmp_path: Path, indexes, workspace: Path
) -> None:
    """Killed inside the project (`fix .`), recovered from elsewhere (`fix /abs/path`): the journal is
    found by the project's real path, and no copy of the project is left anywhere."""
    _, cpu = indexes
    argv = [sys.executable, "-c", _SLOW_STEPS, "fix", ".", "--cpu-index-url", cpu, "--offline", "--lock"]
    proc = subprocess.Popen(argv, cwd=workspace, env=cli_env(), start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(workspace.parent.glob(".svc.depaudit-lock-*")) and time.monotonic() < deadline:
        time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(workspace.parent.glob(".svc.depaudit-lock-*")), "the run ended before its staging folder appeared"
    result = run_depaudit(
        "fix", str(workspace), "--cpu-index-url", cpu, "--offline", "--lock", cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "undid an interrupted `depaudit fix --lock`" in result.stderr
    assert not _leftovers(tmp_path), _leftovers(tmp_path)
    assert not journal_path(Path(os.environ["DEPAUDIT_STATE_DIR"]), workspace).exists()
