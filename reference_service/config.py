"""Service settings read from the environment, validated once at start-up.

Every setting has a default; an invalid value raises :class:`ConfigError` with a one-line message
naming the variable, which ``python -m reference_service`` turns into exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BACKEND_NAMES = ("onnxruntime", "onnxruntime-int8", "tinygrad", "torch")
LOG_LEVELS = ("debug", "info", "warning", "error")

# 2048 x 2048. GMNet's upsampling tail holds a 256-channel float32 map at half resolution, so the
# largest intermediate is ~1 GiB at this size and inference takes tens of seconds on 2 vCPU.
DEFAULT_MAX_PIXELS = 2048 * 2048
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Validated service settings (see ``reference_service/SERVER.md`` for the table)."""

    backend: str = "onnxruntime"
    checkpoint: Path | None = None
    onnx_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    queue_size: int = 16
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    job_ttl_seconds: float = 900.0
    max_jobs: int = 64
    drain_timeout_seconds: float = 600.0
    log_level: str = "info"
    max_connections: int = 1024
    max_uploads: int = 64
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_header_bytes: int = 32 * 1024


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: must be between {lo} and {hi}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not a number") from None
    if not lo <= value <= hi:  # also refuses nan
        raise ConfigError(f"{name}={raw!r}: must be between {lo:g} and {hi:g}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={raw!r}: must be one of {', '.join(choices)}")
    return value


def _file(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name}={raw!r}: no such file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{name}={raw!r}: file is not readable")
    return path


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Return settings from ``env`` (default ``os.environ``); raise ConfigError on a bad value."""
    env = os.environ if env is None else env
    host = (env.get("HOST") or "127.0.0.1").strip()
    if not host or any(ch.isspace() for ch in host):
        raise ConfigError(f"HOST={env.get('HOST')!r}: not a host name or address")
    workers = _int(env, "GMNET_WORKERS", 1, 1, 64)
    queue_size = _int(env, "GMNET_QUEUE_SIZE", 16, 1, 100_000)
    max_jobs = _int(env, "GMNET_MAX_JOBS", max(64, queue_size + workers), 1, 1_000_000)
    if max_jobs < queue_size + workers:
        raise ConfigError(
            f"GMNET_MAX_JOBS={max_jobs}: must be at least GMNET_QUEUE_SIZE + "
            f"GMNET_WORKERS ({queue_size + workers}) so no accepted job is evicted"
        )
    return Settings(
        backend=_choice(env, "GMNET_BACKEND", "onnxruntime", BACKEND_NAMES),
        checkpoint=_file(env, "GMNET_CHECKPOINT"),
        onnx_path=_file(env, "GMNET_ONNX"),
        host=host,
        port=_int(env, "PORT", 8000, 1, 65535),
        workers=workers,
        queue_size=queue_size,
        max_body_bytes=_int(env, "GMNET_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, 2**40),
        max_pixels=_int(env, "GMNET_MAX_PIXELS", DEFAULT_MAX_PIXELS, 1, 2**40),
        job_ttl_seconds=_float(env, "GMNET_JOB_TTL", 900.0, 0.0, 1e9),
        max_jobs=max_jobs,
        drain_timeout_seconds=_float(env, "GMNET_DRAIN_TIMEOUT", 600.0, 0.0, 1e9),
        log_level=_choice(env, "GMNET_LOG_LEVEL", "info", LOG_LEVELS),
        max_connections=_int(env, "GMNET_MAX_CONNECTIONS", 1024, 1, 1_000_000),
        max_uploads=_int(env, "GMNET_MAX_UPLOADS", 64, 1, 100_000),
        header_timeout_seconds=_float(env, "GMNET_HEADER_TIMEOUT", 10.0, 0.1, 3600.0),
        body_timeout_seconds=_float(env, "GMNET_BODY_TIMEOUT", 30.0, 0.1, 3600.0),
        max_header_bytes=_int(env, "GMNET_MAX_HEADER_BYTES", 32 * 1024, 1024, 16 * 1024 * 1024),
    )
