"""Helpers for the HTTP service tests: start the real server in a subprocess, make test images.

The server runs as ``python -m reference_service`` (or a launcher script for fault injection) on
127.0.0.1 with a free port and the real ONNX Runtime backend, and is driven with httpx.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(port: int, **overrides: str) -> dict[str, str]:
    """Environment for a server subprocess: repo on PYTHONPATH, loopback, no .pyc writes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GMNET_")}
    env.update(
        PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1", HOST="127.0.0.1", PORT=str(port), GMNET_LOG_LEVEL="info"
    )
    env.update(overrides)
    return env


class ServerProcess:
    """A running service subprocess; ``stop()`` sends SIGTERM and returns the exit code."""

    def __init__(
        self, args: list[str], env: dict[str, str], port: int, cwd: Path | None = None, user: str | None = None
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (lives as long as the server; closed in stop())
        self.proc = subprocess.Popen(
            args, env=env, cwd=cwd or REPO, stdout=self._log, stderr=subprocess.STDOUT, user=user
        )

    def log(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll /healthz until 200; raise with the server log if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 120.0) -> int:
        """SIGTERM, wait for exit (kill after ``timeout``), return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._log.close()


def start_service(
    *,
    ready: bool = True,
    launcher: Path | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    prefix: list[str] | None = None,
    **env: str,
) -> ServerProcess:
    """Start ``python -m reference_service`` (or ``launcher``) with GMNET_* settings in ``env``.

    ``prefix`` is put before the Python command (e.g. a namespace wrapper that execs it).
    """
    port = free_port()
    args = [PYTHON, str(launcher)] if launcher else [PYTHON, "-m", "reference_service"]
    args = [*(prefix or []), *args]
    server = ServerProcess(args, service_env(port, **env), port, cwd=cwd, user=user)
    if ready:
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
    return server


# -- images -----------------------------------------------------------------------------------
def rgb_array(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A deterministic uint8 (H, W, 3) test picture: gradients plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), 0.5 + 0.5 * np.sin((x + y) / 7.0)], axis=2)
    noisy = base * 200 + rng.integers(0, 55, size=base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def png_bytes(array: np.ndarray, **save: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG", **save)
    return out.getvalue()


def jpeg_bytes(array: np.ndarray, quality: int = 95, exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    kwargs: dict = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = exif
    Image.fromarray(array).save(out, format="JPEG", **kwargs)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid-looking PNG whose IHDR claims ``width`` x ``height`` RGB pixels (a few dozen bytes).

    Decoding it would need width*height*3 bytes; only the header check stands in the way.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of ``data`` (a truncated upload)."""
    return data[: max(1, int(len(data) * keep))]


def vm_hwm_kib(pid: int) -> int:
    """Peak resident set size of ``pid`` in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("VmHWM not found")


def vm_rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of ``pid`` from /proc/PID/status (VmRSS, VmHWM, ...) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)$"
    for line in text.splitlines():
        match = re.match(pattern, line)
        if match:
            return float(match.group(1))
    return 0.0
