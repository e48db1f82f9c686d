"""What an input without a lock installs, per target: uv's real resolver, one run per target.

A requirements file or a pyproject.toml without a lock says what is wanted, not what installs; that is
decided when pip or uv resolves it, for one platform and one Python, on the day it runs. This module
asks uv exactly that question (`uv pip compile --format pylock.toml --python-platform P --python-version
V --no-build`) and reads the answer with the pylock parser, so the rest of depaudit scans it like any
pylock.toml. `--no-build` means no project code runs: a package that only an sdist build could resolve
makes the target not installable, with uv's reason.

Before uv runs, every file it would read (the input, its `-r`/`-c` includes, the project's uv
configuration) must lie inside `root`, and every index or URL it would reach must pass the host policy
(`host_policy`): the checkout cannot send uv to a loopback, private or link-local address unless the
command line allowed that host. Answers are cached in `cache_dir/resolutions/` per (input files, uv
version, target, Python, options, date): the date is `--exclude-newer` when given, else today (UTC).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from depaudit import fileio
from depaudit.analysis.host_policy import HostPolicy, literal_address, normal_host, registry_hosts, resolve
from depaudit.errors import InputError, OutputError, ToolError, UsageError
from depaudit.model import Lock, Package, Resolved, Source, Target
from depaudit.process import run_tool
from depaudit.sources.flatlock import PYPI_SIMPLE
from depaudit.sources.pylock import lock_from_pylock
from depaudit.sources.requirements import parse_requirements
from depaudit.sources.tomlparse import parse_toml
from depaudit.targets import ALIASES, parse_platform

ResolveKind = Literal["requirements", "pyproject"]
MAX_PARALLEL = 4  # uv processes at once
RESOLVE_TIMEOUT = 600.0  # seconds for one target; a CUDA torch project resolves in ~2 s with uv's cache warm
CACHE_FOLDER = "resolutions"
CACHE_SCHEMA = 1
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_NETWORK = (
    "Network connectivity is disabled",
    "Failed to fetch",
    "error sending request",
    "dns error",
    "Could not connect",
    "Connection refused",
    "failed to lookup address",
    "Request failed after",
    "the network was disabled",
    "needs to be downloaded from a registry",
)


@dataclass(frozen=True)
class ResolveInput:
    """An input to resolve: `path` (a requirements file or a pyproject.toml) inside `root`, which
    nothing read may leave; `extras`/`groups` of a pyproject (uv's `--extra`/`--group`); `options`:
    more uv arguments taken from a trusted place (a Dockerfile RUN line's index options, already
    checked); `label`: how reports name the input (default: the path)."""

    kind: ResolveKind
    path: Path
    root: Path
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    label: str | None = None

    @property
    def pip_semantics(self) -> bool:
        """A requirements file is pip's: pip takes the best version from every index it is given,
        where uv stops at the first index that has the package (`--index-strategy unsafe-best-match`
        makes uv choose as pip does)."""
        return self.kind == "requirements"


@dataclass(frozen=True)
class TargetResolution:
    """One target's answer: the resolved install set as a pylock-form Lock, or (`lock` None) uv's
    one-line reason why the input is not installable there."""

    target: Target
    lock: Lock | None
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class ResolveOptions:
    """How to resolve: the uv command (`process.find_uv`), the cache folder (None: no cache), offline
    (uv's own cache only), the `--exclude-newer` cut-off, hosts the command line allowed, `today`
    (UTC date, for the cache key; default the current date), and macOS / glibc versions of targets."""

    uv: tuple[str, ...]
    cache_dir: Path | None = None
    offline: bool = False
    exclude_newer: str | None = None
    allow_hosts: tuple[str, ...] = ()
    today: str | None = None
    glibc: str | None = None
    macos: str | None = None

    @property
    def as_of(self) -> str:
        return self.exclude_newer or self.today or datetime.datetime.now(datetime.UTC).date().isoformat()


def check_exclude_newer(value: str | None) -> str | None:
    """`--exclude-newer` as given when it is a date (2026-01-31) or an RFC 3339 timestamp; UsageError else."""
    if value is None:
        return None
    if not _DATE.match(value.strip()):
        raise UsageError(f"--exclude-newer: {value!r} is not a date like 2026-01-31 or 2026-01-31T00:00:00Z")
    return value.strip()


def uv_version(uv: Sequence[str]) -> str:
    """`uv X.Y.Z` as uv reports it. Raises ToolError when it does not run."""
    done = run_tool([*uv, "--version"], timeout=60, missing_hint="install uv (pip install uv)")
    return " ".join(done.stdout.split()[:2]) or "uv"


def resolved_by(source: ResolveInput, options: ResolveOptions, version: str) -> Resolved:
    """The report header's facts about a resolution."""
    return Resolved(source.kind, version, options.as_of, options.exclude_newer)


def resolve_targets(
    source: ResolveInput, targets: Sequence[Target], options: ResolveOptions, version: str | None = None
) -> tuple[TargetResolution, ...]:
    """Resolve `source` for each target with uv. A target uv cannot resolve (no wheel, a conflict) is a
    TargetResolution without a lock. Raises InputError (a file outside `root`, a URL the host policy
    refuses, an unreadable input), ToolError (uv missing or failing otherwise, the index unreachable:
    exit 4 — depaudit never guesses what a resolution it could not run would give)."""
    files = input_files(source)
    check_hosts(index_urls(source, files), source, options.allow_hosts)
    version = version or uv_version(options.uv)
    digest = _input_digest(source, files, version, options)
    indexes = declared_indexes(source, files)
    if len(targets) < 2:
        return tuple(_resolve_one(source, target, options, digest, indexes) for target in targets)
    # One uv per target at once: each waits on the index more than on the CPU (uv's cache is shared safely).
    with ThreadPoolExecutor(max_workers=min(len(targets), MAX_PARALLEL)) as pool:
        return tuple(pool.map(lambda target: _resolve_one(source, target, options, digest, indexes), targets))


def input_files(source: ResolveInput) -> dict[Path, str]:
    """Every file uv reads for `source`, with its text: the input, its `-r`/`-c` includes (followed),
    and the uv configuration it would discover beside it. InputError for one outside `root`."""
    root = source.root.resolve()
    files: dict[Path, str] = {}
    pending = [source.path]
    while pending:
        path = _inside(pending.pop(), root, source)
        if path in files:
            continue
        files[path] = fileio.read_text(path, "requirements file" if source.kind == "requirements" else "pyproject.toml")
        if source.kind == "requirements":
            parsed = parse_requirements(files[path], path)
            pending += [path.parent / e.value for e in parsed.lines if e.option in _INCLUDES and e.value]
    for name in ("pyproject.toml", "uv.toml"):
        config = source.path.parent / name
        if config.is_file() and config.resolve() not in files:
            files[_inside(config, root, source)] = fileio.read_text(config, name)
    return files


_INCLUDES = ("--requirement", "--constraint")


def _inside(path: Path, root: Path, source: ResolveInput) -> Path:
    """`path` resolved (symlinks followed), when it lies inside `root`; InputError otherwise."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise InputError(source.label or source.path, f"{path} is outside {root}: not read")
    if not resolved.is_file():
        raise InputError(path, "not a regular file")
    return resolved


def index_urls(source: ResolveInput, files: dict[Path, str]) -> list[str]:
    """Every index, find-links and direct URL uv may reach for `source` (requirements options and
    direct references, [tool.uv] / [tool.uv.pip] indexes and sources, uv.toml, the extra options)."""
    urls: list[str] = list(_option_values(source.options))
    for path, text in files.items():
        if path.name == "pyproject.toml" or path.name == "uv.toml":
            urls += _config_urls(parse_toml(text, path), path.name == "uv.toml")
        else:
            parsed = parse_requirements(text, path)
            urls += [e.value for e in parsed.lines if e.option in _URL_OPTIONS and e.value]
            urls += [e.url for e in parsed.requirements if e.url]
    return urls


_URL_OPTIONS = ("--index-url", "--extra-index-url", "--find-links")


def _option_values(options: Sequence[str]) -> Iterable[str]:
    for i, word in enumerate(options):
        if word in ("--index-url", "--extra-index-url", "--find-links", "--default-index", "--index") and i + 1 < len(
            options
        ):
            yield options[i + 1]


def _config_urls(data: dict[str, object], top: bool) -> list[str]:
    """URLs in a uv configuration: [tool.uv] of a pyproject (or the top level of uv.toml)."""
    tool = data.get("tool")
    uv = data if top else (tool.get("uv") if isinstance(tool, dict) else None)
    if not isinstance(uv, dict):
        return []
    tables = [uv, uv.get("pip") if isinstance(uv.get("pip"), dict) else {}]
    urls: list[str] = []
    for table in tables:
        assert isinstance(table, dict)
        for key in ("index-url", "extra-index-url", "find-links"):
            value = table.get(key)
            urls += [value] if isinstance(value, str) else [v for v in value or () if isinstance(v, str)]
        for index in table.get("index", []) if isinstance(table.get("index"), list) else []:
            if isinstance(index, dict) and isinstance(index.get("url"), str):
                urls.append(index["url"])
    sources = uv.get("sources")
    for entry in sources.values() if isinstance(sources, dict) else []:
        for item in entry if isinstance(entry, list) else [entry]:
            if isinstance(item, dict):
                urls += [str(item[k]) for k in ("url", "git", "path") if isinstance(item.get(k), str)]
    return urls


def check_hosts(urls: Iterable[str], source: ResolveInput, allowed: Sequence[str]) -> None:
    """Refuse (InputError) an index or URL uv must not reach: a host at a loopback, private, link-local
    or otherwise non-global address, unless `allowed` names it; a local path outside `root`."""
    policy = HostPolicy.make(None, allowed)
    for url in dict.fromkeys(urls):
        if "://" not in url or url.startswith("file:"):
            local = Path(url.removeprefix("file://")) if url.startswith("file:") else Path(url)
            where = local if local.is_absolute() else source.path.parent / local
            if not where.resolve().is_relative_to(source.root.resolve()):
                raise InputError(source.label or source.path, f"{url} is outside {source.root}: not read")
            continue
        host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not policy.checks_address(host):
            continue
        problem = _address_problem(policy, host)
        if problem:
            raise InputError(source.label or source.path, f"{url}: {problem}")


def _address_problem(policy: HostPolicy, host: str) -> str | None:
    try:
        addresses = [literal_address(host)] if literal_address(host) else resolve(normal_host(host), 443)
    except OSError:
        return None  # uv will report the name that does not resolve (exit 4)
    return policy.refuse_addresses(host, [a for a in addresses if a is not None])


def _input_digest(source: ResolveInput, files: dict[Path, str], version: str, options: ResolveOptions) -> str:
    digest = hashlib.sha256()
    parts = [source.kind, version, options.as_of, *source.extras, str(source.all_extras), *source.groups]
    parts += [*source.options, str(options.glibc), str(options.macos)]
    for path, text in sorted(files.items()):
        parts += [str(path.relative_to(source.root.resolve())), text]
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def uv_platform(target: Target, glibc: str | None, macos: str | None) -> tuple[str, dict[str, str]]:
    """uv's `--python-platform` for a target and the environment it needs (MACOSX_DEPLOYMENT_TARGET
    for the macos-arm64 preset, which depaudit measures at macOS 14.0)."""
    name = ALIASES.get(target.name, target.name)
    platform = parse_platform(target.name)
    env: dict[str, str] = {}
    if platform.os == "macos":
        version = macos or (".".join(map(str, platform.version)) if platform.version else None)
        if version:
            env["MACOSX_DEPLOYMENT_TARGET"] = version
    if platform.os == "linux" and glibc and name.endswith("-unknown-linux-gnu"):
        major, _, minor = glibc.partition(".")
        name = f"{platform.arch}-manylinux_{major}_{minor or 0}"
    return name, env


def _command(source: ResolveInput, target: Target, options: ResolveOptions) -> tuple[list[str], dict[str, str]]:
    platform, env = uv_platform(target, options.glibc, options.macos)
    python = target.marker_environment["python_full_version"]
    argv = [*options.uv, "pip", "compile", str(source.path.resolve()), "--format", "pylock.toml"]
    argv += ["--python-platform", platform, "--python-version", python, "--no-build", "--quiet", "--no-header"]
    # Any interpreter serves: uv resolves for --python-version; without one named, uv looks for (and
    # may try to download) that exact Python first, which cost 4-11 s a run on the test machines.
    argv += ["--python", sys.executable, "--no-python-downloads"]
    argv += [arg for extra in source.extras for arg in ("--extra", extra)]
    argv += ["--all-extras"] if source.all_extras else []
    argv += [arg for group in source.groups for arg in ("--group", group)]
    argv += list(source.options)
    if source.pip_semantics and "--index-strategy" not in source.options:
        argv += ["--index-strategy", "unsafe-best-match"]
    if options.exclude_newer:
        argv += ["--exclude-newer", options.exclude_newer]
    if options.offline:
        argv.append("--offline")
    folder = source.path.parent
    if not any((folder / name).is_file() for name in ("pyproject.toml", "uv.toml")):
        argv.append("--no-config")  # uv would look for configuration above the project: never there
    # The project's uv configuration chooses indexes and sources (what it installs), never where uv
    # writes: its cache stays the machine's, whatever a checkout's `cache-dir` says.
    argv += ["--cache-dir", uv_cache_dir(os.environ)]
    return argv, env


def uv_cache_dir(environ: Mapping[str, str]) -> str:
    """The machine's uv cache: UV_CACHE_DIR, else uv's default ($XDG_CACHE_HOME/uv, ~/.cache/uv)."""
    if environ.get("UV_CACHE_DIR"):
        return environ["UV_CACHE_DIR"]
    return os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "uv")


def _resolve_one(
    source: ResolveInput, target: Target, options: ResolveOptions, digest: str, indexes: Sequence[str]
) -> TargetResolution:
    key = hashlib.sha256(f"{digest}|{target.name}|{target.python}|{target.tags[0]}".encode()).hexdigest()
    cached = _cache_read(options.cache_dir, key)
    if cached is not None:
        pylock, error = cached
        return TargetResolution(target, _lock(pylock, source, indexes) if pylock else None, error, cached=True)
    argv, env = _command(source, target, options)
    done = run_tool(
        argv,
        timeout=RESOLVE_TIMEOUT,
        cwd=source.path.resolve().parent,
        env={**os.environ, **env},
        check=False,
        missing_hint="install uv (pip install uv)",
    )
    if done.returncode == 0:
        _cache_write(options.cache_dir, key, {"pylock": done.stdout})
        return TargetResolution(target, _lock(done.stdout, source, indexes))
    reason = _no_solution(done.stderr)
    if reason is None:
        raise ToolError(argv, done.stderr, what=_failure(source, target, done.stderr, options.offline))
    _cache_write(options.cache_dir, key, {"error": reason})
    return TargetResolution(target, None, reason)


def _no_solution(stderr: str) -> str | None:
    """uv's reason in one line when it found no solution (no wheel for the platform, a conflict), else
    None (a failure that says nothing about the input: the network, uv itself)."""
    if "No solution found" not in stderr or any(marker in stderr for marker in _NETWORK):
        return None
    lines = [_bare(line) for line in stderr.splitlines()]
    because = [line for line in lines if line and not line.startswith(("No solution found", "hint:"))]
    return " ".join(because)[:500] or "uv found no solution"


def _bare(line: str) -> str:
    """A line of uv's message without its tree drawing and `error:`/`cause:` prefixes."""
    return re.sub(r"^(error|cause):\s*", "", re.sub(r"^[\s│╰─▶×]+", "", line)).strip()


def _failure(source: ResolveInput, target: Target, stderr: str, offline: bool) -> str:
    name = source.label or str(source.path)
    last = next((_bare(line) for line in reversed(stderr.splitlines()) if _bare(line)), "uv failed")
    if any(marker in stderr for marker in _NETWORK):
        why = "offline and uv's cache lacks it" if offline else f"the package index cannot be reached ({last})"
        return f"{name}: resolving for {target.name} needs the package index: {why}; nothing measured"
    return f"{name}: uv could not resolve it for {target.name}: {last}"


def _lock(pylock: str, source: ResolveInput, indexes: Sequence[str]) -> Lock:
    """The pylock text uv wrote, as a Lock named after the input; package lines point nowhere (they
    were lines of uv's output, not of the input)."""
    name = source.label or str(source.path)
    lock = lock_from_pylock(parse_toml(pylock, Path(name)), Path(name), pylock)
    root = f"<{Path(name).name}>"  # paths read `requirements.txt -> torch`, not `<pylock> -> torch`
    first, *rest = lock.packages
    packages = (first._replace(name=root), *(p._replace(line=None, source=_registry(p, indexes)) for p in rest))
    return lock._replace(packages=packages, roots=(root,))


def _registry(package: Package, indexes: Sequence[str]) -> Source:
    """The index a package of uv's answer came from (uv's pylock names none): the one of the indexes
    the input declares whose host (or file host) serves its wheel, else the first. Size look-ups may
    then reach exactly the declared indexes and their file hosts."""
    if package.source.kind != "registry" or package.source.value or not indexes:
        return package.source
    url = next((w.url for w in package.wheels if w.url), "")
    host = normal_host(urlsplit(url).hostname or "") if url else ""
    return Source("registry", next((i for i in indexes if host in registry_hosts([i])), indexes[0]))


def declared_indexes(source: ResolveInput, files: dict[Path, str]) -> list[str]:
    """The indexes uv was told to use: the input's, and PyPI unless an `--index-url` replaces it."""
    urls = index_urls(source, files)
    http = [u for u in urls if u.startswith(("https://", "http://"))]
    replaced = (
        any(
            e.option == "--index-url"
            for path, text in files.items()
            if path.name not in ("pyproject.toml", "uv.toml")
            for e in parse_requirements(text, path).lines
        )
        or "--index-url" in source.options
    )
    return [*dict.fromkeys(http), *(() if replaced else (PYPI_SIMPLE,))]


def _cache_read(cache_dir: Path | None, key: str) -> tuple[str | None, str | None] | None:
    if cache_dir is None:
        return None
    try:
        raw = json.loads(fileio.read_bytes(cache_dir / CACHE_FOLDER / f"{key}.json", "resolution cache"))
    except (InputError, ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or raw.get("schema") != CACHE_SCHEMA:
        return None
    pylock, error = raw.get("pylock"), raw.get("error")
    if isinstance(pylock, str) and pylock:
        return pylock, None
    if isinstance(error, str) and error:
        return None, error
    return None


def _cache_write(cache_dir: Path | None, key: str, entry: dict[str, str]) -> None:
    """Save one answer; a cache that cannot be written is skipped (the scan does not depend on it)."""
    if cache_dir is None:
        return
    folder = cache_dir / CACHE_FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fileio.write_text(folder / f"{key}.json", json.dumps({"schema": CACHE_SCHEMA, **entry}) + "\n")
    except (OSError, OutputError):
        pass
