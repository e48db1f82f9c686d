"""What a `pip install` / `uv pip install` line installs for one platform, as wheels with their URLs.

`resolve_install(request)` hands the requirements (the command line's and the requirement files the image
holds, laid out as in the image so nested `-r` lines find each other) to `uv pip compile --format
pylock.toml` for the image's Python and platform, and reads back one wheel per package. uv never builds a
source distribution here (`--no-build`: no project code runs), reads no configuration of the checkout
(`--no-config`, run in a temporary folder), and no index of the host's environment (`UV_*`/`PIP_*` are
cleared): it sees the indexes the install line names, nothing else. Every index host passes the same host
policy as the size look-ups first (global addresses only, unless `--allow-host` names it).

A sibling resolver for `depaudit scan` (requirements files and Dockerfiles) may replace this one; its
contract is the one here: (installs, platform) -> packages with wheel URLs.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from depaudit.analysis.host_policy import HostPolicy, normal_host, resolve
from depaudit.errors import ToolError
from depaudit.names import canonical_name
from depaudit.process import find_uv, run_tool

PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class ResolvedWheel:
    """One package an install brings in: the wheel the platform gets, its URL and download size."""

    name: str
    version: str
    url: str
    filename: str
    size: int | None


@dataclass(frozen=True)
class InstallRequest:
    """An install line as the resolver needs it. `files`: (image path, text) of every requirement file it
    names (nested ones too); `roots`: the image paths of the files the command line names (`-r`);
    `constraints`: image paths of `-c` files; `platform`: uv's `--python-platform` (x86_64-manylinux_2_36)."""

    specs: tuple[str, ...]
    roots: tuple[str, ...]
    constraints: tuple[str, ...]
    files: tuple[tuple[str, str], ...]
    python: str
    platform: str
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    no_deps: bool = False
    pre: bool = False
    best_match: bool = True  # pip takes the best version across every index; uv the first index that has it


class ResolveError(ToolError):
    """The resolver could not answer (no uv, a refused index, a resolution that fails)."""


def index_problem(url: str, allow_hosts: Iterable[str]) -> str | None:
    """Why the resolver must not ask index `url` (a non-global address the command line did not allow,
    a scheme that is not http(s)), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{url}: malformed URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url}: not an http(s) index URL"
    policy = HostPolicy.make(None, allow_hosts)
    host = normal_host(parts.hostname)
    if not policy.checks_address(host):
        return None
    try:
        addresses = resolve(host, port or (443 if parts.scheme == "https" else 80))
    except OSError:
        return None  # it does not resolve here: uv will fail on it and say so
    return policy.refuse_addresses(host, addresses)


_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_INDEX_OPTION = re.compile(r"^(?:-i|--index-url|--extra-index-url)(?:\s*=\s*|\s+)(\S+)")
_SAFE_OPTION = re.compile(
    r"^(?:-r|--requirement|-c|--constraint|--only-binary|--no-binary|--prefer-binary|--pre|--hash|--require-hashes)\b"
)


def check_requirements(request: InstallRequest, allow_hosts: Iterable[str]) -> None:
    """Refuse what would make the resolver read or reach beyond the indexes the host policy allows: a
    local path or `file:` URL (it would be read on this machine, not in the image), `--find-links` and
    other options that name places, an index or a direct URL at a refused address. Raises ResolveError."""
    lines = [("the command line", spec) for spec in request.specs]
    lines += [(path, line) for path, text in request.files for line in text.replace("\\\n", " ").splitlines()]
    for where, raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        index = _INDEX_OPTION.match(line)
        urls = [index.group(1)] if index else _URL.findall(line)
        if line.startswith("-") and not index and not _SAFE_OPTION.match(line):
            raise ResolveError(["uv", "pip", "compile"], what=f"{where}: `{line.split()[0]}` is not followed")
        if not line.startswith("-") and (line.startswith((".", "/", "~")) or "file:" in line.lower()):
            raise ResolveError(["uv", "pip", "compile"], what=f"{where}: a local path ({line[:60]}) is not read")
        for url in urls:
            problem = index_problem(url, allow_hosts)
            if problem:
                raise ResolveError(["uv", "pip", "compile"], what=f"{where}: refused: {problem}")


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env["UV_NO_CONFIG"] = "1"
    return env


def _command(request: InstallRequest, root: Path, output: Path) -> list[str]:
    argv = ["pip", "compile", "--format", "pylock.toml", "--no-build", "--no-header", "--quiet", "--no-config"]
    argv += ["--python-version", request.python, "--python-platform", request.platform, "-o", str(output)]
    argv += ["--index-url", request.index_url or PYPI]
    for url in request.extra_index_urls:
        argv += ["--extra-index-url", url]
    if request.best_match and request.extra_index_urls:
        argv += ["--index-strategy", "unsafe-best-match"]
    if request.no_deps:
        argv.append("--no-deps")
    if request.pre:
        argv += ["--prerelease", "allow"]
    for path in request.constraints:
        argv += ["-c", str(root / path.lstrip("/"))]
    if request.specs:
        argv.append(str(root / "_command_line.in"))
    argv += [str(root / path.lstrip("/")) for path in request.roots]
    return argv


def resolve_install(
    request: InstallRequest, *, allow_hosts: Sequence[str] = (), uv: Sequence[str] | None = None, timeout: float = 600
) -> list[ResolvedWheel]:
    """The wheels `request` installs, one per package. Raises ResolveError (a refused index, uv missing
    or failing: its last error line is the message)."""
    for url in (request.index_url, *request.extra_index_urls):
        problem = index_problem(url, allow_hosts) if url else None
        if problem:
            raise ResolveError(["uv", "pip", "compile"], what=f"index refused: {problem}")
    check_requirements(request, allow_hosts)
    with tempfile.TemporaryDirectory(prefix="depaudit-resolve-") as tmp:
        root = Path(tmp) / "image"
        for path, text in request.files:
            relative = posixpath.normpath(path.lstrip("/"))
            if relative.startswith(".."):
                raise ResolveError(["uv", "pip", "compile"], what=f"{path}: not a path inside the image")
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        root.mkdir(exist_ok=True)
        if request.specs:
            (root / "_command_line.in").write_text("\n".join(request.specs) + "\n")
        output = Path(tmp) / "pylock.toml"
        argv = [
            *(uv or find_uv("to predict what a RUN line installs (uv resolves it)")),
            *_command(request, root, output),
        ]
        done = run_tool(argv, timeout=timeout, cwd=Path(tmp), env=_child_env(), check=False)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise ResolveError(argv, done.stderr, what="uv pip compile: " + (" ".join(lines[-3:]) or "failed")[:600])
        return read_pylock(output.read_text())


def read_pylock(text: str) -> list[ResolvedWheel]:
    """The wheel of each package of a pylock.toml uv wrote for one platform. Raises ResolveError for a
    package that has no wheel (a source distribution would have to be built)."""
    doc = tomllib.loads(text)
    wheels: list[ResolvedWheel] = []
    for package in doc.get("packages") or ():
        name, version = canonical_name(str(package.get("name", ""))), str(package.get("version", ""))
        choices = [w for w in package.get("wheels") or () if isinstance(w, dict) and w.get("url")]
        if not choices:
            raise ResolveError(
                ["uv", "pip", "compile"],
                what=f"{name} {version}: no wheel for this platform (only a source distribution)",
            )
        wheel = choices[0]
        url = str(wheel["url"])
        filename = unquote(url.rsplit("/", 1)[-1].split("#", 1)[0])
        size = wheel.get("size")
        wheels.append(ResolvedWheel(name, version, url, filename, size if isinstance(size, int) else None))
    return wheels
