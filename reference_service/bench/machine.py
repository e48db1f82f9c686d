"""The machine figures come from: CPU, memory, OS, Python, Docker engine, and how busy it is."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from depaudit.errors import ToolError
from depaudit.images import engine


def _proc_field(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_description(*, docker: bool = True) -> dict[str, Any]:
    """CPU model and count, memory (GiB), OS, Python and (with ``docker``) the Docker engine version."""
    memory = _proc_field("/proc/meminfo", "MemTotal:")
    os_name = platform.platform()
    try:
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = fields.get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    server = None
    if docker:
        try:
            server = engine.run_docker(["version", "--format", "{{.Server.Version}}"], timeout=30).strip()
        except ToolError:
            server = None
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name") or "unknown CPU",
        "vcpus": os.cpu_count(),
        "memory_gib": round(int(memory.split()[0]) / 1024 / 1024, 1) if memory else None,
        "os": os_name,
        "python": platform.python_version(),
        "docker_engine": server,
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 2 decimals."""
    return [round(x, 2) for x in os.getloadavg()]


def overloaded(load1: float, cpus: int | None = None) -> bool:
    """True when the 1-minute load average exceeds the number of logical CPUs (timings then suffer)."""
    return load1 > (cpus or os.cpu_count() or 1)
