"""What each RUN line of a Dockerfile installs from Python package indexes, resolved for the image's
platform: `pip install`, `uv pip install`, `uv sync`, `poetry install` and `pdm install`, with the
requirements files, pyproject.toml and locks they name from the build context.

`resolve_dockerfile` is the public entry point (`depaudit scan Dockerfile`, lint's DA302 numbers,
`depaudit image predict`): Dockerfile + build context + platform -> per RUN line, what installs (a
Lock per target, or why not) and what the same line would install with the PyTorch CPU index added.
pip and uv pip lines are resolved by uv (`analysis.resolve`) from a requirements file written for the
line (its index options, its specs, the context's files it names); lock-based lines read the lock.
Only the build context is read, and only through `sources.dockerfile.read_context` (never a symlink
out of it); a file the line names that is not in the context makes that line unresolvable, said so.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from depaudit.analysis.docker_stages import run_envs, shipping_stages
from depaudit.analysis.host_policy import normal_host, registry_hosts
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL
from depaudit.analysis.install_commands import PythonInstall, context_key, project_dependencies, python_installs
from depaudit.analysis.resolve import ResolveInput, ResolveOptions, TargetResolution, resolve_targets, uv_version
from depaudit.errors import DepauditError
from depaudit.families import TORCH_FAMILY
from depaudit.model import Lock, Selection, Target
from depaudit.sources.dockerfile import (
    Dockerfile,
    Instruction,
    ShellCommand,
    Stage,
    context_dirs,
    read_context,
    read_dockerfile,
)
from depaudit.sources.inputs import load_any_lock
from depaudit.targets import make_target

DEFAULT_PLATFORM = "linux-x86_64"
_DOCKER_PLATFORMS = {
    "linux/amd64": "linux-x86_64",
    "linux/x86_64": "linux-x86_64",
    "linux/arm64": "linux-aarch64",
    "linux/arm64/v8": "linux-aarch64",
    "linux/aarch64": "linux-aarch64",
}
_PYTHON_IMAGE = re.compile(r"(?:^|/)python:(\d+)\.(\d+)")
_LOCK_TOOLS = {"uv-sync": "uv.lock", "poetry": "poetry.lock", "pdm": "pdm.lock"}


@dataclass(frozen=True)
class RunInstall:
    """One install command of a RUN line, read for resolution: `tool` (pip, uv, uv-sync, poetry, pdm),
    `requirements` (the requirements text written for a pip/uv pip line), `files` (context files it
    names, by context path), `lock` (the context path of the lock a lock-based line installs) with its
    `selection`, or `problem` (why the line cannot be resolved)."""

    instruction: Instruction
    stage: Stage
    tool: str
    command: str
    requirements: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    lock: str | None = None
    selection: Selection = Selection()
    problem: str | None = None

    @property
    def line(self) -> int:
        return self.instruction.line


@dataclass(frozen=True)
class ResolvedRun:
    """One RUN install for one target: what it installs (`installs`: a Lock, or uv's reason it cannot)
    with the `selection` to scan it with, and the same line with the CPU index added (`cpu`, None for
    a lock-based line, whose lock decides); `problem` when the line could not be resolved at all."""

    run: RunInstall
    target: Target
    installs: TargetResolution | None
    cpu: TargetResolution | None = None
    selection: Selection = Selection()
    problem: str | None = None
    cpu_problem: str | None = None


def image_platform(df: Dockerfile, build_args: Mapping[str, str] | None = None) -> str:
    """The target the final image is built for: FROM --platform (build args expanded), else
    linux-x86_64 (what `docker build` on a usual CI machine makes)."""
    value = df.final_stage.from_instruction.flag("platform")
    for name, default in (build_args or {}).items() if value and "$" in value else ():
        value = value.replace(f"${{{name}}}", default).replace(f"${name}", default) if value else value
    return _DOCKER_PLATFORMS.get((value or "").lower(), DEFAULT_PLATFORM)


def image_python(df: Dockerfile) -> str | None:
    """The Python of the image when its base says it (`python:3.12-slim` -> 3.12), else None."""
    base = shipping_stages(df)[0].base or ""
    match = _PYTHON_IMAGE.search(base)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def run_installs(df: Dockerfile, context: Mapping[str, str]) -> list[RunInstall]:
    """Every Python install in the stages that ship (the final stage and those it builds on), read
    for resolution. Pure: `context` holds the build-context files (by context path)."""
    stages = shipping_stages(df)
    out = [_pip_line(df, install, context) for install in python_installs(df, stages)]
    for stage_index, ins, command in _tool_commands(df, stages):
        out.append(_lock_line(df, df.stages[stage_index], ins, command, context))
    return sorted(out, key=lambda r: r.line)


def wanted_files(df: Dockerfile) -> list[str]:
    """Context paths a resolution may read: the files pip/uv lines name, every lock and pyproject."""
    wanted: list[str] = []
    for install in python_installs(df, shipping_stages(df)):
        stage = df.stages[install.instruction.stage]
        for name in (*install.requirement_files, *_constraint_files(install)):
            wanted += context_key(df, stage, install.instruction, name)
    return [*dict.fromkeys(wanted), "pyproject.toml", "uv.lock", "poetry.lock", "pdm.lock"]


def _constraint_files(install: PythonInstall) -> list[str]:
    words = [w.value for w in install.command.words]
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-c", "--constraint")]


def _command_text(command: ShellCommand) -> str:
    text = " ".join(w.value for w in command.words)
    return text if len(text) <= 120 else text[:119] + "…"


def _pip_line(df: Dockerfile, install: PythonInstall, context: Mapping[str, str]) -> RunInstall:
    stage = df.stages[install.instruction.stage]
    base = RunInstall(install.instruction, stage, install.tool, _command_text(install.command))
    if install.tool == "uv-sync":
        return _locked(base, "uv.lock", context, _uv_sync_selection(install))
    unknown = [u for u in (*install.index_urls, *install.extra_index_urls, *install.find_links) if u is None]
    if unknown:
        return replace(base, problem="an index is given by a build argument or variable without a value")
    lines = [f"--index-url {u}" for u in install.index_urls if u]
    lines += [f"--extra-index-url {u}" for u in install.extra_index_urls if u]
    lines += [f"--find-links {u}" for u in install.find_links if u]
    files: dict[str, str] = {}
    for name, option in [(n, "-r") for n in install.requirement_files] + [
        (n, "-c") for n in _constraint_files(install)
    ]:
        key = next((k for k in context_key(df, stage, install.instruction, name) if k in context), None)
        if key is None:
            return replace(base, problem=f"{name} is not in the build context: not resolved")
        files.update(_with_includes(key, context))
        lines.append(f"{option} {key}")
    if install.local_paths:
        if "pyproject.toml" not in context:
            return replace(base, problem="installs a local project whose pyproject.toml is not in the build context")
        files["pyproject.toml"] = context["pyproject.toml"]
        lines.append("-r pyproject-dependencies.txt")
        files["pyproject-dependencies.txt"] = "\n".join(project_dependencies(context["pyproject.toml"])) + "\n"
    lines += list(install.specs)
    if not (install.specs or install.requirement_files or install.local_paths):
        return replace(base, problem="installs nothing depaudit can resolve")
    return replace(base, requirements="\n".join(lines) + "\n", files=files)


def _with_includes(key: str, context: Mapping[str, str]) -> dict[str, str]:
    """The file and every context file it includes with -r/-c (read_context already fetched them)."""
    found = {key: context[key]}
    for match in re.finditer(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)", context[key], re.MULTILINE):
        nested = str(Path(key).parent / match.group(1)) if not match.group(1).startswith("/") else ""
        nested = nested.removeprefix("./")
        if nested in context and nested not in found:
            found.update(_with_includes(nested, context))
    return found


def _uv_sync_selection(install: PythonInstall) -> Selection:
    words = [w.value for w in install.command.words]
    values = {w: words[i + 1] for i, w in enumerate(words[:-1])}
    extras = tuple(words[i + 1] for i, w in enumerate(words[:-1]) if w == "--extra")
    groups = tuple(words[i + 1] for i, w in enumerate(words[:-1]) if w == "--group")
    no_dev = "--no-dev" in words or "--no-default-groups" in words or "--only-group" in values
    return Selection(extras=extras, all_extras="--all-extras" in words, groups=groups + (() if no_dev else ("dev",)))


def _tool_commands(df: Dockerfile, stages: Sequence[Stage]) -> list[tuple[int, Instruction, ShellCommand]]:
    """`poetry install` and `pdm install|sync` commands in the RUNs of `stages`."""
    found = []
    for ins, _ in run_envs(df, [s.index for s in stages]):
        for command in ins.commands():
            words = [w.value.rsplit("/", 1)[-1] if i == 0 else w.value for i, w in enumerate(command.words)]
            if words[:2] == ["poetry", "install"] or words[:2] in (["pdm", "install"], ["pdm", "sync"]):
                found.append((ins.stage, ins, command))
    return found


def _lock_line(
    df: Dockerfile, stage: Stage, ins: Instruction, command: ShellCommand, context: Mapping[str, str]
) -> RunInstall:
    words = [w.value for w in command.words]
    tool = "poetry" if words[0].endswith("poetry") else "pdm"
    base = RunInstall(ins, stage, tool, _command_text(command))
    return _locked(base, _LOCK_TOOLS[tool], context, _tool_selection(tool, words))


def _tool_selection(tool: str, words: list[str]) -> Selection:
    def values(*names: str) -> tuple[str, ...]:
        out: list[str] = []
        for i, w in enumerate(words[:-1]):
            if w in names:
                out += [v.strip() for v in words[i + 1].split(",") if v.strip()]
        return (out and tuple(out)) or ()

    if tool == "poetry":  # poetry install: main and every non-optional group unless --only/--without
        only = values("--only")
        groups = only or ("__all__",)
        return Selection(extras=values("--extras", "-E"), all_extras="--all-extras" in words, groups=groups)
    groups = values("-G", "--group")  # pdm install: default and dev groups unless --prod
    all_groups = "--prod" not in words and "--production" not in words and not groups
    return Selection(groups=groups, all_groups=all_groups or ":all" in groups)


def _locked(base: RunInstall, name: str, context: Mapping[str, str], selection: Selection) -> RunInstall:
    if name not in context:
        return replace(base, problem=f"{name} is not in the build context: not resolved")
    return replace(base, lock=name, selection=selection)


def resolve_dockerfile(
    dockerfile: Path,
    context: Path | None,
    options: ResolveOptions,
    *,
    targets: Sequence[str] | None = None,
    python: str | None = None,
    cpu_index_url: str | None = DEFAULT_CPU_INDEX_URL,
    build_args: Mapping[str, str] | None = None,
    version: str | None = None,
) -> tuple[ResolvedRun, ...]:
    """Per RUN install of the stages that ship, per target (default: the image's platform), what it
    installs and what it would install with the CPU index (`cpu_index_url` None: not compared). Python is `python`, else the base image's
    (`python:3.12`), else 3.11. Raises InputError (an unreadable Dockerfile, a refused index URL),
    ToolError (uv missing, the index unreachable for what the line installs)."""
    df = read_dockerfile(dockerfile, dict(build_args or {}))
    files = read_context(context_dirs(dockerfile, context), wanted_files(df))
    runs = run_installs(df, files)
    chosen = [
        make_target(t, python or image_python(df) or "3.11") for t in (targets or [image_platform(df, build_args)])
    ]
    version = version or (uv_version(options.uv) if any(r.requirements for r in runs) else "")
    out: list[ResolvedRun] = []
    with tempfile.TemporaryDirectory(prefix="depaudit-run-") as work:
        for number, run in enumerate(runs):
            out += _resolve_run(
                run, chosen, files, Path(work) / f"run-{number}", options, cpu_index_url, version, df.path
            )
    return tuple(out)


def _resolve_run(
    run: RunInstall,
    targets: Sequence[Target],
    files: Mapping[str, str],
    folder: Path,
    options: ResolveOptions,
    cpu_index_url: str | None,
    version: str,
    label: str,
) -> list[ResolvedRun]:
    if run.problem is not None:
        return [ResolvedRun(run, t, None, problem=run.problem) for t in targets]
    if run.lock is not None:
        return _resolve_lock_run(run, targets, files, label)
    assert run.requirements is not None
    folder.mkdir(parents=True)
    for key, text in run.files.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_text(text)
    (folder / "run-requirements.txt").write_text(run.requirements)
    name = f"{label}:{run.line}"
    source = ResolveInput("requirements", folder / "run-requirements.txt", folder, label=name)
    installs = resolve_targets(source, targets, options, version)
    if cpu_index_url is None or not any(_torch_wheels(i) for i in installs):
        why = "not compared" if cpu_index_url is None else "installs no torch-family package: nothing to replace"
        return [ResolvedRun(run, t, i, None, cpu_problem=why) for t, i in zip(targets, installs, strict=True)]
    cpu_source = replace(source, options=("--extra-index-url", cpu_index_url), label=f"{name} (CPU index)")
    try:
        cpu: tuple[TargetResolution | None, ...] = resolve_targets(cpu_source, targets, options, version)
        cpu_problem = None
    except DepauditError as exc:  # the comparison is extra: its failure is said, never fatal
        cpu, cpu_problem = (None,) * len(targets), str(exc).splitlines()[0]
    out = []
    for target, own, other in zip(targets, installs, cpu, strict=True):
        if other is not None and other.lock is not None and not _from_index(_torch_wheels(other), cpu_index_url):
            # uv answered without torch from the CPU index: unreachable (uv may then go on with PyPI
            # alone; seen here) or no build there. Either way it is not what the CPU index installs.
            other, cpu_problem = None, "the CPU index gave no torch build for this line (unreachable?): not measured"
        out.append(ResolvedRun(run, target, own, other, cpu_problem=cpu_problem))
    return out


def _torch_wheels(resolution: TargetResolution | None) -> list[str]:
    """The wheel URLs of the torch-family packages a resolution installs."""
    if resolution is None or resolution.lock is None:
        return []
    return [w.url or "" for p in resolution.lock.packages if p.name in TORCH_FAMILY for w in p.wheels]


def _from_index(urls: list[str], index_url: str) -> bool:
    hosts = registry_hosts([index_url])
    return bool(urls) and all(normal_host(urlsplit(u).hostname or "") in hosts for u in urls)


def _resolve_lock_run(
    run: RunInstall, targets: Sequence[Target], files: Mapping[str, str], label: str
) -> list[ResolvedRun]:
    assert run.lock is not None
    kind = run.lock
    selection = run.selection
    path = Path(kind)
    try:
        if kind == "poetry.lock" and selection.groups == ("__all__",):
            selection = selection._replace(groups=(), all_groups=True)
        lock, selection = _load_context_lock(path, kind, selection, files)
    except DepauditError as exc:
        return [ResolvedRun(run, t, None, problem=str(exc).splitlines()[0]) for t in targets]
    return [ResolvedRun(run, t, TargetResolution(t, lock), selection=selection) for t in targets]


def _load_context_lock(path: Path, kind: str, selection: Selection, files: Mapping[str, str]) -> tuple[Lock, Selection]:
    if kind == "uv.lock":
        lock, _ = load_any_lock(path, kind, Selection(), files[kind])
        known = {g for p in lock.packages if p.name == lock.project for g, _ in p.dependency_groups}
        groups = tuple(g for g in selection.groups if g in known or g != "dev")
        return lock, selection._replace(groups=groups)
    return load_any_lock(path, kind, selection, files[kind], files.get("pyproject.toml", ""))
