"""`depaudit fix --lock` is crash-safe: kill -9 at any moment leaves the old pair (pyproject.toml,
uv.lock) or the new pair once the next `depaudit fix` has run its recovery step.

Real `uv lock` against PEP 503 indexes on 127.0.0.1 (tests/fixers/localindex.py). The journal steps take
microseconds, so the kill tests run depaudit through a wrapper that sets `relock.step_hook` (the fault
injection seam) to a sleep of 0.15 s after each step: the 50 moments are drawn uniformly over a whole
run, and a good share of them land inside the journal steps. The whole process group is killed
(depaudit and the uv it runs). The journal lives in depaudit's state folder (DEPAUDIT_STATE_DIR, private
to the test run: tests/conftest.py), never in the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from localindex import torch_indexes

from depaudit.fixers.pipeline import find_uv
from depaudit.fixers.relock import journal_path, recover

from childrun import cli_env, run_depaudit

KILLS = 50
STEP_DELAY = 0.15
# depaudit's CLI with a sleep after each journal step (argv[1]: seconds), through the test seam.
_SLOW_STEPS = """
import sys, time
import depaudit.fixers.relock as relock
delay = float(sys.argv.pop(1))
relock.step_hook = lambda: time.sleep(delay)
sys.argv[0] = "depaudit"
from depaudit.cli import main
main()
"""


def _state() -> Path:
    return Path(os.environ["DEPAUDIT_STATE_DIR"])


def _journal(root: Path) -> Path:
    return journal_path(_state(), root)


@pytest.fixture
def indexes(tmp_path: Path):
    with torch_indexes(tmp_path) as urls:
        yield urls


@pytest.fixture
def project(tmp_path: Path, indexes) -> Path:
    mirror, _ = indexes
    root = tmp_path / "template" / "svc"
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'''[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.15.0"]

[[tool.uv.index]]
name = "mirror"
url = "{mirror}"
default = true
''')
    subprocess.run([*find_uv(), "lock", "--quiet"], cwd=root, check=True, timeout=120)
    return root


def _pair(root: Path) -> tuple[bytes, bytes]:
    return (root / "pyproject.toml").read_bytes(), (root / "uv.lock").read_bytes()


def _copy(template: Path, where: Path) -> Path:
    where.mkdir(parents=True)
    shutil.copytree(template, where / "svc")
    return where / "svc"


def _fix_argv(root: Path, cpu: str, *args: str, delay: float | None = None) -> list[str]:
    command = ["-m", "depaudit"] if delay is None else ["-c", _SLOW_STEPS, str(delay)]
    return [sys.executable, *command, "fix", str(root), "--cpu-index-url", cpu, "--offline", *args]


def _assert_clean(root: Path) -> None:
    assert not _journal(root).exists()
    assert not list(root.parent.glob(".svc.depaudit-lock-*")), "staging folder left behind"
    assert not list(root.glob(".*.depaudit-tmp")), "temp file left behind"
    assert not list(_journal(root).parent.glob(".*.depaudit-tmp")), "journal temp file left behind"


@pytest.mark.slow  # 50 real fix --lock runs, each killed, then recovered: about 2-3 minutes on 2 vCPUs
def test_kill_9_at_50_random_moments_leaves_the_old_or_the_new_pair(tmp_path: Path, indexes, project) -> None:
    _, cpu = indexes
    old = _pair(project)
    env = cli_env(UV_HTTP_RETRIES="0")
    reference = _copy(project, tmp_path / "reference")
    start = time.monotonic()
    argv = _fix_argv(reference, cpu, "--lock", delay=STEP_DELAY)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    whole_run = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    new = _pair(reference)
    assert new != old and b"2.15.0+cpu" in new[1]
    _assert_clean(reference)

    seed = int(os.environ.get("DEPAUDIT_CRASH_SEED", "9"))
    rng = random.Random(seed)
    phases: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for i in range(KILLS):
        root = _copy(project, tmp_path / f"run{i}")
        moment = rng.uniform(0, whole_run)
        proc = _start_fix_lock(root, cpu, env)
        time.sleep(moment)
        phases[_phase(root, proc)] += 1
        _kill(proc)
        recover(root, _state())  # what the next `depaudit fix` does first
        pair = _pair(root)
        assert pair in (old, new), f"kill {i} at {moment:.2f} s (seed {seed}) left a mixed pair"
        outcomes["new" if pair == new else "old"] += 1
        _assert_clean(root)
        shutil.rmtree(root.parent)
    print(f"\nwhole run {whole_run:.2f} s; phases at the kill: {dict(phases)}; outcomes: {dict(outcomes)}")
    assert phases["prepared"] >= 1, f"no kill landed in the swap (phases {dict(phases)}): raise KILLS or the delay"
    assert phases["staging"] >= 1 and outcomes["old"] >= 1 and outcomes["new"] >= 1


def _start_fix_lock(root: Path, cpu: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`depaudit fix --lock` in its own process group (so a kill reaches the uv it runs too)."""
    return subprocess.Popen(
        _fix_argv(root, cpu, "--lock", delay=STEP_DELAY),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _phase(root: Path, proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is not None:
        return "finished"
    try:
        return json.loads(_journal(root).read_text())["state"]
    except (OSError, ValueError, KeyError):
        return "before-journal"


def test_an_edit_made_during_the_run_is_kept_and_nothing_is_written(tmp_path: Path, indexes, project) -> None:
    _, cpu = indexes
    root = _copy(project, tmp_path / "edit")
    lock_before = (root / "uv.lock").read_bytes()
    proc = subprocess.Popen(
        _fix_argv(root, cpu, "--lock", delay=1),
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _journal(root).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    mine = (root / "pyproject.toml").read_text() + "\n# my edit while depaudit runs\n"
    (root / "pyproject.toml").write_text(mine)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err
    assert "changed on disk while depaudit was re-locking; nothing was written" in err
    assert (root / "pyproject.toml").read_text() == mine and (root / "uv.lock").read_bytes() == lock_before
    _assert_clean(root)


def test_a_symlinked_pyproject_is_relocked_through_the_link(tmp_path: Path, indexes, project) -> None:
    """A pyproject.toml that links to a file elsewhere in the project is written through the link."""
    _, cpu = indexes
    root = _copy(project, tmp_path / "link")
    shared = root / "config" / "shared.toml"
    shared.parent.mkdir()
    (root / "pyproject.toml").rename(shared)
    (root / "pyproject.toml").symlink_to("config/shared.toml")
    result = run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline", "--lock", timeout=300)
    assert result.returncode == 0, result.stderr
    assert (root / "pyproject.toml").is_symlink() and "pytorch-cpu" in shared.read_text()
    assert b"2.15.0+cpu" in (root / "uv.lock").read_bytes()
    _assert_clean(root)


@pytest.mark.parametrize("lock", [True, False], ids=["lock", "no-lock"])
def test_a_pyproject_linked_outside_the_project_is_refused(tmp_path: Path, indexes, project, lock: bool) -> None:
    """A link out of the project (to a file a checkout may point anywhere) is never read, let alone
    written through: exit 3 naming it, the target and the lock as they were, nothing left behind."""
    _, cpu = indexes
    root = _copy(project, tmp_path / "out")
    outside = tmp_path / "out" / "shared.toml"
    (root / "pyproject.toml").rename(outside)
    (root / "pyproject.toml").symlink_to("../shared.toml")
    before = outside.read_bytes(), (root / "uv.lock").read_bytes()
    result = run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline", *(["--lock"] if lock else []))
    assert result.returncode == 3, result.stderr
    assert "depaudit follows no link out of the project" in result.stderr
    assert (outside.read_bytes(), (root / "uv.lock").read_bytes()) == before
    _assert_clean(root)


def test_recovery_leaves_a_file_edited_after_the_crash_alone(tmp_path: Path, indexes, project) -> None:
    """A journal that says "prepared", but the user edited pyproject.toml after the crash: neither old
    nor new, so nothing is touched and the journal stays (exit 4, with what to do)."""
    _, cpu = indexes
    root = _copy(project, tmp_path / "conflict").resolve()
    lock = root / "uv.lock"
    temp = root / ".uv.lock.0000.depaudit-tmp"
    temp.write_bytes(b"new lock")
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + "# user\n")
    token = "0123456789abcdef"
    targets = [str(root / "pyproject.toml"), str(lock)]
    _journal(root).parent.mkdir(parents=True, exist_ok=True)
    _journal(root).write_text(
        json.dumps(
            {
                "schema": 2,
                "pid": 999999999,
                "process": None,
                "root": str(root),
                "token": token,
                "state": "prepared",
                "stage": str(root.parent / f".svc.depaudit-lock-{token}"),
                "targets": targets,
                "entries": [
                    {
                        "target": targets[0],
                        "temp": str(root / ".pyproject.toml.1.depaudit-tmp"),
                        "old": "0" * 64,
                        "new": "1" * 64,
                    },
                    {"target": targets[1], "temp": str(temp), "old": "0" * 64, "new": "2" * 64},
                ],
            }
        )
    )
    before = _pair(root)
    result = run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline")
    assert result.returncode == 4 and "changed since an interrupted `depaudit fix --lock`" in result.stderr
    assert _pair(root) == before and _journal(root).exists()


def _kill_when(root: Path, cpu: str, seen: Callable[[], bool]) -> None:
    """Start `fix --lock` (each journal step stretched) and kill its process group the moment `seen()`."""
    proc = _start_fix_lock(root, cpu, cli_env(UV_HTTP_RETRIES="0"))
    deadline = time.monotonic() + 120
    while not seen() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before the moment to kill it"
    _kill(proc)


def test_a_kill_just_after_the_staging_folder_appears_leaves_nothing_behind(tmp_path: Path, indexes, project) -> None:
    """The staging folder is named in the journal before it is made: a kill at the first moment the folder
    exists leaves a journal that names it. A dry run then changes nothing and says work is pending; the
    next real run removes both, then does the fix."""
    _, cpu = indexes
    root = _copy(project, tmp_path / "early")
    old = _pair(root)
    _kill_when(root, cpu, lambda: bool(list(root.parent.glob(".svc.depaudit-lock-*"))))
    assert _journal(root).exists(), "the staging folder existed before the journal that names it"
    dry = run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline", "--dry-run")
    assert dry.returncode in (0, 1), dry.stderr
    assert "left work to finish; the dry run leaves it" in dry.stderr
    assert _pair(root) == old and _journal(root).exists() and list(root.parent.glob(".svc.depaudit-lock-*"))
    again = run_depaudit("fix", str(root), "--cpu-index-url", cpu, "--offline", "--lock", timeout=300)
    assert again.returncode == 0, again.stderr
    assert "undid an interrupted `depaudit fix --lock`" in again.stderr
    assert b"2.15.0+cpu" in _pair(root)[1]
    _assert_clean(root)


def test_a_journal_temp_file_without_a_journal_is_removed(tmp_path: Path, indexes, project) -> None:
    """A kill while the first journal is being written leaves its temp file and no journal: the next run
    removes it (nothing else was made yet)."""
    root = _copy(project, tmp_path / "temp")
    journal = _journal(root)
    journal.parent.mkdir(parents=True, exist_ok=True)
    leftover = journal.parent / f".{journal.name}.0123456789ab.depaudit-tmp"
    leftover.write_text('{"schema": 2, "state": "sta')
    assert recover(root, _state()) is None
    assert not leftover.exists()
    _assert_clean(root)
