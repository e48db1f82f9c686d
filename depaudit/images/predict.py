"""`depaudit image predict`: an image's size before it is built, per stage and per instruction.

The Dockerfile is parsed with the build arguments; the stages the target needs are walked in order, each
on a predicted file system (`depaudit.images.vfs.Tree`) that starts from its base:

* the base image is read without running it: from an archive or OCI layout the command line names, else
  from the local engine (`docker save`) when one answers, else only its size (`--base-size`); its files,
  Python, platform, environment and bundled ensurepip wheels come from what is read;
* COPY/ADD copy build-context files (`.dockerignore` honoured) or another stage's files;
* RUN lines are read by `depaudit.images.shell` and applied by `depaudit.images.steps` and
  `depaudit.images.installers`: venvs, pip/uv installs (resolved for the image's platform, each wheel's
  files from its zip central directory, bytecode where the installer compiles it), deletions, apt.

Each instruction's layer is what it leaves written, counted as the engine counts layers; the predicted
image is the base plus the layers of the target stage and the stages it is built FROM. What a step could
not follow is listed, and the prediction is then a lower bound (`complete` False).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from depaudit.analysis.docker_stages import copy_sources, needed_stages, stage_chain
from depaudit.errors import DepauditError, UsageError
from depaudit.images.archive import ImageArchive
from depaudit.images.contents import ACCELERATOR_LIBRARY, final_records, merge_layers, owners
from depaudit.images.context import BuildContext
from depaudit.images.installers import Members, PythonInstallers, Services
from depaudit.images.shell import ShellState
from depaudit.images.steps import RunStep, copy_subtree
from depaudit.images.vfs import Tree, clean
from depaudit.sources.dockerfile import Dockerfile, Instruction, Stage, expand, read_dockerfile

CAPTURE = re.compile(
    r"^(?:var/lib/dpkg/status|etc/os-release|etc/apt/sources\.list(?:\.d/[^/]+)?|etc/apt/apt\.conf\.d/[^/]+|"
    r"etc/dpkg/dpkg\.cfg\.d/[^/]+|usr/share/python-wheels/[^/]+\.whl|"
    r"usr/(?:local/)?lib/python3\.\d+/ensurepip/_bundled/[^/]+\.whl)$"
)
"""Files of a base image a prediction reads: apt and dpkg state, and the wheels ensurepip installs."""
_CAPTURE_LIMIT = 16 << 20
_PYTHON = re.compile(r"^usr/(?:local/)?bin/python(3\.\d+)$")
_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
_GLIBC = re.compile(r"Package: libc6\n(?:[^\n]+\n)*?Version: (\d+)\.(\d+)")


def capture(path: str, size: int) -> bool:
    """The capture rule for base images (see CAPTURE)."""
    return size <= _CAPTURE_LIMIT and bool(CAPTURE.match(path))


# ---------------------------------------------------------------------------------------------- base images


@dataclass
class BaseImage:
    """A base image as a prediction uses it. `size` None: unknown; `source` says where it was read."""

    ref: str
    size: int | None
    source: str
    tree: Tree = field(default_factory=Tree)
    env: dict[str, str] = field(default_factory=dict)
    python: str | None = None
    platform: str | None = None
    bundled: dict[str, Members] = field(default_factory=dict)
    captured: dict[str, bytes] = field(default_factory=dict)
    readable: bool = False  # its files are known

    @property
    def accelerator_bytes(self) -> int:
        return sum(e.size for e in self.tree.entries.values() if e.accelerator)


def base_from_archive(ref: str, archive: ImageArchive, source: str) -> BaseImage:
    """A BaseImage from an image read by `depaudit.images.archive` (captured with `capture`)."""
    merged = merge_layers(archive.layers)
    dists, owner = owners(merged.files, final_records(archive.layers, merged.files))
    tree = Tree()
    for path, (size, _) in merged.files.items():
        index = owner.get(path)
        label = None if index is None else f"{dists[index].name}=={dists[index].version}"
        tree.write(path, size, owner=label, accelerator=bool(ACCELERATOR_LIBRARY.search(path)))
    for layer in archive.layers:
        for folder in layer.dirs:
            if tree.exists(folder) or folder not in merged.files:
                tree.mkdir(folder)
    captured: dict[str, bytes] = {}
    for layer in archive.layers:
        captured.update({p: data for p, data in layer.captured.items() if p in merged.files})
    base = BaseImage(ref, archive.size, source, tree, dict(archive.config.env), captured=captured, readable=True)
    base.python = _python_of(tree)
    base.platform = _platform_of(archive.config.architecture, captured, tree)
    base.bundled = _bundled(captured)
    return base


def _python_of(tree: Tree) -> str | None:
    versions = sorted(
        {m.group(1) for p in tree.entries if (m := _PYTHON.match(p))}, key=lambda v: tuple(int(x) for x in v.split("."))
    )
    return versions[-1] if versions else None


def _platform_of(architecture: str, captured: Mapping[str, bytes], tree: Tree) -> str:
    arch = _ARCH.get(architecture or "amd64", "x86_64")
    if any(p.startswith("lib/ld-musl-") for p in tree.entries):
        return f"{arch}-unknown-linux-musl"
    status = captured.get("var/lib/dpkg/status", b"").decode("utf-8", "replace")
    match = _GLIBC.search(status)
    minor = int(match.group(2)) if match and match.group(1) == "2" else 28
    return f"{arch}-manylinux_2_{min(max(minor, 28), 40)}"


def _bundled(captured: Mapping[str, bytes]) -> dict[str, Members]:
    found: dict[str, Members] = {}
    for path, data in captured.items():
        if path.endswith(".whl"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as wheel:
                    found[path] = tuple((i.filename, i.file_size) for i in wheel.infolist() if not i.is_dir())
            except (zipfile.BadZipFile, OSError, ValueError):
                continue
    return found


BaseLoader = Callable[[str], BaseImage]
"""Reads a base image by reference (raises DepauditError when it cannot)."""


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class InstructionPrediction:
    """One instruction: the bytes its layer adds, how many of them are accelerator runtimes, the bytes
    of lower layers it hides (still carried by the image), the packages it installs (name==version,
    bytes, accelerator bytes), and what it could not follow."""

    stage: int
    line: int
    keyword: str
    text: str
    size: int
    accelerator: int
    hides: int
    packages: tuple[tuple[str, int, int], ...] = ()
    notes: tuple[str, ...] = ()
    unknowns: tuple[str, ...] = ()


@dataclass(frozen=True)
class StagePrediction:
    """A stage: its base, whether its layers reach the image, its instructions."""

    index: int
    name: str | None
    base: str | None
    ships: bool
    instructions: tuple[InstructionPrediction, ...]

    @property
    def size(self) -> int:
        return sum(i.size for i in self.instructions)


@dataclass(frozen=True)
class PredictedBase:
    ref: str | None
    size: int | None
    source: str
    python: str | None
    platform: str | None
    accelerator: int


@dataclass(frozen=True)
class Prediction:
    """The predicted image. `size` None when the base's size is unknown; `complete` False when a step
    was not followed (the size is then a lower bound)."""

    dockerfile: str
    target: str | None
    build_args: tuple[tuple[str, str], ...]
    base: PredictedBase
    stages: tuple[StagePrediction, ...]
    layers_size: int
    accelerator_bytes: int
    wasted: int
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int | None:
        return None if self.base.size is None else self.base.size + self.layers_size

    @property
    def complete(self) -> bool:
        shipped = [i for s in self.stages for i in s.instructions]
        return self.base.size is not None and not any(i.unknowns for i in shipped)

    @property
    def unknowns(self) -> tuple[str, ...]:
        return tuple(f"line {i.line}: {u}" for s in self.stages for i in s.instructions for u in i.unknowns)


# ---------------------------------------------------------------------------------------------- walking stages


@dataclass
class _StageState:
    tree: Tree
    env: dict[str, str | None]
    workdir: str
    base: BaseImage | None


@dataclass
class Predictor:
    """Walks a Dockerfile's stages (see the module docstring). `services_for(base)` gives the installers'
    services for the Python and platform of a base image."""

    dockerfile: Dockerfile
    context: BuildContext
    load_base: BaseLoader
    services_for: Callable[[BaseImage], Services]
    build_args: Mapping[str, str] = field(default_factory=dict)
    apt: Callable[[BaseImage], Callable[..., None] | None] = lambda base: None
    layer: int = 0
    trees: dict[int, _StageState] = field(default_factory=dict)
    bases: dict[str, BaseImage] = field(default_factory=dict)

    def base(self, ref: str) -> BaseImage:
        if ref not in self.bases:
            self.bases[ref] = (
                BaseImage("scratch", 0, "scratch", readable=True) if ref == "scratch" else self.load_base(ref)
            )
        return self.bases[ref]

    def stage(self, stage: Stage) -> StagePrediction:
        state = self._start(stage)
        services = self.services_for(state.base) if state.base is not None else None
        results = []
        for ins in stage.instructions[1:]:
            self.layer += 1
            state.tree.begin(self.layer)
            before = state.tree.wasted
            step = RunStep(state.tree, state.env, state.workdir, _NoInstallers(), self._read_origin)
            self._apply(ins, state, step, services)
            entries = list(state.tree.layer_entries(self.layer))
            for path, entry in entries:
                if entry.unknown:
                    step.unknown(f"/{path}: size not known")
            results.append(
                InstructionPrediction(
                    stage.index,
                    ins.line,
                    ins.keyword,
                    _short(ins),
                    sum(e.size for _, e in entries),
                    sum(e.size for _, e in entries if e.accelerator),
                    state.tree.wasted - before,
                    tuple(step.packages),
                    tuple(step.notes),
                    tuple(step.unknowns),
                )
            )
        self.trees[stage.index] = state
        return StagePrediction(stage.index, stage.name, stage.base, False, tuple(results))

    def _start(self, stage: Stage) -> _StageState:
        if stage.parent is not None:
            parent = self.trees[stage.parent]
            return _StageState(parent.tree.copy(), dict(parent.env), parent.workdir, parent.base)
        if stage.base is None:
            raise UsageError(
                f"{self.dockerfile.path}:{stage.line}: FROM {stage.image}: a build argument has no value (--build-arg)"
            )
        base = self.base(stage.base)
        env: dict[str, str | None] = dict(base.env)
        return _StageState(base.tree.copy(), env, "/", base)

    def _read_origin(self, origin: str) -> str | None:
        return self.context.read(origin)

    def _apply(self, ins: Instruction, state: _StageState, step: RunStep, services: Services | None) -> None:
        if ins.keyword in ("ENV", "ARG"):
            self._declare(ins, state)
        elif ins.keyword == "WORKDIR":
            value = expand(ins.arguments.strip('"'), state.env) or ins.arguments
            state.workdir = "/" + clean(value, state.workdir) if clean(value, state.workdir) != "." else "/"
            state.tree.mkdir(clean(state.workdir))
        elif ins.keyword in ("COPY", "ADD"):
            self._copy(ins, state, step)
        elif ins.keyword == "RUN":
            if services is None:
                step.unknown("the stage's base image is not known")
            step.installers = (
                PythonInstallers(services, self.apt(state.base)) if services and state.base else _NoInstallers()
            )
            step.run_text(_run_text(ins), ShellState(cwd=state.workdir))

    def _declare(self, ins: Instruction, state: _StageState) -> None:
        if ins.keyword == "ARG":
            globals_ = dict(self.dockerfile.global_args)
            for word in ins.words:
                name, eq, default = word.value.partition("=")
                if name in self.build_args:
                    state.env[name] = self.build_args[name]
                elif eq:
                    state.env[name] = expand(default, state.env)
                else:
                    state.env[name] = globals_.get(name, state.env.get(name))
            return
        values = [w.value for w in ins.words]
        if values and "=" not in values[0]:
            state.env[values[0]] = " ".join(values[1:])
            return
        new: dict[str, str | None] = {}
        for text in values:
            name, _, value = text.partition("=")
            new[name] = expand(value, {**state.env, **new})
        state.env.update(new)

    def _copy(self, ins: Instruction, state: _StageState, step: RunStep) -> None:
        sources, dest = copy_sources(ins)
        dest = expand(dest, state.env) or dest
        target = clean(dest, state.workdir)
        if ins.heredocs:
            for body in ins.heredocs:
                state.tree.write(target, len(body.encode()))
            return
        ref = ins.flag("from")
        origin_tree: Tree | None = None
        if ref:
            ref = expand(ref, state.env) or ref
            stage = self.dockerfile.stage_named(ref)
            if stage is not None:
                if stage.index not in self.trees:
                    step.unknown(f"--from={ref}: that stage was not built first")
                    return
                origin_tree = self.trees[stage.index].tree
            else:
                try:
                    origin_tree = self.base(ref).tree
                except DepauditError as exc:
                    step.unknown(f"--from={ref}: {exc}")
                    return
        many = len(sources) > 1 or dest.endswith("/")
        for raw in sources:
            source = expand(raw, state.env) or raw
            if ins.keyword == "ADD" and ("://" in source or re.search(r"\.(tar|tgz|tar\.\w+)$", source)):
                step.unknown(f"ADD {source}: a download or an archive unpacked at build time is not followed")
                continue
            if origin_tree is not None:
                self._copy_from_tree(origin_tree, source, target, many, state, step)
            else:
                self._copy_from_context(source, target, many, state, step)

    def _copy_from_tree(
        self, origin: Tree, source: str, target: str, many: bool, state: _StageState, step: RunStep
    ) -> None:
        matches = origin.glob(clean(source))
        if not matches:
            step.unknown(f"COPY --from: {source} is not in that stage's predicted files")
            return
        for path in matches:
            if origin.is_dir(path):
                copy_subtree(origin, state.tree, path, target)
            else:
                into = many or len(matches) > 1 or state.tree.is_dir(target)
                copy_subtree(
                    origin, state.tree, path, posixpath.join(target, posixpath.basename(path)) if into else target
                )

    def _copy_from_context(self, source: str, target: str, many: bool, state: _StageState, step: RunStep) -> None:
        matches = self.context.expand(source)
        if not matches:
            step.unknown(f"COPY {source}: not in the build context (or excluded by .dockerignore)")
            return
        for path in matches:
            if self.context.is_dir(path):
                for rel, size in self.context.under(path):
                    state.tree.write(
                        posixpath.join(target, rel), size, origin=posixpath.join(path, rel) if path else rel
                    )
                state.tree.mkdir(target)
            else:
                into = many or len(matches) > 1 or state.tree.is_dir(target)
                where = posixpath.join(target, posixpath.basename(path)) if into else target
                state.tree.write(where, self.context.files[path], origin=path)


class _NoInstallers:
    """Installers for a stage whose base is unknown: every installer command is left unknown."""

    def handles(self, argv: Sequence[str]) -> bool:
        return False

    def apply(self, step: RunStep, command: object, state: ShellState) -> None:
        return


def _run_text(ins: Instruction) -> str:
    """The shell text a RUN hands to `/bin/sh -c` (continuations joined; heredoc bodies as scripts)."""
    if ins.exec_form is not None:
        return " ".join("'" + w.replace("'", "'\\''") + "'" for w in ins.exec_form)
    text = ins.logical[ins.args_start :]
    if ins.heredocs:
        head = text.split("\n", 1)[0]
        text = re.sub(r"<<-?[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?", "", head) + "\n" + "\n".join(ins.heredocs)
    return text


def _short(ins: Instruction, width: int = 100) -> str:
    text = " ".join(f"{ins.keyword} {ins.arguments}".split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------- the whole prediction


def target_stage(df: Dockerfile, target: str | None) -> Stage:
    """The stage `--target` names (by name or index), the last one by default. Raises UsageError."""
    if target is None:
        return df.final_stage
    stage = df.stage_named(target)
    if stage is None:
        names = ", ".join(s.name or str(s.index) for s in df.stages)
        raise UsageError(f"--target {target}: no such stage in {df.path} (stages: {names})")
    return stage


def predict(
    dockerfile: Path,
    *,
    context: Path,
    load_base: BaseLoader,
    services_for: Callable[[BaseImage], Services],
    apt: Callable[[BaseImage], Callable[..., None] | None] = lambda base: None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> Prediction:
    """Predict the image `docker build -f DOCKERFILE [--build-arg ...] [--target ...] CONTEXT` makes.
    Raises InputError (unreadable Dockerfile or context), UsageError (an unknown target, a FROM whose
    build argument has no value)."""
    args = dict(build_args or {})
    df = read_dockerfile(dockerfile, args)
    final = target_stage(df, target)
    walker = Predictor(df, BuildContext.open(context), load_base, services_for, args, apt)
    shipped = {s.index for s in stage_chain(df, final)}
    stages = []
    for stage in needed_stages(df, final):
        result = walker.stage(stage)
        stages.append(
            StagePrediction(result.index, result.name, result.base, result.index in shipped, result.instructions)
        )
    root = stage_chain(df, final)[0]
    base = walker.base(root.base) if root.base is not None else BaseImage(root.image, None, "unknown")
    tree = walker.trees[final.index].tree
    layers = sum(s.size for s in stages if s.ships)
    return Prediction(
        dockerfile=str(dockerfile),
        target=target,
        build_args=tuple(sorted(args.items())),
        base=PredictedBase(base.ref, base.size, base.source, base.python, base.platform, base.accelerator_bytes),
        stages=tuple(stages),
        layers_size=layers,
        accelerator_bytes=sum(e.size for e in tree.entries.values() if e.accelerator),
        wasted=tree.wasted,
    )
