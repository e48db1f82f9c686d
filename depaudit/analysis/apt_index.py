"""Debian package indexes and package contents, for predicting what `apt-get install` adds to an image.

Read from the mirror an image's `sources.list` names: `dists/SUITE/InRelease` (the sizes of the index files
`apt-get update` downloads), `Packages.xz` per component (every package's dependencies, sizes and file
name), and, for each package a prediction installs, the `.deb` itself: its control members and the files of
its data archive with their sizes, which is exactly what dpkg unpacks. Everything fetched is cached in the
depaudit cache folder (packages and their contents by SHA-256, indexes for a day); nothing is executed and
the signature of InRelease is not checked (the figures are sizes, never installs).

Like the wheel look-ups (`depaudit.analysis.size_lookup`), requests go only to hosts whose addresses are
global unless the command line allows a host (`--allow-host`); Debian mirrors are plain HTTP, so http is
allowed here, redirects are not followed to other schemes, and every answer is bounded in size.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import re
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from depaudit import fileio
from depaudit.analysis.host_policy import HostPolicy, normal_host, resolve
from depaudit.errors import InputError, OutputError, ToolError

MAX_INDEX = 256 << 20  # an uncompressed Packages file (bookworm main amd64: 50 MB)
MAX_DEB = 1 << 30
INDEX_TTL = 24 * 3600.0
CACHE_DIR_NAME = "apt-v1"
OFFICIAL_MIRRORS = frozenset(
    {"deb.debian.org", "security.debian.org", "archive.ubuntu.com", "security.ubuntu.com", "ports.ubuntu.com"}
)
"""Distribution mirrors whose addresses are not second-guessed: like pypi.org (host_policy.OPERATOR_RESOLVED),
where they resolve is the machine's resolver's choice (a local mirror, a proxy), not an image author's."""


@dataclass(frozen=True)
class AptSource:
    """One `deb URL SUITE COMPONENT...` entry of sources.list (or a deb822 `.sources` stanza)."""

    url: str
    suite: str
    components: tuple[str, ...]


def parse_sources(files: Mapping[str, str]) -> list[AptSource]:
    """The binary (`deb`) sources of `/etc/apt/sources.list`, `sources.list.d/*.list` and `*.sources`."""
    found: list[AptSource] = []
    for path, text in sorted(files.items()):
        if path.endswith(".sources"):
            found += _deb822_sources(text)
            continue
        for raw in text.splitlines():
            words = re.sub(r"\[[^\]]*\]", "", raw.split("#", 1)[0]).split()
            if len(words) >= 4 and words[0] == "deb":
                found.append(AptSource(words[1].rstrip("/"), words[2], tuple(words[3:])))
    return found


def _deb822_sources(text: str) -> Iterator[AptSource]:
    for stanza in re.split(r"\n\s*\n", text):
        fields = _fields(stanza)
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                yield AptSource(uri.rstrip("/"), suite, tuple(fields.get("components", "").split()))


def _fields(stanza: str) -> dict[str, str]:
    """A control-file stanza as {lower-case field: value} (continuation lines joined)."""
    fields: dict[str, str] = {}
    key = None
    for line in stanza.splitlines():
        if line.startswith((" ", "\t")) and key is not None:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


@dataclass(frozen=True)
class DebPackage:
    """A package of an index: what apt needs to resolve it and what it costs."""

    name: str
    version: str
    depends: tuple[tuple[str, ...], ...]  # each dependency: its alternatives
    recommends: tuple[tuple[str, ...], ...]
    provides: tuple[str, ...]
    filename: str
    size: int
    sha256: str
    base_url: str

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.filename}"


def _relations(text: str) -> tuple[tuple[str, ...], ...]:
    out = []
    for clause in text.split(","):
        names = tuple(re.sub(r"[\s(\[].*$", "", alt.strip()).split(":")[0] for alt in clause.split("|"))
        names = tuple(n for n in names if n)
        if names:
            out.append(names)
    return tuple(out)


def parse_packages(text: str, base_url: str) -> dict[str, DebPackage]:
    """A Packages index: {name: DebPackage} (the last stanza of a name wins)."""
    found: dict[str, DebPackage] = {}
    for stanza in text.split("\n\n"):
        f = _fields(stanza)
        name = f.get("package")
        if not name or "filename" not in f:
            continue
        found[name] = DebPackage(
            name,
            f.get("version", ""),
            _relations(f.get("pre-depends", "")) + _relations(f.get("depends", "")),
            _relations(f.get("recommends", "")),
            tuple(alt[0] for alt in _relations(f.get("provides", ""))),
            f["filename"],
            int(f.get("size", "0") or 0),
            f.get("sha256", ""),
            base_url,
        )
    return found


def parse_release_sizes(text: str) -> dict[str, int]:
    """{path: bytes} of the files a Release/InRelease lists (its SHA256 section)."""
    sizes: dict[str, int] = {}
    inside = False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line.strip() == "SHA256:"
            continue
        parts = line.split()
        if inside and len(parts) == 3 and parts[1].isdigit():
            sizes[parts[2]] = int(parts[1])
    return sizes


def installed_packages(status: str) -> dict[str, str]:
    """{name: version} of the packages dpkg's status file records as installed."""
    found = {}
    for stanza in status.split("\n\n"):
        f = _fields(stanza)
        if f.get("package") and f.get("status", "").endswith(" installed"):
            found[f["package"]] = f.get("version", "")
            for provided in _relations(f.get("provides", "")):
                found.setdefault(provided[0], "")
    return found


# ---------------------------------------------------------------------------------------------- .deb contents


@dataclass(frozen=True)
class DebContents:
    """What a .deb installs: (path, bytes, kind) of its data archive's members ("f" file, "l" symlink,
    "h" hard link, "d" folder), its control members (name -> bytes) and its control file's length."""

    files: tuple[tuple[str, int, str], ...]
    control: tuple[tuple[str, int], ...]
    control_size: int


def _ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        yield name, data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)


def _untar(name: str, blob: bytes) -> tarfile.TarFile:
    if name.endswith(".xz"):
        raw: bytes = lzma.decompress(blob)
    elif name.endswith(".gz"):
        raw = gzip.decompress(blob)
    elif name.endswith(".bz2"):
        raw = bz2.decompress(blob)
    elif name.endswith(".tar"):
        raw = blob
    else:
        raise ValueError(f"{name}: compression not supported (zstd needs the zstandard module)")
    return tarfile.open(fileobj=io.BytesIO(raw), mode="r:")


def read_deb(data: bytes) -> DebContents:
    """Parse a .deb. Raises ValueError (tarfile.TarError, lzma.LZMAError) when it is not one."""
    files: list[tuple[str, int, str]] = []
    control: list[tuple[str, int]] = []
    control_size = 0
    for name, blob in _ar_members(data):
        if name.startswith("control.tar"):
            with _untar(name, blob) as tar:
                for m in tar:
                    if m.isreg():
                        base = m.name.rsplit("/", 1)[-1]
                        control.append((base, m.size))
                        if base == "control":
                            control_size = m.size
        elif name.startswith("data.tar"):
            with _untar(name, blob) as tar:
                for m in tar:
                    path = m.name.removeprefix("./").lstrip("/")
                    if not path:
                        continue
                    kind = "d" if m.isdir() else "l" if m.issym() else "h" if m.islnk() else "f"
                    size = len(m.linkname) if m.issym() else m.size if m.isreg() else 0
                    files.append((path, size, kind))
    return DebContents(tuple(files), tuple(control), control_size)


# ---------------------------------------------------------------------------------------------- fetching


class AptFetchError(ToolError):
    """A mirror could not be read (refused, unreachable, not found)."""


@dataclass
class AptClient:
    """Fetches and caches mirror files (see the module docstring)."""

    cache_dir: Path | None
    offline: bool = False
    allow_hosts: tuple[str, ...] = ()
    timeout: float = 60.0
    _checked: dict[str, str | None] = field(default_factory=dict)

    def _cache(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / CACHE_DIR_NAME / hashlib.sha256(key.encode()).hexdigest()

    def _problem(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "not an http(s) URL"
        host = normal_host(parts.hostname)
        if host not in self._checked:
            policy = HostPolicy.make(None, (*self.allow_hosts, *OFFICIAL_MIRRORS))
            try:
                addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
                self._checked[host] = policy.refuse_addresses(host, addresses)
            except OSError:
                self._checked[host] = f"{host} does not resolve"
        return self._checked[host]

    def get(self, url: str, *, limit: int, ttl: float | None = None, key: str | None = None) -> bytes:
        """The body at `url` (from the cache when fresh). Raises AptFetchError."""
        cached = self._cache(key or url)
        if cached is not None and cached.is_file() and (ttl is None or time.time() - cached.stat().st_mtime < ttl):
            try:
                return fileio.read_bytes(cached, "apt cache", limit=limit)
            except InputError:
                pass
        if self.offline:
            raise AptFetchError(["GET", url], what=f"offline: {url} is not in the cache")
        problem = self._problem(url)
        if problem:
            raise AptFetchError(["GET", url], what=f"{url}: not fetched: {problem}")
        body = self._download(url, limit)
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                fileio.write_bytes(cached, body)
            except (OSError, OutputError):
                pass
        return body

    def _download(self, url: str, limit: int) -> bytes:
        import httpx  # only a prediction with apt lines pays for it

        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=True) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise AptFetchError(["GET", url], what=f"{url}: HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise AptFetchError(["GET", url], what=f"{url}: larger than {limit >> 20} MB")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise AptFetchError(["GET", url], what=f"{url}: {type(exc).__name__}") from None

    # -- indexes -------------------------------------------------------------------------------------

    def release_sizes(self, source: AptSource) -> dict[str, int]:
        text = self.get(f"{source.url}/dists/{source.suite}/InRelease", limit=16 << 20, ttl=INDEX_TTL)
        return parse_release_sizes(text.decode("utf-8", "replace"))

    def packages(self, source: AptSource, component: str, arch: str) -> dict[str, DebPackage]:
        url = f"{source.url}/dists/{source.suite}/{component}/binary-{arch}/Packages.xz"
        data = self.get(url, limit=MAX_INDEX, ttl=INDEX_TTL)
        try:
            text = lzma.decompress(data).decode("utf-8", "replace")
        except lzma.LZMAError:
            raise AptFetchError(["GET", url], what=f"{url}: not an xz file") from None
        return parse_packages(text, source.url)

    def contents(self, package: DebPackage) -> DebContents:
        """The files a package installs, from its .deb (cached by its SHA-256). Raises AptFetchError."""
        key = f"contents:{package.sha256 or package.url}"
        cached = self._cache(key)
        if cached is not None and cached.is_file():
            try:
                doc = json.loads(fileio.read_bytes(cached, "apt cache"))
                return DebContents(
                    tuple((p, s, k) for p, s, k in doc["files"]),
                    tuple((n, s) for n, s in doc["control"]),
                    doc["control_size"],
                )
            except (InputError, ValueError, KeyError, TypeError):
                pass
        data = self._deb(package)
        try:
            contents = read_deb(data)
        except (ValueError, tarfile.TarError, lzma.LZMAError, EOFError, OSError) as exc:
            raise AptFetchError(["GET", package.url], what=f"{package.name}: {exc}") from None
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                doc = {
                    "files": [list(f) for f in contents.files],
                    "control": [list(c) for c in contents.control],
                    "control_size": contents.control_size,
                }
                fileio.write_text(cached, json.dumps(doc, separators=(",", ":")))
            except (OSError, OutputError):
                pass
        return contents

    def _deb(self, package: DebPackage) -> bytes:
        if self.offline:
            raise AptFetchError(["GET", package.url], what=f"offline: {package.name}'s contents are not in the cache")
        problem = self._problem(package.url)
        if problem:
            raise AptFetchError(["GET", package.url], what=f"{package.url}: not fetched: {problem}")
        data = self._download(package.url, MAX_DEB)
        if package.sha256 and hashlib.sha256(data).hexdigest() != package.sha256:
            raise AptFetchError(
                ["GET", package.url], what=f"{package.name}: the .deb does not match the index's SHA-256"
            )
        return data


def merge_indexes(indexes: Iterable[Mapping[str, DebPackage]]) -> tuple[dict[str, DebPackage], dict[str, list[str]]]:
    """All packages of several indexes (a later index's version wins, as with updates and security
    suites listed after the main one) and, for each virtual name, the packages that provide it."""
    packages: dict[str, DebPackage] = {}
    for index in indexes:
        packages.update(index)
    providers: dict[str, list[str]] = {}
    for package in packages.values():
        for name in package.provides:
            providers.setdefault(name, []).append(package.name)
    return packages, providers
