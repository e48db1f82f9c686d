"""Python installers in a RUN line, applied to a predicted file system: `python -m venv`, `uv venv`,
`pip install`/`uninstall` (also `python -m pip`), `uv pip install`/`uninstall` and `uv sync`.

Which environment a command writes to is found the way the shell and pip find it: the `pip`/`python` the
command names, else the first one on `$PATH` in the predicted file system; a virtual environment is a
folder with `pyvenv.cfg`. What gets installed comes from `Services` (the resolver for pip lines, depaudit's
own scan for `uv sync`'s uv.lock) and each wheel's files from its zip central directory. pip's cache (kept
unless `--no-cache-dir`/`PIP_NO_CACHE_DIR`) holds every wheel it downloaded; uv's holds the unpacked wheels
hard-linked to the environment, so it costs almost nothing beside it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from depaudit.analysis.accelerators import accelerator_family
from depaudit.errors import DepauditError
from depaudit.images.contents import ACCELERATOR_LIBRARY
from depaudit.images.pyinstall import Environment, installed_files, pip_scripts, venv_environment, venv_skeleton
from depaudit.images.resolve import InstallRequest, ResolvedWheel
from depaudit.images.shell import Command, ShellState
from depaudit.images.steps import RunStep
from depaudit.images.vfs import Tree, clean
from depaudit.model import Selection
from depaudit.names import canonical_name

Members = tuple[tuple[str, int], ...]
_DIST_INFO = re.compile(r"^(?P<name>[^/-]+)-(?P<version>[^/]+)\.dist-info$")
_TRUE = ("1", "true", "yes", "on")


@dataclass
class Services:
    """What installers need from outside the file system. `resolve`: a pip line's wheels (raises
    DepauditError); `listings`: wheel URL -> members, or the reason they are unknown; `lock_wheels`: the
    wheels a uv.lock installs (text, python, platform, selection; raises DepauditError); `bundled`: the
    members of wheels the base image holds (ensurepip's pip and setuptools) by image path."""

    resolve: Callable[[InstallRequest], list[ResolvedWheel]]
    listings: Callable[[Sequence[ResolvedWheel]], dict[str, Members | str]]
    lock_wheels: Callable[[str, str, str, Selection], list[ResolvedWheel]]
    bundled: Mapping[str, Members] = field(default_factory=dict)
    cacheable: Callable[[str], bool | None] = lambda url: None
    python: str = "3.11"
    platform: str = "x86_64-manylinux_2_28"
    indexes_seen: dict[str, list[str]] = field(default_factory=dict)  # environment site -> index URLs used


def _env_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def _lookup(step: RunStep, name: str, command: Command) -> str | None:
    own = dict(command.assignments)
    return own[name] if name in own else step.env.get(name)


def _which(step: RunStep, name: str) -> str | None:
    """The image path of command `name` on $PATH in the predicted file system (None: not there)."""
    if "/" in name:
        return clean(name)
    for folder in (step.env.get("PATH") or "/usr/local/bin:/usr/bin:/bin").split(":"):
        path = clean(posixpath.join(folder or ".", name))
        if path in step.tree.entries:
            return path
    return None


def environment_of(step: RunStep, executable: str, python: str) -> Environment:
    """The environment a `pip`/`python` at image path `executable` installs into."""
    prefix = posixpath.dirname(posixpath.dirname(executable))
    if f"{prefix}/pyvenv.cfg" in step.tree.entries:
        return venv_environment(prefix, python)
    local = f"{prefix}/lib/python{python}/site-packages"
    if step.tree.is_dir(local) or prefix == "usr/local":
        return Environment(prefix, local, python)
    return Environment("usr/local", f"usr/local/lib/python{python}/dist-packages", python)  # Debian's own pip


def installed_dists(tree: Tree, site: str) -> dict[str, tuple[str, str]]:
    """{name: (version, dist-info folder)} of the distributions in a site-packages folder."""
    found = {}
    for entry in tree.list_dir(site):
        match = _DIST_INFO.match(entry)
        if match:
            found[canonical_name(match.group("name"))] = (match.group("version"), f"{site}/{entry}")
    return found


def uninstall(tree: Tree, env: Environment, name: str) -> int:
    """Remove a distribution's files (every path it owns under the prefix); returns the bytes removed."""
    removed = 0
    owner = canonical_name(name)
    for path, entry in list(tree.entries.items()):
        if (
            entry.owner
            and entry.owner.split("==")[0] == owner
            and path.startswith(env.prefix + "/")
            and path in tree.entries
        ):
            removed += tree.remove(path)
    info = installed_dists(tree, env.site).get(owner)
    if info is not None:
        removed += tree.remove(info[1])
    return removed


def install_wheel(
    step: RunStep,
    env: Environment,
    wheel: ResolvedWheel,
    members: Members,
    *,
    compile_bytecode: bool,
    installer: str,
    requested: bool,
) -> int:
    """Write a wheel's files into `env` (replacing another version first); returns the bytes written."""
    if wheel.name in installed_dists(step.tree, env.site):
        uninstall(step.tree, env, wheel.name)
    label = f"{wheel.name}=={wheel.version}"
    family = accelerator_family(wheel.name, wheel.version)
    total = accel_bytes = 0
    files = installed_files(
        members, env, wheel.name, compile_bytecode=compile_bytecode, installer=installer, requested=requested
    )
    for path, size in files:
        accel = bool(family) or bool(ACCELERATOR_LIBRARY.search(path))
        step.tree.write(path, size, owner=label, accelerator=accel)
        total += size
        accel_bytes += size if accel else 0
    step.packages.append((label, total, accel_bytes))
    return total


# ---------------------------------------------------------------------------------------------- venv


def make_venv(step: RunStep, services: Services, prefix: str, interpreter: str, with_pip: bool) -> None:
    """`python -m venv PREFIX`: the skeleton, and pip (plus setuptools before Python 3.12) from the
    wheels the base image bundles for ensurepip."""
    for path, size in venv_skeleton(prefix, services.python, "/" + interpreter):
        step.tree.write(path, size)
    step.tree.mkdir(f"{prefix}/include/python{services.python}")
    if not with_pip:
        return
    env = venv_environment(prefix, services.python)
    wanted = ("pip",) if tuple(int(x) for x in services.python.split(".")[:2]) >= (3, 12) else ("pip", "setuptools")
    found = False
    for path, members in sorted(services.bundled.items()):
        name, _, version = posixpath.basename(path).partition("-")
        if canonical_name(name) in wanted:
            found = True
            wheel = ResolvedWheel(
                canonical_name(name), version.split("-")[0], "file:///" + path, posixpath.basename(path), None
            )
            install_wheel(step, env, wheel, members, compile_bytecode=True, installer="pip", requested=True)
    if not found:
        step.unknown("the base image's ensurepip wheels are not known: pip in the new venv is not counted")
        return
    for path, size in pip_scripts(prefix, services.python):
        step.tree.write(
            path, size, owner=next((label for label, *_ in step.packages if label.startswith("pip==")), None)
        )


# ---------------------------------------------------------------------------------------------- pip lines


_PIP_VALUE = frozenset(
    "-r --requirement -c --constraint -e --editable -i --index-url --extra-index-url -f --find-links -t --target "
    "--prefix --root --platform --python-version --implementation --abi --upgrade-strategy --progress-bar "
    "--cache-dir --src --trusted-host --cert --client-cert --proxy --retries --timeout --exists-action --log "
    "--global-option --config-settings -C --no-binary --only-binary --report --python -p --root-user-action "
    "--index --default-index --index-strategy --torch-backend --extra --group --link-mode --keyring-provider "
    "--prerelease --resolution --exclude-newer --python-platform -P --upgrade-package --reinstall-package".split()
)


@dataclass
class PipLine:
    """The parts of a `pip install` / `uv pip install` command a prediction uses."""

    specs: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    target: str | None = None
    prefix: str | None = None
    python: str | None = None


def parse_pip_line(args: Sequence[str]) -> PipLine:
    """Parse the words after `install`."""
    line = PipLine()
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-") and len(word) > 1:
            name, eq, value = word.partition("=")
            if (
                not eq
                and len(name) > 2
                and name[:2] in ("-r", "-c", "-i", "-e", "-f", "-t")
                and not name.startswith("--")
            ):
                name, value, eq = name[:2], name[2:], "="
            if not eq and name in _PIP_VALUE:
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            if name in ("-r", "--requirement"):
                line.requirements.append(value)
            elif name in ("-c", "--constraint"):
                line.constraints.append(value)
            elif name in ("-e", "--editable"):
                line.local.append(value)
            elif name in ("-i", "--index-url", "--default-index"):
                line.index_url = value
            elif name in ("--extra-index-url", "--index"):
                line.extra_index_urls.append(value)
            elif name in ("-f", "--find-links"):
                line.find_links.append(value)
            elif name in ("-t", "--target"):
                line.target = value
            elif name == "--prefix":
                line.prefix = value
            elif name in ("--python", "-p"):
                line.python = value
            else:
                line.flags.add(name)
        elif word.startswith((".", "/")) or word.endswith((".whl", ".tar.gz", ".zip")) or "://" in word:
            line.local.append(word)
        else:
            line.specs.append(word)
        i += 1
    return line


def _requirement_files(step: RunStep, paths: Sequence[str], cwd: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(image path, text) of requirement files and the ones they nest (-r/-c), and the paths unknown."""
    found: dict[str, str] = {}
    missing: list[str] = []
    todo = [clean(p, cwd) for p in paths]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        entry = step.tree.entries.get(path)
        text = step.read_origin(entry.origin) if entry is not None and entry.origin else None
        if text is None:
            missing.append("/" + path)
            continue
        found[path] = text
        for nested in re.findall(r"^\s*(?:-r|--requirement|-c|--constraint)[\s=]+(\S+)", text, re.MULTILINE):
            todo.append(clean(nested, "/" + posixpath.dirname(path)))
    return [("/" + p, t) for p, t in found.items()], missing


def _pip_env(step: RunStep, command: Command, line: PipLine, services: Services, uv: bool) -> Environment | None:
    argv = command.argv
    if line.target:
        target = clean(line.target, step.cwd)
        return Environment(target, target, services.python)
    if line.prefix:
        prefix = clean(line.prefix, step.cwd)
        return Environment(prefix, f"{prefix}/lib/python{services.python}/site-packages", services.python)
    if "--user" in line.flags:
        home = clean(step.env.get("HOME") or "/root")
        return Environment(
            f"{home}/.local", f"{home}/.local/lib/python{services.python}/site-packages", services.python
        )
    if uv:
        chosen = line.python or _lookup(step, "VIRTUAL_ENV", command)
        if chosen:
            path = clean(chosen, step.cwd)
            return (
                venv_environment(path, services.python)
                if f"{path}/pyvenv.cfg" in step.tree.entries
                else environment_of(step, path, services.python)
            )
        if "--system" in line.flags or _env_true(_lookup(step, "UV_SYSTEM_PYTHON", command)):
            python = _which(step, "python3") or "usr/local/bin/python3"
            return environment_of(step, python, services.python)
        venv = clean(".venv", step.cwd)
        return venv_environment(venv, services.python) if f"{venv}/pyvenv.cfg" in step.tree.entries else None
    executable = argv[0]
    if posixpath.basename(executable).startswith("python"):
        found = _which(step, executable)
    else:
        found = _which(step, executable)
    if found is None:
        step.note(
            f"`{executable}` not found in the predicted file system: assuming the interpreter's own site-packages"
        )
        return Environment("usr/local", f"usr/local/lib/python{services.python}/site-packages", services.python)
    return environment_of(step, found, services.python)


def _request(
    step: RunStep, command: Command, line: PipLine, services: Services, env: Environment, uv: bool
) -> InstallRequest | None:
    files, missing = _requirement_files(step, [*line.requirements, *line.constraints], step.cwd)
    if missing:
        step.unknown(f"requirement file {', '.join(missing)} is not a file of the build context")
        return None
    if line.local:
        step.unknown(f"installing {', '.join(line.local)} (a local project or file) is not followed")
        if not (line.specs or line.requirements):
            return None
    if line.find_links:
        step.note(f"--find-links {' '.join(line.find_links)} not searched: packages resolved from the indexes")
    prefix = "UV_" if uv else "PIP_"
    index = line.index_url or _lookup(step, prefix + ("DEFAULT_INDEX" if uv else "INDEX_URL"), command)
    if uv and not index:
        index = _lookup(step, "UV_INDEX_URL", command)
    extra = list(line.extra_index_urls)
    extra += (_lookup(step, prefix + "EXTRA_INDEX_URL", command) or "").split()
    if uv:
        extra += (_lookup(step, "UV_INDEX", command) or "").split()
    # what the environment got from other indexes before still satisfies requirements pinned to it
    extra += [u for u in services.indexes_seen.get(env.site, []) if u != index and u not in extra]
    return InstallRequest(
        specs=tuple(line.specs),
        roots=tuple("/" + clean(p, step.cwd) for p in line.requirements),
        constraints=tuple("/" + clean(p, step.cwd) for p in line.constraints),
        files=tuple(files),
        python=services.python,
        platform=services.platform,
        index_url=index,
        extra_index_urls=tuple(dict.fromkeys(extra)),
        no_deps="--no-deps" in line.flags,
        pre="--pre" in line.flags,
        best_match=not uv,
    )


def pip_cache_dir(step: RunStep, command: Command) -> str:
    home = step.env.get("HOME") or "/root"
    return clean(_lookup(step, "PIP_CACHE_DIR", command) or posixpath.join(home, ".cache/pip"))


def pip_install(step: RunStep, services: Services, command: Command, args: Sequence[str], uv: bool) -> None:
    """`pip install ARGS` / `uv pip install ARGS`."""
    line = parse_pip_line(args)
    env = _pip_env(step, command, line, services, uv)
    if env is None:
        step.unknown("uv pip install without a virtual environment (.venv, VIRTUAL_ENV or --system) is not followed")
        return
    request = _request(step, command, line, services, env, uv)
    if request is None:
        return
    try:
        wheels = services.resolve(request)
    except DepauditError as exc:
        step.unknown(str(exc).splitlines()[0])
        return
    if request.index_url:
        services.indexes_seen.setdefault(env.site, []).append(request.index_url)
    installed = installed_dists(step.tree, env.site)
    wanted = [w for w in wheels if installed.get(w.name, ("",))[0] != w.version]
    if uv:
        compile_bytecode = (
            "--compile-bytecode" in line.flags
            or "--compile" in line.flags
            or _env_true(_lookup(step, "UV_COMPILE_BYTECODE", command))
        )
        cached = not ("--no-cache" in line.flags or _env_true(_lookup(step, "UV_NO_CACHE", command)))
    else:
        compile_bytecode = "--no-compile" not in line.flags and not _env_true(_lookup(step, "PIP_NO_COMPILE", command))
        cached = "--no-cache-dir" not in line.flags and not _pip_cache_off(_lookup(step, "PIP_NO_CACHE_DIR", command))
    requested = set(_names(line.specs))
    for _, text in request.files:
        requested.update(_names([line for line in text.splitlines() if not line.strip().startswith(("-", "#"))]))
    written = write_wheels(step, services, env, wanted, requested, compile_bytecode, "uv" if uv else "pip")
    if cached and not uv:
        cache_downloads(step, services, pip_cache_dir(step, command), wanted)
    elif cached:
        uv_cache(step, command, line.flags, written)


def _pip_cache_off(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")


def _names(specs: Sequence[str]) -> list[str]:
    out = []
    for spec in specs:
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if match:
            out.append(canonical_name(match.group(1)))
    return out


def write_wheels(
    step: RunStep,
    services: Services,
    env: Environment,
    wheels: Sequence[ResolvedWheel],
    requested: set[str],
    compile_bytecode: bool,
    installer: str,
) -> list[tuple[ResolvedWheel, Members]]:
    """Install `wheels` into `env`; returns those written with their members."""
    listings = services.listings(wheels)
    written = []
    for wheel in wheels:
        members = listings.get(wheel.url)
        if not isinstance(members, tuple):
            step.unknown(f"{wheel.name} {wheel.version}: files unknown ({members or 'no listing'})")
            continue
        install_wheel(
            step,
            env,
            wheel,
            members,
            compile_bytecode=compile_bytecode,
            installer=installer,
            requested=wheel.name in requested,
        )
        written.append((wheel, members))
    return written


def uv_cache(
    step: RunStep, command: Command, flags: set[str], written: Sequence[tuple[ResolvedWheel, Members]]
) -> None:
    """uv's cache: each wheel unpacked under `archive-v0/`, linked into the environment (its bytes then
    counted once, at the environment) unless `UV_LINK_MODE=copy`/`--link-mode copy` makes it a second copy."""
    home = step.env.get("HOME") or "/root"
    xdg = _lookup(step, "XDG_CACHE_HOME", command)
    cache = clean(
        _lookup(step, "UV_CACHE_DIR", command)
        or (posixpath.join(xdg, "uv") if xdg else posixpath.join(home, ".cache/uv"))
    )
    mode = _lookup(step, "UV_LINK_MODE", command) or ""
    copies = mode == "copy" or "--link-mode=copy" in flags
    step.tree.write(f"{cache}/CACHEDIR.TAG", 43)
    step.tree.write(f"{cache}/.gitignore", 1)
    for wheel, members in written:
        folder = f"{cache}/archive-v0/{hashlib.sha256(wheel.url.encode()).hexdigest()[:21]}"
        for member, size in members:
            step.tree.write(f"{folder}/{member}", size if copies else 0)
        step.tree.write(f"{cache}/wheels-v5/pypi/{wheel.name}/{wheel.filename[:-4]}.http", 300)
    if written:
        how = "a second copy of every file (UV_LINK_MODE=copy)" if copies else "hard-linked to the environment"
        step.note(f"uv's cache is kept in /{cache}: {how}")


def cache_downloads(step: RunStep, services: Services, cache: str, wheels: Sequence[ResolvedWheel]) -> None:
    """pip's HTTP cache: each downloaded wheel's bytes under `http-v2/` with a small header file, when the
    index lets a cache keep its answers (pip stores nothing without `Cache-Control`, `ETag` or
    `Last-Modified`); the index pages pip also keeps are of unknown size."""
    if not wheels:
        return
    allowed = services.cacheable(wheels[0].url)
    if allowed is False:
        step.note("the index sends no caching headers: pip keeps no cache of its downloads")
        return
    if allowed is None:
        step.unknown("whether pip's cache keeps the downloads is not known (the index did not answer)")
        return
    unknown = [w.name for w in wheels if w.size is None]
    for wheel in wheels:
        digest = hashlib.sha224(wheel.url.encode()).hexdigest()
        folder = f"{cache}/http-v2/{digest[0]}/{digest[1]}/{digest[2]}/{digest[3]}/{digest[4]}"
        step.tree.write(f"{folder}/{digest}", 1_100)
        step.tree.write(f"{folder}/{digest}.body", wheel.size or 0, unknown=wheel.size is None)
    step.tree.write(f"{cache}/http-v2/index-pages", 0, unknown=True)
    step.note(
        f"pip's cache is kept in /{cache} (no --no-cache-dir / PIP_NO_CACHE_DIR): {len(wheels)} wheels, "
        + (f"{', '.join(unknown)} of unknown size" if unknown else "and the index pages it read")
    )


def pip_uninstall(step: RunStep, services: Services, command: Command, args: Sequence[str], uv: bool) -> None:
    line = parse_pip_line(args)
    env = _pip_env(step, command, line, services, uv)
    if env is None:
        step.unknown("uv pip uninstall without a virtual environment is not followed")
        return
    for name in _names(line.specs):
        uninstall(step.tree, env, name)


# ---------------------------------------------------------------------------------------------- uv sync


def uv_sync(step: RunStep, services: Services, command: Command, args: Sequence[str]) -> None:
    """`uv sync`: the uv.lock of the project (the working folder, or --project/--directory) installed
    into its `.venv` (or $UV_PROJECT_ENVIRONMENT), made when missing; groups as uv's defaults (`dev`)."""
    line = parse_pip_line(args)
    values = _sync_values(args)
    project = clean(values.get("--project") or values.get("--directory") or ".", step.cwd)
    lock_entry = step.tree.entries.get(f"{project}/uv.lock".lstrip("./"))
    text = step.read_origin(lock_entry.origin) if lock_entry is not None and lock_entry.origin else None
    if text is None:
        step.unknown(f"uv sync: /{project}/uv.lock is not a file of the build context")
        return
    groups = [] if {"--no-dev", "--only-group", "--no-default-groups"} & line.flags else ["dev"]
    groups += [v for k, v in _pairs(args) if k in ("--group", "--only-group")]
    selection = Selection(
        extras=tuple(v for k, v in _pairs(args) if k == "--extra"),
        all_extras="--all-extras" in line.flags,
        groups=tuple(dict.fromkeys(groups)),
        packages=tuple(v for k, v in _pairs(args) if k == "--package"),
        all_packages="--all-packages" in line.flags,
    )
    try:
        wheels = services.lock_wheels(text, f"/{project}/uv.lock", services.python, selection)
    except DepauditError as exc:
        step.unknown(str(exc).splitlines()[0])
        return
    where = _lookup(step, "UV_PROJECT_ENVIRONMENT", command)
    prefix = clean(where, "/" + project) if where else f"{project}/.venv".lstrip("./")
    if f"{prefix}/pyvenv.cfg" not in step.tree.entries:
        python = _which(step, "python3") or f"usr/bin/python{services.python}"
        for path, size in venv_skeleton(prefix, services.python, "/" + python):
            step.tree.write(path, size)
    env = venv_environment(prefix, services.python)
    compile_bytecode = "--compile-bytecode" in line.flags or _env_true(_lookup(step, "UV_COMPILE_BYTECODE", command))
    installed = installed_dists(step.tree, env.site)
    wanted = [w for w in wheels if installed.get(w.name, ("",))[0] != w.version]
    written = write_wheels(step, services, env, wanted, set(), compile_bytecode, "uv")
    if not ("--no-cache" in line.flags or _env_true(_lookup(step, "UV_NO_CACHE", command))):
        uv_cache(step, command, line.flags, written)
    if "--no-install-project" not in line.flags:
        step.note("the project itself, if it is a package, is installed editable: a few bytes, not counted")


def _pairs(args: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for i, word in enumerate(args):
        name, eq, value = word.partition("=")
        if eq:
            out.append((name, value))
        elif name in _PIP_VALUE | {"--project", "--directory", "--package"} and i + 1 < len(args):
            out.append((name, args[i + 1]))
    return out


def _sync_values(args: Sequence[str]) -> dict[str, str]:
    return dict(_pairs(args))


# ---------------------------------------------------------------------------------------------- dispatch


@dataclass
class PythonInstallers:
    """The installers `depaudit.images.steps.RunStep` hands installer commands to."""

    services: Services
    apt: Callable[[RunStep, Command, ShellState], None] | None = None

    def handles(self, argv: Sequence[str]) -> bool:
        name = posixpath.basename(argv[0])
        if re.fullmatch(r"pip(3(\.\d+)?)?", name) or name == "uv":
            return True
        if (
            re.fullmatch(r"python(3(\.\d+)?)?", name)
            and argv[1:2] == ["-m"]
            and argv[2:3] in (["venv"], ["pip"], ["uv"])
        ):
            return True
        return name in ("apt-get", "apt") and self.apt is not None

    def apply(self, step: RunStep, command: Command, state: ShellState) -> None:
        argv = list(command.argv)
        name = posixpath.basename(argv[0])
        step.cwd = state.cwd
        if name in ("apt-get", "apt") and self.apt is not None:
            self.apt(step, command, state)
        elif name.startswith("python"):
            module, rest = argv[2], argv[3:]
            if module == "venv":
                self._venv(step, argv[0], rest)
            elif module == "pip":
                self._pip(step, command, rest, uv=False)
            else:
                self._uv(step, command, rest)
        elif name == "uv":
            self._uv(step, command, argv[1:])
        else:
            self._pip(step, command, argv[1:], uv=False)

    def _venv(self, step: RunStep, python: str, args: Sequence[str]) -> None:
        flags = {a for a in args if a.startswith("-")}
        dirs = [a for a in args if not a.startswith("-")]
        interpreter = _which(step, python) or clean(python)
        for folder in dirs:
            make_venv(step, self.services, clean(folder, step.cwd), interpreter, "--without-pip" not in flags)

    def _pip(self, step: RunStep, command: Command, args: Sequence[str], uv: bool) -> None:
        verb = next((a for a in args if not a.startswith("-")), "")
        rest = list(args[args.index(verb) + 1 :]) if verb else []
        if verb == "install":
            pip_install(step, self.services, command, rest, uv)
        elif verb == "uninstall":
            pip_uninstall(step, self.services, command, rest, uv)
        elif verb in (
            "list",
            "freeze",
            "show",
            "check",
            "config",
            "debug",
            "help",
            "index",
            "inspect",
            "--version",
            "",
        ):
            return
        elif verb == "cache" and rest[:1] == ["purge"]:
            step.tree.remove(pip_cache_dir(step, command))
        else:
            step.unknown(f"`pip {verb}` is not followed")

    def _uv(self, step: RunStep, command: Command, args: Sequence[str]) -> None:
        words = [a for a in args if not a.startswith("-")]
        if words[:2] == ["pip", "install"] or words[:2] == ["pip", "sync"]:
            pip_install(step, self.services, command, list(args[args.index(words[1]) + 1 :]), uv=True)
        elif words[:2] == ["pip", "uninstall"]:
            pip_uninstall(step, self.services, command, list(args[args.index("uninstall") + 1 :]), uv=True)
        elif words[:1] == ["sync"]:
            uv_sync(step, self.services, command, list(args[args.index("sync") + 1 :]))
        elif words[:1] == ["venv"]:
            rest = [a for a in args[args.index("venv") + 1 :] if not a.startswith("-")]
            prefix = clean(rest[0] if rest else ".venv", step.cwd)
            python = _which(step, "python3") or f"usr/bin/python{self.services.python}"
            for path, size in venv_skeleton(prefix, self.services.python, "/" + python):
                step.tree.write(path, size)
        elif words[:2] == ["cache", "clean"] or words[:2] == ["cache", "prune"]:
            home = step.env.get("HOME") or "/root"
            step.tree.remove(clean(_lookup(step, "UV_CACHE_DIR", command) or posixpath.join(home, ".cache/uv")))
        elif words[:1] in (["--version"], ["version"], ["help"], ["pip"]) or not words:
            return
        else:
            step.unknown(f"`uv {' '.join(words[:2])}` is not followed")
