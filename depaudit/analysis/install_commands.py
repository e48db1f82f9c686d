"""The install commands in a Dockerfile's RUN lines, parsed: every `pip install` / `uv pip install` /
`uv sync` with its options, indexes and requirement files (followed into the build context), the
requirements each brings in and whether torch comes from a CPU index, and every `apt-get`/`apk`/`dnf`
install and removal. Pure: build-context files arrive as a mapping in the `DockerSubject`."""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

from depaudit.analysis.docker_stages import (
    DockerSubject,
    copy_sources,
    run_envs,
    runs,
    stage_chain,
    workdir_at,
)
from depaudit.analysis.index_urls import is_cpu_index, is_cuda_index
from depaudit.analysis.markers import MarkerError, MarkerEvaluator
from depaudit.errors import DepauditError
from depaudit.families import local_label_family
from depaudit.names import canonical_name, wheel_project
from depaudit.sources.dockerfile import Dockerfile, Instruction, ShellCommand, Stage, Token, expand
from depaudit.sources.uvlock import lock_from_text
from depaudit.targets import make_target

COMPILERS = re.compile(r"^(build-essential|build-base|gcc|g\+\+|gcc-c\+\+|gfortran|clang|cc|c\+\+)(-[\d.]+)?$")

CLANG = re.compile(r"^clang(-[\d.]+)?$")

_PIP_NAME = re.compile(r"^pip(3(\.\d+)?)?$")

_PYTHON_NAME = re.compile(r"^python(3(\.\d+)?)?$")

_REQ_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


# Options of `pip install` / `uv pip install` / `uv sync` that take a value (the next word).
_VALUE_OPTIONS = frozenset(
    "-r --requirement -c --constraint --constraints -e --editable -i --index-url --extra-index-url "
    "-f --find-links -t --target --prefix --root --platform --python-version --implementation --abi "
    "--upgrade-strategy --progress-bar --cache-dir --src --trusted-host --cert --client-cert --proxy "
    "--retries --timeout --exists-action --log --global-option --config-settings -C --no-binary "
    "--only-binary --report --python -p --keyring-provider --root-user-action --group --index "
    "--default-index --index-strategy --torch-backend --extra --only-group --no-group --package "
    "--reinstall-package --upgrade-package -P --prerelease --resolution --exclude-newer --link-mode "
    "--config-file --directory --project --refresh-package --python-platform -o --output-file "
    "--overrides --build-constraints -b --no-binary-package --no-build-package --override".split()
)


@dataclass(frozen=True)
class PythonInstall:
    """One `pip install` / `uv pip install` / `uv sync` in a RUN."""

    instruction: Instruction
    command: ShellCommand
    tool: str  # "pip", "uv" (uv pip install/sync) or "uv-sync" (project sync)
    verb: Token  # the `install`/`sync` word: options are inserted after it
    specs: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    local_paths: tuple[str, ...] = ()
    index_urls: tuple[str | None, ...] = ()  # None: given through a variable we cannot resolve
    extra_index_urls: tuple[str | None, ...] = ()
    find_links: tuple[str | None, ...] = ()
    torch_backend: str | None = None
    no_cache: bool = False
    no_deps: bool = False
    env: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def installs_dependencies(self) -> bool:
        """True unless it installs only local paths with --no-deps."""
        return bool(self.specs or self.requirement_files or self.tool == "uv-sync" or not self.no_deps)


@dataclass(frozen=True)
class SystemInstall:
    """One `apt-get install` / `apt install` / `apk add` / `dnf|yum|microdnf install`."""

    instruction: Instruction
    command: ShellCommand
    manager: str
    packages: tuple[str, ...]


def _basename(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _locate(words: tuple[Token, ...]) -> tuple[str, int] | None:
    """Find a pip/uv install in a command: (tool, index of the verb word)."""
    values = [w.value for w in words]
    for i, value in enumerate(values):
        name = _basename(value)
        if _PIP_NAME.match(name) and values[i + 1 : i + 2] == ["install"]:
            return "pip", i + 1
        if _PYTHON_NAME.match(name) and values[i + 1 : i + 4] == ["-m", "pip", "install"]:
            return "pip", i + 3
        if name == "uv":
            j = i + 1
            while j < len(values) and values[j].startswith("-"):
                j += 1
            if values[j : j + 2] in (["pip", "install"], ["pip", "sync"]):
                return "uv", j + 1
            if values[j : j + 1] == ["sync"]:
                return "uv-sync", j
    return None


def python_installs(df: Dockerfile, stages: list[Stage] | None = None) -> list[PythonInstall]:
    """Every pip / uv install in the RUNs of `stages` (all stages by default), with variables in its
    arguments expanded from the stage's ARG/ENV and the command's own assignments."""
    order = stages if stages is not None else df.stages
    found: dict[int, list[PythonInstall]] = {stage.index: [] for stage in order}
    for ins, base_env in run_envs(df, found.keys()):
        for command in ins.commands():
            located = _locate(command.words)
            if located is None:
                continue
            tool, verb = located
            own: dict[str, str | None] = dict(command.env)
            env = ChainMap(own, base_env)  # no copy of the stage's variables per RUN
            found[ins.stage].append(_parse_install(ins, command, tool, verb, env))
    return [install for stage in order for install in found[stage.index]]


def _parse_install(
    ins: Instruction, command: ShellCommand, tool: str, verb: int, env: Mapping[str, str | None]
) -> PythonInstall:
    opts: dict[str, list[str | None]] = {}
    flags: set[str] = set()
    specs: list[str] = []
    words = [w.value for w in command.words]
    prefix = words[:verb]  # `uv --no-cache pip install`
    flags.update(w for w in prefix if w.startswith("-"))
    i = verb + 1
    while i < len(words):
        word = words[i]
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            if not eq and name in _VALUE_OPTIONS:
                value = words[i + 1] if i + 1 < len(words) else ""
                i += 1
            elif not eq and len(name) > 2 and name[1] in "rcief" and name[:2] in ("-r", "-c", "-i", "-e", "-f"):
                name, value = name[:2], name[2:]  # -rrequirements.txt
            if eq or name in _VALUE_OPTIONS:
                opts.setdefault(name, []).append(expand(value, env))
            else:
                flags.add(name)
        else:
            specs.append(word)
        i += 1

    def get(*names: str) -> tuple[str | None, ...]:
        return tuple(v for n in names for v in opts.get(n, []))

    local = tuple(s for s in specs if s.startswith((".", "/")) and not s.endswith(".whl"))
    local += tuple(v for v in get("-e", "--editable") if v)
    specs_ = tuple(s for s in (expand(s, env) or s for s in specs) if s not in local)
    index = get("-i", "--index-url", "--default-index")
    extra = get("--extra-index-url", "--index")
    for var in ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        if env.get(var) is not None or var in env:
            index += (env.get(var),)
    for var in ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        if var in env:
            extra += tuple((env.get(var) or "").split()) if env.get(var) is not None else (None,)
    backend = (get("--torch-backend") or (env.get("UV_TORCH_BACKEND"),))[0]
    no_cache = "--no-cache-dir" in flags or "--no-cache" in flags or _env_true(env, "PIP_NO_CACHE_DIR")
    if tool != "pip":
        no_cache = "--no-cache" in flags or _env_true(env, "UV_NO_CACHE")
    return PythonInstall(
        ins,
        command,
        tool,
        command.words[verb],
        specs_,
        tuple(v for v in get("-r", "--requirement") if v),
        local,
        index,
        extra,
        get("-f", "--find-links"),
        backend,
        no_cache,
        "--no-deps" in flags,
        env,
    )


def _env_true(env: Mapping[str, str | None], name: str) -> bool:
    # pip treats any set PIP_NO_CACHE_DIR (even "off", historically) as disabling the cache, except
    # false-like values in recent releases; an unknown value (a build arg without default) counts.
    if name not in env:
        return False
    value = env[name]
    return value is None or value.strip().lower() not in ("", "0", "false", "no")


def requirement_name(spec: str) -> str | None:
    """The normalized project name of a requirement specifier or wheel URL/filename, or None."""
    spec = spec.strip()
    if "://" in spec or spec.endswith(".whl"):
        base = _basename(spec.split("#", 1)[0])
        if base.endswith(".whl"):
            return wheel_project(base)
        if "#egg=" in spec:
            return canonical_name(spec.split("#egg=", 1)[1].split("&")[0])
        return None
    match = _REQ_NAME.match(spec)
    if not match:
        return None
    return canonical_name(match.group(1))


@dataclass(frozen=True)
class Requirements:
    """What a requirements file (with its nested `-r` files) installs and which indexes it names."""

    specs: tuple[str, ...] = ()
    index_urls: tuple[str, ...] = ()
    extra_index_urls: tuple[str, ...] = ()
    found: bool = True


def read_requirements(context: Mapping[str, str], key: str, seen: frozenset[str] = frozenset()) -> Requirements:
    """Parse the requirements file `key` of the context (nested -r files too). `found` False when the
    file is not in the context."""
    if key not in context or key in seen:
        return Requirements(found=key in seen)
    specs: list[str] = []
    index: list[str] = []
    extra: list[str] = []
    for raw in context[key].splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        name, _, value = line.replace("=", " ", 1).partition(" ") if line.startswith("-") else (line, "", "")
        value = value.strip()
        if name in ("-r", "--requirement", "-c", "--constraint"):
            nested = posixpath.normpath(posixpath.join(posixpath.dirname(key), value))
            sub = read_requirements(context, nested, seen | {key})
            if name in ("-r", "--requirement"):
                specs += sub.specs
            index += sub.index_urls
            extra += sub.extra_index_urls
        elif name in ("-i", "--index-url"):
            index.append(value)
        elif name == "--extra-index-url":
            extra.append(value)
        elif not line.startswith("-"):
            specs.append(line)
    return Requirements(tuple(specs), tuple(index), tuple(extra))


def context_key(df: Dockerfile, stage: Stage, ins: Instruction, container_path: str) -> list[str]:
    """Context-relative paths a file the RUN names (`-r /app/requirements.txt`) may have come from:
    the COPY that put it there, else the path itself and its basename."""
    workdir = workdir_at(df, stage, ins)
    target = posixpath.normpath(posixpath.join(workdir, container_path))
    keys: list[str] = []
    for st in stage_chain(df, stage):
        for copy in st.instructions:
            if copy is ins:
                break
            if copy.keyword not in ("COPY", "ADD") or copy.flag("from") is not None:
                continue
            sources, dest = copy_sources(copy)
            dest_abs = posixpath.normpath(posixpath.join(workdir_at(df, st, copy), dest))
            for src in sources:
                as_dir = dest.endswith("/") or dest in (".", "./") or len(sources) > 1
                landed = posixpath.join(dest_abs, _basename(src.rstrip("/"))) if as_dir else dest_abs
                if landed == target:
                    keys.append(posixpath.normpath(src.lstrip("/")))
                elif src.rstrip("/") in (".", "") and target.startswith(dest_abs.rstrip("/") + "/"):
                    keys.append(posixpath.normpath(target[len(dest_abs.rstrip("/")) + 1 :]))
    keys += [posixpath.normpath(container_path.lstrip("/")), _basename(container_path)]
    return list(dict.fromkeys(keys))


def wanted_context_files(df: Dockerfile) -> list[str]:
    """Context files the analysis would read: every requirements file a RUN names, and pyproject.toml."""
    wanted: list[str] = []
    for inst in python_installs(df):
        stage = df.stages[inst.instruction.stage]
        for req in inst.requirement_files:
            wanted += context_key(df, stage, inst.instruction, req)
    wanted += ["pyproject.toml", "uv.lock"]  # uv.lock: where `uv sync` really takes torch from
    return list(dict.fromkeys(wanted))


@dataclass(frozen=True)
class InstalledSpec:
    """A requirement an install brings in, and through which file (None: the command line)."""

    install: PythonInstall
    spec: str
    name: str
    via: str | None = None
    index_urls: tuple[str | None, ...] = ()
    extra_index_urls: tuple[str | None, ...] = ()


def installed_specs(subject: DockerSubject, stages: list[Stage] | None = None) -> list[InstalledSpec]:
    """Every requirement the Python installs of `stages` bring in: named on the command line, in a
    requirements file found in the context, or (for `uv sync` / `pip install .`) in pyproject.toml."""
    df = subject.dockerfile
    out: list[InstalledSpec] = []
    for inst in python_installs(df, stages):
        stage = df.stages[inst.instruction.stage]
        for spec in inst.specs:
            name = requirement_name(spec)
            if name:
                out.append(InstalledSpec(inst, spec, name, None, inst.index_urls, inst.extra_index_urls))
        for req in inst.requirement_files:
            for key in context_key(df, stage, inst.instruction, req):
                parsed = read_requirements(subject.context, key)
                if parsed.found and key in subject.context:
                    for spec in parsed.specs:
                        name = requirement_name(spec)
                        if name:
                            out.append(
                                InstalledSpec(
                                    inst,
                                    spec,
                                    name,
                                    key,
                                    inst.index_urls + parsed.index_urls,
                                    inst.extra_index_urls + parsed.extra_index_urls,
                                )
                            )
                    break
        if inst.tool == "uv-sync" or (inst.local_paths and not inst.no_deps):
            for spec in project_dependencies(subject.context.get("pyproject.toml")):
                name = requirement_name(spec)
                if name:
                    out.append(
                        InstalledSpec(inst, spec, name, "pyproject.toml", inst.index_urls, inst.extra_index_urls)
                    )
    return out


def project_dependencies(text: str | None) -> list[str]:
    """The runtime dependencies a pyproject.toml declares (empty when absent or unparsable)."""
    if not text:
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    deps = data.get("project", {}).get("dependencies", [])
    return [d for d in deps if isinstance(d, str)]


def pyproject_uses_cpu_index(text: str | None) -> bool:
    """True when pyproject.toml configures a CPU index for uv ([[tool.uv.index]] with a /cpu URL)."""
    if not text:
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    indexes = data.get("tool", {}).get("uv", {}).get("index", [])
    return any(isinstance(i, dict) and is_cpu_index(str(i.get("url", ""))) for i in indexes)


def torch_source(item: InstalledSpec, subject: DockerSubject) -> str:
    """How a torch-family requirement resolves: "cpu" (a +cpu pin, a CPU index, --torch-backend cpu),
    "cuda" (a cuXXX index or backend), "unknown" (an index given by an unresolved variable, or a
    find-links/local index we cannot judge), or "pypi" (the default index: CUDA wheels on Linux)."""
    return torch_origin(item, subject)[0]


def torch_origin(item: InstalledSpec, subject: DockerSubject) -> tuple[str, str | None]:
    """`torch_source`'s answer and, when the project's uv.lock decided it (`uv sync`, `pip install .`
    with a uv.lock in the build context), the index URL the lock takes the package from on Linux."""
    if item.via == "pyproject.toml":
        locked = locked_origin(subject.context.get("uv.lock"), item.name)
        if locked is not None:
            return locked
        declared = pyproject_index_for(subject.context.get("pyproject.toml"), item.name)
        if declared is not None and is_cuda_index(declared):
            return "cuda", declared
    return _command_source(item, subject), None


_LINUX_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")  # the image's Python is not known: any


def locked_origin(lock_text: str | None, name: str) -> tuple[str, str] | None:
    """("cpu" | "cuda" | "pypi", index URL) for the registry a uv.lock takes `name` from on Linux x86_64
    (its forks for Linux, any Python, when the lock forks), or None when there is no readable lock holding it from a
    registry. A lock that cannot be parsed says nothing (the rule then reports nothing rather than guess)."""
    if not lock_text:
        return None
    try:
        lock = lock_from_text(lock_text, "uv.lock")
    except DepauditError:
        return None
    linux = [MarkerEvaluator(make_target("linux-x86_64", py).marker_environment) for py in _LINUX_PYTHONS]
    urls = []
    for package in lock.packages:
        if package.name != name or package.source.kind != "registry":
            continue
        try:
            forks = package.resolution_markers
            on_linux = not forks or any(evaluate(m) for evaluate in linux for m in forks)
        except MarkerError:
            on_linux = True
        if on_linux:
            urls.append(package.source.value)
    if not urls:
        return None
    if all(is_cpu_index(u) for u in urls):
        return "cpu", urls[0]
    cuda = [u for u in urls if is_cuda_index(u)]
    if cuda and len(cuda) == len(urls):
        return "cuda", cuda[0]
    return "pypi", next(u for u in urls if not is_cpu_index(u) and not is_cuda_index(u))


def pyproject_index_for(text: str | None, name: str) -> str | None:
    """The URL of the `[[tool.uv.index]]` that `[tool.uv.sources]` takes `name` from unconditionally, or
    None (no such source, a conditional one, or an unreadable pyproject.toml)."""
    if not text:
        return None
    try:
        uv = tomllib.loads(text).get("tool", {}).get("uv", {})
    except tomllib.TOMLDecodeError:
        return None
    sources = uv.get("sources", {}) if isinstance(uv, dict) else {}
    entry = sources.get(name) if isinstance(sources, dict) else None
    if not isinstance(entry, dict) or any(k in entry for k in ("extra", "group", "marker")):
        return None
    indexes = uv.get("index", []) if isinstance(uv.get("index", []), list) else []
    named = [i for i in indexes if isinstance(i, dict) and i.get("name") == entry.get("index")]
    url = named[0].get("url") if named else None
    return url if isinstance(url, str) else None


def _command_source(item: InstalledSpec, subject: DockerSubject) -> str:
    inst = item.install
    spec = item.spec.lower()
    if "+cpu" in spec or "/cpu/" in spec:
        return "cpu"
    if local_label_family(spec) is not None:
        return "cuda"  # +cu124, +rocm6.2, +xpu: an accelerator build either way
    backend = (inst.torch_backend or "").lower()
    if backend:
        return "cpu" if backend == "cpu" else ("unknown" if backend == "auto" else "cuda")
    urls = item.index_urls + item.extra_index_urls
    if any(is_cpu_index(u) for u in urls):
        return "cpu"
    if any(is_cuda_index(u) for u in urls):
        return "cuda"
    if item.via == "pyproject.toml" and pyproject_uses_cpu_index(subject.context.get("pyproject.toml")):
        return "cpu"
    if any(u is None for u in urls) or inst.find_links or item.index_urls:
        return "unknown"  # a private or local index: it may well hold CPU wheels
    return "pypi"


def system_installs(df: Dockerfile, stages: list[Stage] | None = None) -> list[SystemInstall]:
    out: list[SystemInstall] = []
    for _, ins in runs(df, stages):
        for command in ins.commands():
            words = command.argv
            for i, word in enumerate(words):
                name = _basename(word)
                verb = {
                    "apt-get": "install",
                    "apt": "install",
                    "aptitude": "install",
                    "apk": "add",
                    "dnf": "install",
                    "yum": "install",
                    "microdnf": "install",
                }.get(name)
                if verb and verb in words[i + 1 :]:
                    rest = words[words.index(verb, i + 1) + 1 :]
                    pkgs = tuple(p.split("=")[0] for p in rest if not p.startswith("-"))
                    out.append(SystemInstall(ins, command, name, pkgs))
                    break
    return out


def system_removals(df: Dockerfile, stages: list[Stage] | None = None) -> list[tuple[Instruction, set[str]]]:
    """Packages a RUN purges/removes (`apt-get purge`, `apk del`, `dnf remove`)."""
    out: list[tuple[Instruction, set[str]]] = []
    for _, ins in runs(df, stages):
        for command in ins.commands():
            words = command.argv
            for i, word in enumerate(words):
                if _basename(word) in ("apt-get", "apt", "apk", "dnf", "yum", "microdnf"):
                    verbs = {"purge", "remove", "del", "erase", "autoremove"}
                    hit = [k for k in range(i + 1, len(words)) if words[k] in verbs]
                    if hit:
                        out.append((ins, {p for p in words[hit[0] + 1 :] if not p.startswith("-")}))
                    break
    return out


def apt_lists_kept(df: Dockerfile, stages: list[Stage] | None = None) -> list[Instruction]:
    """RUNs that `apt-get update`/`install` without removing /var/lib/apt/lists in the same RUN."""
    out: list[Instruction] = []
    for _, ins in runs(df, stages):
        updates = False
        cleaned = False
        for command in ins.commands():
            words = command.argv
            if words and _basename(words[0]) in ("apt-get", "apt") and ({"update", "install"} & set(words)):
                updates = True
            if words[:1] == ("rm",) and any(w.rstrip("/*").startswith("/var/lib/apt/lists") for w in words):
                cleaned = True
        if any(k == "mount" and v and "/var/lib/apt" in v for k, v in ins.flags):
            cleaned = True
        if updates and not cleaned:
            out.append(ins)
    return out
