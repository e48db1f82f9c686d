"""Building images with the legacy builder: progress while it runs, and no leftovers afterwards.

The legacy builder (the only one on engines without BuildKit) keeps every stage of a multi-stage build as
an untagged image: the final stage gets the tag, each earlier stage (a "builder" holding compilers and
caches) stays behind as a dangling image that takes its layers' space. :func:`build_image` reads the
build's own log to know which images *this* build made, and :func:`remove_images` deletes them; images
made by anyone else on a shared engine are never touched.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from depaudit.errors import ToolError
from depaudit.images import engine
from depaudit.process import stream_tool

Progress = Callable[[str], None]
_STEP = re.compile(r"^Step (\d+)/(\d+) : (\w+)(.*)$")
_ARROW = re.compile(r"^ ---> ([0-9a-f]{12,64})\s*$")


def stage_images(build_log: str) -> list[str]:
    """Image ids a legacy-builder log shows as the last step of each stage, in stage order (the final
    stage last). The intermediate builder stages stay behind as untagged images; removing them frees
    their layers."""
    ids: list[str] = []
    current: str | None = None
    step_keyword = None
    for line in build_log.splitlines():
        step = _STEP.match(line)
        if step:
            if step.group(3).upper() == "FROM" and current is not None:
                ids.append(current)
                current = None
            step_keyword = step.group(3).upper()
            continue
        arrow = _ARROW.match(line)
        if arrow and step_keyword != "FROM":
            current = arrow.group(1)
    if current is not None:
        ids.append(current)
    return ids


@dataclass(frozen=True)
class BuildResult:
    """A finished build: wall seconds, and the ids of its stages (the final one last)."""

    seconds: float
    stages: list[str]

    @property
    def builder_stages(self) -> list[str]:
        """Every stage but the tagged final one."""
        return self.stages[:-1]


def build_image(
    argv: Sequence[str], log_path: Path, *, label: str, progress: Progress, timeout: float = 3600.0
) -> BuildResult:
    """Run ``docker build`` (``argv`` without the client name) with the legacy builder, streaming its
    output to ``log_path`` and reporting each ``Step N/M`` through ``progress``.

    On failure (or after ``timeout`` seconds) the stages the log shows are removed and ToolError (with the
    log's tail) is raised.
    """
    command = [engine.docker_command(), *argv]
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    started = time.monotonic()
    failure: ToolError | None = None
    with log_path.open("wb") as log:
        try:
            with stream_tool(command, env=env, merge_stderr=True, missing_hint="install Docker") as stream:
                for raw in stream:
                    log.write(raw)
                    _report_step(raw.decode(errors="replace"), label, started, progress)
                    if time.monotonic() - started > timeout:
                        raise ToolError(command, "", what=f"docker build of {label} exceeded {timeout:g} s")
        except ToolError as exc:
            failure = exc
    text = log_path.read_text(errors="replace")
    stages = stage_images(text)
    if failure is not None:
        remove_images(stages)
        raise ToolError(command, text[-4000:], what=f"docker build of {label} failed (log: {log_path})")
    return BuildResult(time.monotonic() - started, stages)


def _report_step(line: str, label: str, started: float, progress: Progress) -> None:
    step = _STEP.match(line)
    if step:
        elapsed = time.monotonic() - started
        progress(f"{label}: step {step.group(1)}/{step.group(2)} {step.group(3)}{step.group(4)[:70]} ({elapsed:.0f} s)")


def remove_images(ids: Sequence[str]) -> list[str]:
    """Remove images by id or tag (their untagged parents go with them); returns those removed.
    An image already gone or still used by a container is left and not reported."""
    removed = []
    for image in ids:
        try:
            engine.run_docker(["rmi", image], timeout=600)
            removed.append(image)
        except ToolError:
            pass
    return removed
