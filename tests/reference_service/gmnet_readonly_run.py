"""Run a command as user nobody on a read-only filesystem (Linux mount namespace, needs root).

    unshare --mount --propagation private -- python gmnet_readonly_run.py [--expose DIR]... -- CMD...

Inside the private mount namespace: every mount (except /proc, /sys, /dev) is remounted read-only,
a fresh tmpfs is mounted on /tmp (what ``docker run --read-only --tmpfs /tmp`` gives a container),
and the command is exec'd as nobody via setpriv. If the Python installation sits under a directory
nobody may not enter (pyenv under /root, mode 0700), that directory is masked by a tmpfs through
which only the Python installation is bind-mounted back, read-only. Each ``--expose DIR`` (e.g. a
model directory under /tmp) is bind-mounted back at its own path, read-only, over the new /tmp.
Nothing outside the namespace changes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path


def run(*args: str, fds: tuple[int, ...] = ()) -> None:
    subprocess.run(args, check=True, pass_fds=fds)


def bind_from_fd(fd: int, target: Path) -> None:
    """Bind-mount the directory open as ``fd`` (O_PATH) onto ``target``: no staging directory."""
    # --no-canonicalize: mount(8) would otherwise resolve the fd link to a path that is covered
    run("mount", "--no-canonicalize", "--bind", f"/proc/self/fd/{fd}", str(target), fds=(fd,))


def hold(path: Path) -> int:
    return os.open(path, os.O_PATH | os.O_DIRECTORY)


def unreachable_ancestor(path: Path) -> Path | None:
    """The first ancestor of ``path`` that others may not traverse (no o+x), if any."""
    for parent in reversed(path.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    return None


def expose_python() -> None:
    prefix = Path(sys.base_prefix).resolve()
    blocked = unreachable_ancestor(prefix / "bin")
    if blocked is None:
        return
    child = blocked / prefix.relative_to(blocked).parts[0]
    fd = hold(child)
    run("mount", "-t", "tmpfs", "-o", "mode=755,size=1m", "tmpfs", str(blocked))
    child.mkdir()
    bind_from_fd(fd, child)
    os.close(fd)


def main() -> int:
    argv = sys.argv[1:]
    split = argv.index("--")
    exposed = [Path(p) for flag, p in zip(argv[:split:2], argv[1:split:2], strict=True) if flag == "--expose"]
    command = argv[split + 1 :]
    held = [(hold(path), path) for path in exposed]  # before /tmp is covered
    expose_python()
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mount in mounts:
        if mount.startswith(("/proc", "/sys", "/dev")):
            continue
        subprocess.run(["mount", "-o", "remount,bind,ro", mount], check=False, stderr=subprocess.DEVNULL)
    run("mount", "-t", "tmpfs", "-o", "mode=1777,size=64m", "tmpfs", "/tmp")
    for fd, path in held:
        path.mkdir(parents=True, exist_ok=True)
        bind_from_fd(fd, path)
        run("mount", "-o", "remount,bind,ro", str(path))
        os.close(fd)
    os.execvp("setpriv", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", *command])
    return 127


if __name__ == "__main__":
    sys.exit(main())
