"""Building hostile repositories the way a pull request delivers them, and checking what a depaudit run
did to everything around them.

A hostile repository is committed with real git (symlinks as git stores them, mode 120000) and handed
to depaudit as a fresh `git clone`, the checkout a CI job runs on. `Surroundings` fingerprints every
file outside the clone that a run could touch (a sibling folder standing in for the runner's home, with
a "secret" file in it) so a test can assert that nothing outside the clone changed; `SECRET` sits in the
child's environment and in that file, and no output may contain it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from childrun import ChildResult, cli_env, run_depaudit

SECRET = "ghp_depauditTestSecret0123456789abcdefXYZ"  # shaped like a GitHub token; in env and the home file
GIT_ENV = {
    "GIT_AUTHOR_NAME": "attacker",
    "GIT_AUTHOR_EMAIL": "attacker@example.invalid",
    "GIT_COMMITTER_NAME": "attacker",
    "GIT_COMMITTER_EMAIL": "attacker@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def hostile_clone(
    where: Path,
    files: Mapping[str, str | bytes],
    links: Mapping[str, str] | None = None,
    name: str = "pr",
) -> Path:
    """Commit `files` (path -> content) and `links` (path -> link target, as written) in a new
    repository under `where`, then `git clone` it; return the clone's folder."""
    origin = where / f"{name}-origin"
    origin.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=origin)
    for rel, content in files.items():
        path = origin / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    for rel, target in (links or {}).items():
        path = origin / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    _git("add", "-A", cwd=origin)
    _git("commit", "-q", "-m", "pull request", cwd=origin)
    clone = where / name
    subprocess.run(
        ["git", "clone", "-q", str(origin), str(clone)],
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
    )
    return clone


def home_with_secret(where: Path) -> Path:
    """A folder standing in for the runner's home: a token file and an ssh key, outside every clone."""
    home = where / "runner-home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n")
    (home / "token.txt").write_text(f"torch==2.8.0\n{SECRET}\n")
    return home


@dataclass
class Surroundings:
    """Fingerprints of every file and link under `root` except inside `clone` (content, mode, link
    target), taken when made; `changed()` lists what differs now."""

    root: Path
    clone: Path

    def __post_init__(self) -> None:
        self.before = self._snapshot()

    def _snapshot(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for folder, dirs, names in os.walk(self.root):
            here = Path(folder)
            if here == self.clone or self.clone in here.parents:
                dirs[:] = []
                continue
            for entry in [*names, *dirs]:
                path = here / entry
                if path == self.clone:
                    continue
                st = path.lstat()
                if path.is_symlink():
                    out[str(path)] = "link:" + os.readlink(path)
                elif path.is_file():
                    out[str(path)] = f"{st.st_mode:o}:" + hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    out[str(path)] = f"{st.st_mode:o}"
        return out

    def changed(self) -> list[str]:
        after = self._snapshot()
        return sorted(k for k in self.before.keys() | after.keys() if self.before.get(k) != after.get(k))


def run_in(clone: Path, *args: str, timeout: float = 120, **env: str) -> ChildResult:
    """depaudit run in the clone as a CI job would, with `SECRET` in its environment."""
    return run_depaudit(*args, cwd=clone, timeout=timeout, env=cli_env(DEPAUDIT_TEST_TOKEN=SECRET, **env))


def assert_no_secret(result: ChildResult) -> None:
    assert SECRET not in result.stdout and SECRET not in result.stderr, (result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
