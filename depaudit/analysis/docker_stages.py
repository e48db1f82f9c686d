"""Facts about a parsed Dockerfile's stages that the DA3xx rules and the Dockerfile fixer share: what
a rule checks (`DockerSubject`), which stages ship in the final image, the environment a RUN sees,
COPY sources, base images (CUDA, -devel), model checkpoints, and the user the container runs as.
Pure: files from the build context arrive as a mapping (see `depaudit.sources.dockerfile.read_context`)."""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

from depaudit.sources.dockerfile import Dockerfile, Instruction, Stage, expand

CHECKPOINT_EXT = (".pth", ".pt", ".onnx", ".safetensors", ".ckpt")

CHECKPOINT_DIRS = frozenset({"models", "model", "weights", "checkpoints", "ckpt", "assets"})


@dataclass(frozen=True)
class DockerSubject:
    """What Dockerfile rules (DA3xx) check: the parsed file and the build-context files it names
    (requirements files, pyproject.toml) keyed by their context-relative path."""

    dockerfile: Dockerfile
    context: Mapping[str, str] = field(default_factory=dict)
    run_sizes: Mapping[int, str] = field(default_factory=dict)  # RUN line -> what it installs, in words (lint --sizes)

    def source_texts(self) -> Mapping[str, str]:
        """{path: text} of the Dockerfile (findings point only at it)."""
        return {self.dockerfile.path: self.dockerfile.text}

    def statement_lines(self, path: str, line: int) -> tuple[int, int]:
        """First and last line of the instruction holding `line` (continuations and heredocs)."""
        for ins in self.dockerfile.instructions:
            if ins.line <= line <= ins.end_line:
                return ins.line, ins.end_line
        return line, line


def stage_chain(df: Dockerfile, stage: Stage) -> list[Stage]:
    """`stage` and the stages it is built FROM, root first."""
    chain = [stage]
    while chain[-1].parent is not None:
        chain.append(df.stages[chain[-1].parent])
    return chain[::-1]


def shipping_stages(df: Dockerfile) -> list[Stage]:
    """The stages whose layers end up in the final image (the final stage and its FROM ancestors)."""
    return stage_chain(df, df.final_stage)


def run_envs(
    df: Dockerfile, wanted: Collection[int] | None = None
) -> Iterator[tuple[Instruction, dict[str, str | None]]]:
    """Each RUN of the stages whose index is in `wanted` (all by default), in file order, with the
    variables it sees: ARG (with defaults, global values for re-declared global ARGs) and ENV of the
    stage's ancestors and of the stage itself before the RUN. One pass over the file: a stage starts
    from what its parent stage ends with. The dict is live: read it (never change it) before taking
    the next RUN."""
    globals_ = dict(df.global_args)
    children = Counter(stage.parent for stage in df.stages if stage.parent is not None)
    ends: dict[int, dict[str, str | None]] = {}
    for stage in df.stages:  # a parent stage always comes before the stages built FROM it
        env: dict[str, str | None] = {}
        if stage.parent is not None:
            children[stage.parent] -= 1
            # the last stage built on a parent takes its variables over; the others get a copy
            env = dict(ends[stage.parent]) if children[stage.parent] else ends.pop(stage.parent)
        for ins in stage.instructions[1:]:
            if ins.keyword == "RUN" and (wanted is None or stage.index in wanted):
                yield ins, env
            _declare(ins, env, globals_)
        if children[stage.index]:
            ends[stage.index] = env


def _declare(ins: Instruction, env: dict[str, str | None], globals_: Mapping[str, str | None]) -> None:
    """Apply an ARG or ENV instruction to `env` (other instructions change nothing)."""
    if ins.keyword == "ARG":
        for word in ins.words:
            name, eq, value = word.value.partition("=")
            env[name] = expand(value, env) if eq else globals_.get(name, env.get(name))
    elif ins.keyword == "ENV":
        env.update(_env_pairs(ins, env))


def _env_pairs(ins: Instruction, env: Mapping[str, str | None]) -> dict[str, str | None]:
    words = [w.value for w in ins.words]
    if len(words) >= 1 and "=" not in words[0]:  # legacy `ENV NAME value with spaces`
        return {words[0]: " ".join(words[1:])}
    out: dict[str, str | None] = {}
    for word in words:
        name, _, value = word.partition("=")
        out[name] = expand(value, {**env, **out})
    return out


def runs(df: Dockerfile, stages: list[Stage] | None = None) -> Iterator[tuple[Stage, Instruction]]:
    for stage in stages if stages is not None else df.stages:
        for ins in stage.instructions:
            if ins.keyword == "RUN":
                yield stage, ins


def copy_sources(ins: Instruction) -> tuple[list[str], str]:
    """The sources and the destination of a COPY/ADD."""
    words = list(ins.exec_form) if ins.exec_form is not None else [w.value for w in ins.words]
    if ins.heredocs:
        words = [w for w in words if not w.startswith("<<")]
    if len(words) < 2:
        return [], words[0] if words else ""
    return words[:-1], words[-1]


def workdir_at(df: Dockerfile, stage: Stage, before: Instruction) -> str:
    workdir = "/"
    for st in stage_chain(df, stage):
        for ins in st.instructions:
            if ins is before:
                return workdir
            if ins.keyword == "WORKDIR" and ins.arguments:
                workdir = posixpath.normpath(posixpath.join(workdir, ins.arguments.strip('"')))
    return workdir


def shipped_stages(df: Dockerfile) -> list[Stage]:
    """Stages whose installed files can reach the final image: the shipping chain and every stage
    it copies from (`COPY --from=`), transitively."""
    return needed_stages(df, df.final_stage)


def needed_stages(df: Dockerfile, target: Stage) -> list[Stage]:
    """The target, the stages it is built FROM and every earlier stage a COPY --from of those reads
    (its name after global ARGs are expanded), transitively, in file order."""
    todo = list(stage_chain(df, target))
    seen: dict[int, Stage] = {}
    while todo:
        stage = todo.pop()
        if stage.index in seen:
            continue
        seen[stage.index] = stage
        todo += stage_chain(df, stage)
        for ins in stage.instructions:
            ref = ins.flag("from") if ins.keyword in ("COPY", "ADD") else None
            found = df.stage_named(expand(ref, dict(df.global_args)) or ref) if ref else None
            if found is not None and found.index < stage.index:
                todo.append(found)
    return [seen[i] for i in sorted(seen)]


def is_cuda_image(image: str | None) -> bool:
    """True for CUDA base images: nvidia/cuda, NGC images, pytorch/pytorch, or a tag naming cuda/cudnn."""
    if not image:
        return False
    ref = image.lower()
    repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    return (
        "nvidia/cuda" in repo
        or repo.startswith("nvcr.io/")
        or repo.endswith("pytorch/pytorch")
        or "cuda" in tag
        or "cudnn" in tag
        or ("tensorflow" in repo and "gpu" in tag)
    )


def is_devel_image(image: str | None) -> bool:
    if not image:
        return False
    tag = image.lower().rsplit("/", 1)[-1].partition(":")[2]
    return bool(re.search(r"(^|[-_.])devel($|[-_.])", tag))


def is_checkpoint_path(source: str) -> bool:
    """A COPY source that is a model checkpoint: a *.pth/.pt/.onnx/.safetensors/.ckpt file, a *.bin
    under models/weights/assets/checkpoints, or such a directory itself (not assets/: mixed content)."""
    path = source.strip().rstrip("/").lower()
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        return False
    name = parts[-1]
    if name.endswith(CHECKPOINT_EXT):
        return True
    if name.endswith(".bin") and any(p in CHECKPOINT_DIRS for p in parts[:-1]):
        return True
    return name in CHECKPOINT_DIRS - {"assets", "model"} and "." not in name


def last_user(df: Dockerfile) -> Instruction | None:
    """The USER instruction in effect at the end of the final stage (ancestors included), or None."""
    user = None
    for stage in shipping_stages(df):
        for ins in stage.instructions:
            if ins.keyword == "USER":
                user = ins
    return user
