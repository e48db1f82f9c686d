"""Access to the Docker engine through the `docker` command line.

Every call goes through depaudit.process (argument lists, timeouts, ToolError with the command and its
stderr); a missing `docker` client or an engine that does not answer raises ToolError saying so. Parsing of the engine's answers lives here too, as pure
functions over the text the engine printed, so it can be tested against captured real output.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from depaudit.errors import ToolError
from depaudit.process import run_tool, stream_tool
from depaudit.units import parse_size

NO_ENGINE_HINT = (
    "is the Docker engine running? (`docker info` must answer; on these machines "
    "`bash docker/engine.sh` installs and starts it)"
)


_client = {"command": "docker"}


def set_docker_command(command: str) -> None:
    """Run `command` as the docker client (the `docker` setting, DEPAUDIT_DOCKER, applied at the edge)."""
    _client["command"] = command


def docker_command() -> str:
    """The docker client to run."""
    return _client["command"]


def _argv(args: Sequence[str]) -> list[str]:
    return [docker_command(), *args]


MISSING_CLIENT_HINT = "install Docker (Debian: apt-get install docker.io) or set DEPAUDIT_DOCKER"


def _failure(argv: list[str], stderr: str) -> ToolError:
    if "Cannot connect to the Docker daemon" in stderr or "error during connect" in stderr:
        return ToolError(argv, stderr, what=f"{' '.join(argv[:2])}: cannot reach the Docker engine; " + NO_ENGINE_HINT)
    return ToolError(argv, stderr)


def run_docker(args: Sequence[str], *, timeout: float | None, input_text: str | None = None) -> str:
    """Run `docker ARGS...`, return its stdout. Raises ToolError on a non-zero exit, a timeout or a
    missing client."""
    done = run_tool(
        _argv(args), timeout=timeout, input_text=input_text, missing_hint=MISSING_CLIENT_HINT, failure=_failure
    )
    return done.stdout


@contextmanager
def docker_stream(args: Sequence[str]) -> Iterator[IO[bytes]]:
    """Run `docker ARGS...` and yield its stdout as a binary stream (for `docker save`, which can be
    GBs: read it incrementally). Raises ToolError when the command fails; the process is always reaped."""
    with stream_tool(_argv(args), missing_hint=MISSING_CLIENT_HINT, failure=_failure) as stream:
        yield stream


def engine_available(timeout: float = 20.0) -> str | None:
    """None when a Docker engine answers `docker info`; otherwise the reason it does not."""
    if shutil.which(docker_command()) is None:
        return f"{docker_command()} not found on PATH"
    try:
        run_docker(["info", "--format", "{{.ServerVersion}}"], timeout=timeout)
    except ToolError as exc:
        return str(exc).splitlines()[0] if str(exc) else "docker info failed"
    return None


def require_engine() -> None:
    """Raise ToolError unless a Docker engine answers."""
    reason = engine_available()
    if reason is not None:
        raise ToolError(_argv(["info"]), "", what=f"no Docker engine: {reason}; {NO_ENGINE_HINT}")


# ---- parsing the engine's answers (pure) ----


@dataclass(frozen=True)
class HistoryEntry:
    """One row of `docker history`: the instruction that made it and the bytes its layer adds."""

    created_by: str
    size: int
    image_id: str | None = None


_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^/bin/sh -c\s+")


def clean_created_by(text: str) -> str:
    """The Dockerfile instruction behind a history row: `/bin/sh -c #(nop)  CMD [...]` -> `CMD [...]`,
    `/bin/sh -c apt-get ...` -> `RUN apt-get ...`, `|2 A=b /bin/sh -c ...` (RUN with build args) too."""
    text = text.strip()
    args = re.match(r"^\|\d+\s+((?:\S+=\S*\s+)*)(/bin/sh -c .*)$", text, re.DOTALL)
    if args:
        text = args.group(2)
    if _NOP.match(text):
        text = _NOP.sub("", text).strip()
        # The legacy builder writes `COPY --chown=1:1file:<64 hex> in /dst`: split the flag, shorten the hash.
        text = re.sub(r"(--chown=\S+?)(file|dir|multi):", r"\1 \2:", text)
        return re.sub(r"\b(file|dir|multi):([0-9a-f]{12})[0-9a-f]{52}\b", r"\1:\2…", text)
    if _SHELL.match(text):
        return "RUN " + _SHELL.sub("", text).strip()
    return text


def parse_history(text: str) -> list[HistoryEntry]:
    """Parse `docker history --no-trunc --human=false --format '{{json .}}' IMAGE` (one JSON object a
    line, newest layer first) into entries, base layer first. Raises ValueError on malformed output."""
    entries: list[HistoryEntry] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            size = _int_size(row["Size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"docker history line {number}: unexpected output: {line[:120]!r} ({exc})") from None
        image_id = row.get("ID")
        entries.append(
            HistoryEntry(
                clean_created_by(row.get("CreatedBy", "")), size, None if image_id in (None, "<missing>") else image_id
            )
        )
    entries.reverse()
    return entries


def _int_size(value: object) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    # --human=false prints bytes; accept docker's human form too ("173MB", "4.31kB", "0B").
    return parse_size(text)


@dataclass(frozen=True)
class ImageInfo:
    """The parts of `docker image inspect` a measurement uses."""

    id: str
    size: int
    layers: tuple[str, ...]
    user: str
    architecture: str
    os: str
    created: str
    tags: tuple[str, ...]
    healthcheck: bool


def parse_inspect(text: str) -> ImageInfo:
    """Parse `docker image inspect IMAGE` (a JSON list of one object). Raises ValueError."""
    try:
        data = json.loads(text)
        item = data[0] if isinstance(data, list) else data
        config = item.get("Config") or {}
        return ImageInfo(
            id=item["Id"],
            size=int(item["Size"]),
            layers=tuple((item.get("RootFS") or {}).get("Layers") or ()),
            user=config.get("User") or "",
            architecture=item.get("Architecture") or "",
            os=item.get("Os") or "",
            created=item.get("Created") or "",
            tags=tuple(item.get("RepoTags") or ()),
            healthcheck=bool((config.get("Healthcheck") or {}).get("Test")),
        )
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"docker image inspect: unexpected output ({exc})") from None


def inspect_image(ref: str) -> ImageInfo:
    """`docker image inspect` for one image. Raises ToolError (e.g. no such image)."""
    text = run_docker(["image", "inspect", ref], timeout=60)
    try:
        return parse_inspect(text)
    except ValueError as exc:
        raise ToolError(_argv(["image", "inspect", ref]), "", what=str(exc)) from None


def image_history(ref: str) -> list[HistoryEntry]:
    """The image's layers, base first, with the instruction that made each. Raises ToolError."""
    args = ["history", "--no-trunc", "--human=false", "--format", "{{json .}}", ref]
    text = run_docker(args, timeout=60)
    try:
        return parse_history(text)
    except ValueError as exc:
        raise ToolError(_argv(args), "", what=str(exc)) from None


def image_exists(ref: str) -> bool:
    """True when the engine has an image called `ref`."""
    try:
        run_docker(["image", "inspect", "--format", "{{.Id}}", ref], timeout=60)
    except ToolError as exc:
        if "No such image" in exc.stderr or "No such object" in exc.stderr:
            return False
        raise
    return True
