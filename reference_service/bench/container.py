"""Running a service image for measurement: published on loopback, read-only, always removed afterwards."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from depaudit.errors import ToolError
from depaudit.images import engine
from depaudit.process import run_tool


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_container(image: str, name: str, *, container_port: int = 8000) -> Iterator[tuple[str, float]]:
    """``docker run -d --read-only --tmpfs /tmp`` with ``container_port`` published on a free 127.0.0.1 port.

    Yields (base URL, monotonic time of the run command). The container is removed on exit, whatever
    happened. Raises ToolError when it cannot be started.
    """
    port = free_port()
    if exists(name):
        engine.run_docker(["rm", "-f", name], timeout=60)
    started = time.monotonic()
    engine.run_docker(
        [
            "run",
            "-d",
            "--name",
            name,
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-p",
            f"127.0.0.1:{port}:{container_port}",
            image,
        ],
        timeout=120,
    )
    try:
        yield f"http://127.0.0.1:{port}", started
    finally:
        with suppress(ToolError):
            engine.run_docker(["rm", "-f", name], timeout=120)


def exists(name: str) -> bool:
    """True when a container called ``name`` exists (running or not)."""
    try:
        engine.run_docker(["container", "inspect", "--format", "{{.Id}}", name], timeout=30)
        return True
    except ToolError:
        return False


def wait_ready(url: str, started: float, timeout: float, container: str, health_path: str = "/healthz") -> float:
    """Poll ``GET url + health_path`` until 200; returns seconds since ``started``.

    Raises ToolError (with the container's last log lines) on timeout or when the container exits first.
    """
    deadline = started + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + health_path, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        state = engine.run_docker(["container", "inspect", "--format", "{{.State.Status}}", container], timeout=30)
        if state.strip() not in ("running", "created"):
            raise ToolError(
                ["docker", "run", container], logs(container), what=f"container {container} exited before ready"
            )
        time.sleep(0.1)
    raise ToolError(
        ["docker", "run", container], logs(container), what=f"container {container} not ready after {timeout:g} s"
    )


def logs(container: str, lines: int = 30) -> str:
    """The container's last ``lines`` log lines (empty when they cannot be read)."""
    try:
        done = run_tool([engine.docker_command(), "logs", "--tail", str(lines), container], timeout=30, check=False)
        return done.stdout + done.stderr
    except (OSError, ToolError):
        return ""
