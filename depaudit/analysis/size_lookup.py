"""Remote size look-ups on a package index: download size and installed (unpacked) size of wheels.

Everything that talks to an index over HTTP lives here, so the rest of depaudit stays pure.

* ``download_sizes``: ``HEAD`` (redirects followed) and its ``Content-Length``; when that is missing, a
  ``GET`` with ``Range: bytes=0-0`` and the total from ``Content-Range``.
* ``installed_sizes``: the sum of the uncompressed sizes in the wheel's zip central directory, read with
  range requests on the end of the file (end-of-central-directory record, ZIP64 locator and record, then
  the directory itself). The body of the wheel is never downloaded.

Only ``https`` URLs are fetched. Answers are cached on disk forever (wheel URLs are immutable), keyed by the
URL without its user information (a credential in a lock URL is never written to the cache); only
successes are cached. ``offline=True`` never imports httpx nor opens a socket. A failure for one URL is a
``SizeLookup`` with ``size=None`` and a short ``error``; nothing is raised for it.

httpx is imported lazily: importing this module costs only the standard library.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Awaitable, Callable, Generator, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from depaudit import fileio
from depaudit.analysis.bytecode import with_bytecode
from depaudit.analysis.host_policy import (
    HostPolicy,
    https_proxy_for,
    normal_host,
    resolve,
    url_problem,
    without_userinfo,
)
from depaudit.errors import InputError, OutputError

T = TypeVar("T")

if TYPE_CHECKING:
    import ssl

# asyncio, ssl, tempfile and httpx are imported where used: an offline scan never pays for them.

__all__ = [
    "CACHE_FILE_NAME",
    "DEFAULT_DEADLINE",
    "IndexClient",
    "Page",
    "SizeLookup",
    "WheelListing",
    "ZipFormatError",
    "zip_unpacked_size",
]

CACHE_FILE_NAME = "sizes-v1.json"
FILES_CACHE_NAME = "index-files-v1.json"  # where a lock's filename lives on its index, and its size
PEP691_JSON = "application/vnd.pypi.simple.v1+json"
_ANCHOR = re.compile(r"<a\s[^>]*?href=\"([^\"]+)\"[^>]*>([^<]+)</a>", re.IGNORECASE)
LISTINGS_DIR_NAME = "wheel-listings-v1"  # one JSON file per wheel URL, named by the URL's SHA-256
DEFAULT_DEADLINE = 60.0  # seconds for all look-ups of one run (the command line's --lookup-deadline)
CACHE_SCHEMA = 1
USER_AGENT = "depaudit (wheel size look-up)"

Progress = Callable[[int, int], None]


class Page(NamedTuple):
    """A fetched index page: its (decoded) body and content type, or None with a short ``error``;
    `digest`: what the caller's digest made of it (the body is then dropped). (A NamedTuple: a
    dataclass costs code generation at import, on every scan's start-up.)"""

    url: str
    body: bytes | None
    content_type: str
    error: str | None
    digest: object = None


PAGE_LIMIT = 64 * 1024 * 1024  # the largest index page read (PyPI's biggest project pages are a few MB)


class WheelListing(NamedTuple):
    """The members of one wheel, read from its zip central directory: (name, uncompressed size) each,
    or ``None`` with a short ``error``."""

    url: str
    members: tuple[tuple[str, int], ...] | None
    error: str | None = None


class SizeLookup(NamedTuple):
    """The answer for one URL: ``size`` in bytes, or ``None`` with a short ``error``."""

    url: str
    size: int | None
    error: str | None
    cached: bool


def _page_url(index: str, project: str) -> str:
    """The project page of a PEP 503 index (`https://pypi.org/simple/torch/`)."""
    return f"{index.rstrip('/')}/{project}/"


def _file_listing(page: Page) -> dict[str, tuple[str, int | None]]:
    """{filename: (absolute https URL, size or None)} from one project page (PEP 691 JSON, else PEP 503
    HTML); {} for a page that failed or cannot be read. Only URLs the host policy allows are kept."""
    import html
    from urllib.parse import urljoin

    if page.body is None:
        return {}
    listing: dict[str, tuple[str, int | None]] = {}
    if page.content_type.split(";")[0].strip() == PEP691_JSON:
        try:
            files = json.loads(page.body).get("files", [])
        except (ValueError, RecursionError, AttributeError):
            return {}
        for entry in files if isinstance(files, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str) and isinstance(entry.get("url"), str):
                size = entry.get("size")
                listing[entry["filename"]] = (urljoin(page.url, entry["url"]), size if type(size) is int else None)
    else:
        text = page.body.decode("utf-8", "replace")
        for href, name in _ANCHOR.findall(text):
            listing[html.unescape(name).strip()] = (urljoin(page.url, html.unescape(href)).split("#", 1)[0], None)
    return {name: item for name, item in listing.items() if url_problem(item[0]) is None}


# --------------------------------------------------------------------------------------------------
# Zip central directory (pure, no I/O): a generator asks for byte ranges and returns the total.
# --------------------------------------------------------------------------------------------------


class ZipFormatError(ValueError):
    """The bytes are not a readable zip archive (message says what is wrong)."""


class _EndRecordNotFound(ZipFormatError):
    pass


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory, 22 bytes
_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header, 46 bytes
_CENTRAL_SIG = b"PK\x01\x02"
_MAX_COMMENT = 0xFFFF
# A first suffix request of this size holds the end record and, for most wheels, the whole directory.
INITIAL_TAIL = 16 * 1024
# Enough for the longest possible comment plus the end record and both ZIP64 structures.
MAX_TAIL = _MAX_COMMENT + _EOCD.size + _ZIP64_LOCATOR.size + _ZIP64_EOCD.size
# Refuse absurd directories rather than download most of a file (torch's is a few MB).
MAX_DIRECTORY = 64 * 1024 * 1024

# (absolute start, length) of bytes the parser still needs.
RangeRequest = tuple[int, int]


def _find_end_record(tail: bytes) -> int:
    """Return the index in ``tail`` of the end-of-central-directory record."""
    lowest = max(0, len(tail) - _EOCD.size - _MAX_COMMENT)
    fallback = -1
    pos = tail.rfind(_EOCD_SIG, lowest)
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            comment_len = _EOCD.unpack_from(tail, pos)[7]
            end = pos + _EOCD.size + comment_len
            if end == len(tail):
                return pos  # the record whose comment runs exactly to the end of the file
            if end < len(tail) and fallback < 0:
                fallback = pos  # trailing bytes after the comment: tolerated as zipfile does
        pos = tail.rfind(_EOCD_SIG, lowest, pos)
    if fallback >= 0:
        return fallback
    raise _EndRecordNotFound("no end of central directory record")


Weigh = Callable[[str, int], int]  # (member name, uncompressed size) -> bytes it counts for


def _unpacked_size_steps(
    tail: bytes, tail_start: int, weigh: Weigh | None = None
) -> Generator[RangeRequest, bytes, int]:
    """Yield byte ranges not in ``tail`` (receiving their bytes); return the sum of uncompressed sizes
    (each passed through ``weigh`` when given).

    ``tail`` is the end of the archive and starts at absolute offset ``tail_start``.
    Raises ZipFormatError when the bytes do not describe a zip archive.
    """

    def read(start: int, length: int) -> Generator[RangeRequest, bytes, bytes]:
        if start < 0 or length < 0:
            raise ZipFormatError("offset out of range")
        rel = start - tail_start
        if rel >= 0 and rel + length <= len(tail):
            return tail[rel : rel + length]
        data = yield (start, length)
        if len(data) != length:
            raise ZipFormatError("truncated archive")
        return data

    at = _find_end_record(tail)
    _, disk, cd_disk, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    end_record = tail_start + at
    if end_record >= _ZIP64_LOCATOR.size:
        locator = yield from read(end_record - _ZIP64_LOCATOR.size, _ZIP64_LOCATOR.size)
        if locator[:4] == _ZIP64_LOCATOR_SIG:
            record_offset = _ZIP64_LOCATOR.unpack(locator)[2]
            record = yield from read(record_offset, _ZIP64_EOCD.size)
            fields = _ZIP64_EOCD.unpack(record)
            if fields[0] != _ZIP64_EOCD_SIG:
                raise ZipFormatError("bad ZIP64 end of central directory record")
            disk, cd_disk, entries, cd_size, cd_offset = fields[4], fields[5], fields[7], fields[8], fields[9]
    if disk != 0 or cd_disk != 0:
        raise ZipFormatError("multi-disk archive")
    if cd_size > MAX_DIRECTORY:
        raise ZipFormatError(f"central directory too large ({cd_size} bytes)")
    directory = yield from read(cd_offset, cd_size)
    return _sum_central_directory(directory, entries, weigh)


def _sum_central_directory(directory: bytes, entries: int, weigh: Weigh | None = None) -> int:
    """Return the sum of uncompressed sizes of the ``entries`` headers in ``directory`` (each passed
    through ``weigh(name, size)`` when given)."""
    total = 0
    pos = 0
    for _ in range(entries):
        if pos + _CENTRAL.size > len(directory):
            raise ZipFormatError("central directory shorter than its entry count")
        header = _CENTRAL.unpack_from(directory, pos)
        if header[0] != _CENTRAL_SIG:
            raise ZipFormatError("bad central directory entry")
        size, name_len, extra_len, comment_len = header[11], header[12], header[13], header[14]
        extra_at = pos + _CENTRAL.size + name_len
        pos = extra_at + extra_len + comment_len
        if pos > len(directory):
            raise ZipFormatError("central directory entry runs past the directory")
        if size == 0xFFFFFFFF:
            size = _zip64_uncompressed_size(directory[extra_at : extra_at + extra_len])
        if weigh is not None:
            size = weigh(directory[extra_at - name_len : extra_at].decode("utf-8", "replace"), size)
        total += size
    return total


def _zip64_uncompressed_size(extra: bytes) -> int:
    """Return the uncompressed size from a ZIP64 extra field (it comes first when the size overflowed)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001 and length >= 8 and pos + 4 + 8 <= len(extra):
            return int(struct.unpack_from("<Q", extra, pos + 4)[0])
        pos += 4 + length
    raise ZipFormatError("entry size overflows but has no ZIP64 extra field")


def zip_unpacked_size(data: bytes, tail_size: int = INITIAL_TAIL, weigh: Weigh | None = None) -> int:
    """Return the sum of uncompressed member sizes of the zip ``data``, read the way the client reads it
    (each through ``weigh(name, size)`` when given).

    Starts from the last ``tail_size`` bytes and reads only what the parser asks for. Raises ZipFormatError.
    """
    for size in (tail_size, MAX_TAIL):
        start = max(0, len(data) - size)
        steps = _unpacked_size_steps(data[start:], start, weigh)
        try:
            request = next(steps)
            while True:
                offset, length = request
                request = steps.send(data[offset : offset + length])
        except StopIteration as done:
            return int(done.value)
        except _EndRecordNotFound:
            if start == 0 or size >= MAX_TAIL:
                raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------------
# On-disk cache
# --------------------------------------------------------------------------------------------------

_KINDS = ("download", "installed", "bytecode")


def _read_cache_file(path: Path) -> dict[str, dict[str, int]]:
    """Return the valid entries of the cache file; anything unreadable (or not a regular file) counts
    as empty."""
    empty: dict[str, dict[str, int]] = {kind: {} for kind in _KINDS}
    try:
        raw = json.loads(fileio.read_bytes(path, "size cache"))
    except (InputError, ValueError, RecursionError):
        return empty
    if not isinstance(raw, dict) or raw.get("schema") != CACHE_SCHEMA:
        return empty
    for kind in _KINDS:
        table = raw.get(kind)
        if isinstance(table, dict):
            empty[kind] = {
                url: size for url, size in table.items() if isinstance(url, str) and type(size) is int and size >= 0
            }
    return empty


def _write_cache_file(path: Path, tables: dict[str, dict[str, int]]) -> None:
    """Write ``tables`` through depaudit's one writer (temp file beside it, then rename).
    Raises OSError or OutputError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # "bytecode" (an estimate, added later) is written only once used, so older readers see the same file.
    document = {
        "schema": CACHE_SCHEMA,
        **{kind: dict(sorted(tables[kind].items())) for kind in _KINDS if kind != "bytecode" or tables[kind]},
    }
    fileio.write_text(path, json.dumps(document, separators=(",", ":")) + "\n")


# --------------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------------


class _Failure(Exception):
    """One URL's look-up failed; ``reason`` goes into SizeLookup.error."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class _NoRange(_Failure):
    def __init__(self) -> None:
        super().__init__("server ignores range requests")


_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_MAX_RETRY_AFTER = 10.0


def _status_failure(response: Any) -> _Failure:
    code = response.status_code
    retryable = code == 429 or code >= 500
    retry_after = None
    value = response.headers.get("retry-after")
    if retryable and value is not None:
        try:
            retry_after = min(max(float(value), 0.0), _MAX_RETRY_AFTER)
        except ValueError:
            retry_after = None
    return _Failure(f"HTTP {code}", retryable=retryable, retry_after=retry_after)


def _parse_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


async def _precheck(policy: HostPolicy, host: str, port: int, timeout: float) -> None:
    """Refuse (raise _Failure) a request whose host the policy refuses by name, or that resolves to a
    non-global address. When the name does not resolve here but a proxy would carry the request, the
    address cannot be checked: refused unless the host is exempt from the check."""
    import asyncio

    refused = policy.name_problem(host)
    if refused:
        raise _Failure(refused)
    if not policy.checks_address(host):
        return
    try:
        addresses = await asyncio.wait_for(asyncio.to_thread(resolve, host, port), timeout)
    except (UnicodeError, ValueError):  # the resolver's IDNA encoding refuses the name
        raise _Failure(f"connection failed ({normal_host(host)} is not a valid host name)") from None
    except (TimeoutError, OSError):
        if https_proxy_for(host):
            raise _Failure(
                f"cannot check where {normal_host(host)} resolves (a proxy carries the request): "
                f"--allow-host {normal_host(host)} to permit"
            ) from None
        raise _Failure(f"connection failed ({normal_host(host)} does not resolve)") from None
    refused = policy.refuse_addresses(host, addresses)
    if refused:
        raise _Failure(refused)


def _guarded_transport(ssl_context: Any, limits: Any, policy: HostPolicy) -> Any:
    """An httpx transport whose connection pool connects only to addresses the policy accepts."""
    import httpcore
    import httpx

    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    # httpx has no public hook for the network backend: the pool is rebuilt with the same settings and
    # the guard (tests/analysis/test_size_lookup.py checks that a client built this way goes through it).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        network_backend=_GuardedBackend(policy),
    )
    return transport


def _guarded_backend_class() -> type:
    import httpcore

    class GuardedBackend(httpcore.AsyncNetworkBackend):
        """Resolves each host itself, refuses addresses the policy does not accept, and connects to an
        accepted address (TLS still verifies the certificate against the host name)."""

        def __init__(self, policy: HostPolicy) -> None:
            self._policy = policy
            self._inner = httpcore.AnyIOBackend()

        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            import asyncio

            if not self._policy.checks_address(host):
                return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            try:
                addresses = await asyncio.to_thread(resolve, host, port)
            except (OSError, UnicodeError, ValueError) as exc:
                raise httpcore.ConnectError(str(exc)) from None
            refused = self._policy.refuse_addresses(host, addresses)
            if refused:
                raise _Failure(refused)
            return await self._inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

        async def sleep(self, seconds: float) -> None:
            await self._inner.sleep(seconds)

    return GuardedBackend


def _GuardedBackend(policy: HostPolicy) -> Any:
    return _guarded_backend_class()(policy)


class IndexClient:
    """Looks up wheel sizes on package indexes over https, with a cache and bounded retries.

    ``cache_dir`` None disables the cache. ``verify`` is what httpx takes (True uses ``SSL_CERT_FILE``
    when set, as httpx does), or a path to a CA bundle file or directory. ``retries`` is the number of
    extra attempts per request after a connect error, timeout, 5xx or 429 (never after another 4xx);
    ``backoff`` is the first pause in seconds, doubled each time. ``timeout`` bounds each attempt;
    ``deadline`` bounds all look-ups of the client together (counted from its first request): what has no
    answer by then is unknown ("look-up deadline of 60 s passed"), so a silent or slow index never holds
    a CI job for minutes.
    ``hosts`` says where requests may go (see `depaudit.analysis.host_policy`): by default any https host
    that resolves only to global addresses.
    """

    def __init__(
        self,
        cache_dir: Path | None,
        *,
        offline: bool = False,
        concurrency: int = 16,
        timeout: float = 10.0,
        retries: int = 2,
        verify: ssl.SSLContext | str | bool = True,
        backoff: float = 0.5,
        hosts: HostPolicy | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        if backoff < 0:
            raise ValueError("backoff must be >= 0")
        if deadline is not None and not deadline > 0:
            raise ValueError("deadline must be positive")
        self.cache_path = Path(cache_dir) / CACHE_FILE_NAME if cache_dir is not None else None
        self.files_path = Path(cache_dir) / FILES_CACHE_NAME if cache_dir is not None else None
        self.offline = offline
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.verify = verify
        self.hosts = hosts or HostPolicy()  # default: any host by name, only global addresses
        self.deadline = deadline  # seconds for all look-ups of this client, None: no overall limit
        self.cache_write_error: str | None = None  # set when the cache could not be saved
        self._cache: dict[str, dict[str, int]] | None = None
        self._first_request: float | None = None  # monotonic time the deadline counts from

    # -- public -----------------------------------------------------------------------------------

    def download_sizes(self, urls: Iterable[str], progress: Progress | None = None) -> dict[str, SizeLookup]:
        """Return {url: SizeLookup} with each wheel's download size (its Content-Length).

        ``progress(done, total)`` is called with 0 first, then after each URL that needs the network;
        ``total`` counts only those URLs. Per-URL failures are SizeLookups with an error, never raised.
        """
        return self._lookup("download", urls, progress)

    def installed_sizes(self, urls: Iterable[str], progress: Progress | None = None) -> dict[str, SizeLookup]:
        """Return {url: SizeLookup} with each wheel's unpacked size, read from its zip central directory.

        Uses HTTP range requests on the end of the file; a server that ignores ranges gives an error
        ("server ignores range requests") rather than a download. Same progress contract as download_sizes.
        """
        return self._lookup("installed", urls, progress)

    def bytecode_sizes(self, urls: Iterable[str], progress: Progress | None = None) -> dict[str, SizeLookup]:
        """Like installed_sizes, plus the estimated `.pyc` bytes an installer that compiles bytecode
        writes for each module (``analysis.bytecode``)."""
        return self._lookup("bytecode", urls, progress)

    def project_files(self, pages: Iterable[tuple[str, str, frozenset[str]]]) -> dict[str, tuple[str, int | None]]:
        """Locate files a lock names only by filename (poetry.lock, pdm.lock): for each (index URL,
        project, filenames), the project's page on that index (PEP 691 JSON, else PEP 503 HTML) gives
        each file's URL and, where the index says it (PEP 700), its size. Returns {filename: (url,
        size)} for the files found; answers are cached (`FILES_CACHE_NAME`, keyed by index and
        filename: a file's URL and size never change). Offline, only the cache answers."""
        found: dict[str, tuple[str, int | None]] = {}
        cache = self._files_cache()
        missing: list[tuple[str, str, frozenset[str]]] = []
        for index, project, names in pages:
            hits = {name: cache[f"{index}|{name}"] for name in names if f"{index}|{name}" in cache}
            found.update(hits)
            if len(hits) < len(names) and not self.offline:
                missing.append((index, project, names - set(hits)))
        if missing:
            urls = [_page_url(index, project) for index, project, _ in missing]
            fetched = self.fetch_pages(urls, f"{PEP691_JSON}, text/html;q=0.1", digest=_file_listing)
            added = {}
            for (index, _, names), url in zip(missing, urls, strict=True):
                listing = cast(dict[str, tuple[str, int | None]], fetched[url].digest or {})
                for name in names & set(listing):
                    found[name] = added[f"{index}|{name}"] = listing[name]
            if added:
                self._save_files_cache(added)
        return found

    def wheel_listings(self, urls: Iterable[str], progress: Progress | None = None) -> dict[str, WheelListing]:
        """Return {url: WheelListing}: every member of each wheel with its uncompressed size, read from
        the zip central directory with range requests (the body is never downloaded). Cached on disk per
        URL like the sizes; same progress contract as download_sizes."""
        results: dict[str, WheelListing] = {}
        pending: list[str] = []
        for url in dict.fromkeys(urls):
            problem = url_problem(url)
            cached = None if problem else self._cached_listing(url)
            if problem or cached is not None:
                results[url] = WheelListing(url, cached, problem)
            elif self.offline:
                results[url] = WheelListing(url, None, "offline")
            else:
                pending.append(url)
        if pending:
            fetched: dict[str, WheelListing] = self._run(self._fetch_listings(pending, progress))
            for listing in fetched.values():
                if listing.members is not None:
                    self._store_listing(listing)
            results.update(fetched)
        return results

    def cacheable(self, url: str) -> bool | None:
        """Whether an HTTP cache such as pip's may keep the answer for `url`: its response carries
        freshness (`Cache-Control: max-age`) or a validator (`ETag`, `Last-Modified`) and no `no-store`.
        None when it cannot be asked (offline, refused, failed)."""
        if self.offline or url_problem(url):
            return None

        async def ask() -> bool | None:
            import httpx

            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            async with self._client(limits) as client:

                async def head() -> Any:
                    return await client.head(url)

                try:
                    response = await self._attempts(head)
                except _Failure:
                    return None
            if response.status_code >= 400:
                return None
            control = response.headers.get("cache-control", "").lower()
            if "no-store" in control:
                return False
            return "max-age" in control or "etag" in response.headers or "last-modified" in response.headers

        answer: bool | None = self._run(ask())
        return answer

    def _listing_path(self, url: str) -> Path | None:
        if self.cache_path is None:
            return None
        import hashlib

        return self.cache_path.parent / LISTINGS_DIR_NAME / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def _cached_listing(self, url: str) -> tuple[tuple[str, int], ...] | None:
        path = self._listing_path(url)
        if path is None or not path.is_file():
            return None
        try:
            doc = json.loads(fileio.read_bytes(path, "wheel listing cache"))
        except (InputError, ValueError, RecursionError):
            return None
        members = doc.get("members") if isinstance(doc, dict) and doc.get("url") == url else None
        if not isinstance(members, list) or not all(
            isinstance(m, list) and len(m) == 2 and isinstance(m[0], str) and type(m[1]) is int for m in members
        ):
            return None
        return tuple((name, size) for name, size in members)

    def _store_listing(self, listing: WheelListing) -> None:
        path = self._listing_path(listing.url)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            doc = {"url": listing.url, "members": [list(m) for m in listing.members or ()]}
            fileio.write_text(path, json.dumps(doc, separators=(",", ":")) + "\n")
        except (OSError, OutputError) as exc:
            self.cache_write_error = f"{path}: {exc}"

    async def _fetch_listings(self, urls: list[str], progress: Progress | None) -> dict[str, WheelListing]:
        import asyncio

        import httpx

        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        semaphore = asyncio.Semaphore(self.concurrency)
        done = 0
        if progress is not None:
            progress(0, len(urls))

        async def one(url: str) -> WheelListing:
            nonlocal done
            members: list[tuple[str, int]] = []

            def collect(name: str, size: int) -> int:
                members.append((name, size))
                return size

            async with semaphore:
                try:
                    await self._installed_size(client, url, collect)
                    result = WheelListing(url, tuple(members))
                except _Failure as failure:
                    result = WheelListing(url, None, failure.reason)
            done += 1
            if progress is not None:
                progress(done, len(urls))
            return result

        async with self._client(limits) as client:
            answers = await asyncio.gather(*(one(url) for url in urls))
        return {answer.url: answer for answer in answers}

    def fetch_pages(
        self,
        urls: Iterable[str],
        accept: str,
        progress: Progress | None = None,
        digest: Callable[[Page], object] | None = None,
    ) -> dict[str, Page]:
        """GET each index page (`Accept: accept`, gzip allowed) through the same host policy, retries
        and deadline as the size look-ups; {url: Page}. A page over PAGE_LIMIT bytes, an HTTP error or a
        refused URL is a Page with an error, never raised. `digest(page)` (it must not raise) is applied
        to each page as it arrives, between network waits, and only its result is kept, so a run never
        holds every page in memory at once. Pages are not cached (callers cache what they derive, see
        `remember`); offline, every page is "offline"."""
        results: dict[str, Page] = {}
        pending: list[str] = []
        for url in dict.fromkeys(urls):
            problem = "offline" if self.offline else url_problem(url)
            if problem:
                results[url] = Page(url, None, "", problem)
            else:
                pending.append(url)
        if pending:
            results.update(self._run(self._fetch_pages(pending, accept, progress, digest)))
        return results

    def cached_sizes(self, kind: str = "download") -> dict[str, int]:
        """The cache's `kind` table: {URL without user information: bytes} (read once per client)."""
        return self._load_cache()[kind]

    def remember(self, sizes: dict[str, int], kind: str = "download") -> None:
        """Add sizes learnt elsewhere (an index page) to the cache, keyed by URL without user
        information, and save it."""
        added = {without_userinfo(url): size for url, size in sizes.items()}
        if added:
            self._load_cache()[kind].update(added)
            self._save_cache(kind, added)

    # -- lookup orchestration ---------------------------------------------------------------------

    def _lookup(self, kind: str, urls: Iterable[str], progress: Progress | None) -> dict[str, SizeLookup]:
        if isinstance(urls, str):
            raise TypeError("urls must be an iterable of URL strings, not one string")
        results: dict[str, SizeLookup] = {}
        pending: dict[str, None] = {}  # ordered set
        cache = self._load_cache()[kind]
        for url in urls:
            if not isinstance(url, str):
                raise TypeError(f"URL must be a string, got {type(url).__name__}")
            if url in results or url in pending:
                continue
            problem = url_problem(url)
            key = without_userinfo(url)  # the cache never holds a credential
            if problem:
                results[url] = SizeLookup(url, None, problem, False)
            elif key in cache:
                results[url] = SizeLookup(url, cache[key], None, True)
            elif self.offline:
                results[url] = SizeLookup(url, None, "offline", False)
            else:
                pending[url] = None
        if pending:
            fetched = self._run(self._fetch_all(kind, list(pending), progress))
            added = {without_userinfo(url): r.size for url, r in fetched.items() if r.size is not None}
            if added:
                cache.update(added)
                self._save_cache(kind, added)
            results.update(fetched)
        return results

    def _load_cache(self) -> dict[str, dict[str, int]]:
        if self._cache is None:
            if self.cache_path is None:
                self._cache = {kind: {} for kind in _KINDS}
            else:
                self._cache = _read_cache_file(self.cache_path)
        return self._cache

    def _save_cache(self, kind: str, added: dict[str, int]) -> None:
        if self.cache_path is None:
            return
        # Merge with what is on disk now, so concurrent runs do not drop each other's entries.
        tables = _read_cache_file(self.cache_path)
        for name in _KINDS:
            tables[name].update(self._cache[name] if self._cache else {})
        tables[kind].update(added)
        try:
            _write_cache_file(self.cache_path, tables)
            self.cache_write_error = None
        except OSError as exc:
            self.cache_write_error = f"{self.cache_path}: {exc.strerror or exc}"
        except OutputError as exc:
            self.cache_write_error = str(exc)

    def _files_cache(self) -> dict[str, tuple[str, int | None]]:
        if self.files_path is None:
            return {}
        try:
            raw = json.loads(fileio.read_bytes(self.files_path, "index file cache"))
        except (InputError, ValueError, RecursionError):
            return {}
        table = raw.get("files") if isinstance(raw, dict) and raw.get("schema") == CACHE_SCHEMA else None
        out: dict[str, tuple[str, int | None]] = {}
        for key, value in (table or {}).items() if isinstance(table, dict) else ():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                size = value[1] if type(value[1]) is int and value[1] >= 0 else None
                out[key] = (value[0], size)
        return out

    def _save_files_cache(self, added: dict[str, tuple[str, int | None]]) -> None:
        if self.files_path is None:
            return
        table = {**self._files_cache(), **added}
        document = {"schema": CACHE_SCHEMA, "files": {k: list(v) for k, v in sorted(table.items())}}
        try:
            self.files_path.parent.mkdir(parents=True, exist_ok=True)
            fileio.write_text(self.files_path, json.dumps(document, separators=(",", ":")) + "\n")
        except OSError as exc:
            self.cache_write_error = f"{self.files_path}: {exc.strerror or exc}"
        except OutputError as exc:
            self.cache_write_error = str(exc)

    @staticmethod
    def _run(coro: Any) -> Any:
        """Run ``coro`` to completion, also when the calling thread already runs an event loop."""
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()

    def _ssl_context(self) -> ssl.SSLContext:
        import ssl

        import httpx

        if isinstance(self.verify, str):
            if os.path.isdir(self.verify):
                return ssl.create_default_context(capath=self.verify)
            return ssl.create_default_context(cafile=self.verify)
        if isinstance(self.verify, ssl.SSLContext):
            return self.verify
        return httpx.create_ssl_context(verify=self.verify, trust_env=True)

    async def _fetch_all(self, kind: str, urls: list[str], progress: Progress | None) -> dict[str, SizeLookup]:
        fetch = {"download": self._download_size, "installed": self._installed_size, "bytecode": self._bytecode_size}[
            kind
        ]

        async def one(client: Any, url: str) -> SizeLookup:
            try:
                return SizeLookup(url, await fetch(client, url), None, False)
            except _Failure as failure:
                return SizeLookup(url, None, failure.reason, False)

        answers = await self._run_jobs(urls, one, progress)
        return {
            url: answers.get(url) or SizeLookup(url, None, self.deadline_reason(), False) for url in dict.fromkeys(urls)
        }

    async def _fetch_pages(
        self, urls: list[str], accept: str, progress: Progress | None, digest: Callable[[Page], object] | None
    ) -> dict[str, Page]:
        async def one(client: Any, url: str) -> Page:
            try:
                body, content_type = await self._attempts(partial(self._get_page, client, url, accept))
            except _Failure as failure:
                return Page(url, None, "", failure.reason)
            page = Page(url, body, content_type, None)
            return page if digest is None else Page(url, None, content_type, None, digest(page))

        answers = await self._run_jobs(urls, one, progress)
        return {url: answers.get(url) or Page(url, None, "", self.deadline_reason()) for url in urls}

    async def _get_page(self, client: Any, url: str, accept: str) -> tuple[bytes, str]:
        """GET one page, decoded (gzip), at most PAGE_LIMIT bytes: (body, content type)."""
        headers = {"Accept": accept, "Accept-Encoding": "gzip"}
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise _status_failure(response)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > PAGE_LIMIT:
                    raise _Failure(f"index page over {PAGE_LIMIT // (1024 * 1024)} MB")
            return bytes(body), response.headers.get("content-type", "")

    def deadline_reason(self) -> str:
        """Why a look-up has no answer once the deadline passed (the size stays unknown)."""
        return f"look-up deadline of {self.deadline:g} s passed"

    def _remaining(self) -> float | None:
        """Seconds left of the deadline, counted from this client's first network batch (None: no limit)."""
        import time

        if self.deadline is None:
            return None
        if self._first_request is None:
            self._first_request = time.monotonic()
        return max(0.0, self.deadline - (time.monotonic() - self._first_request))

    async def _run_jobs(
        self, keys: list[str], job: Callable[[Any, str], Awaitable[T]], progress: Progress | None
    ) -> dict[str, T]:
        """`job(client, key)` for every key, `concurrency` at a time, on one guarded client; returns the
        answers that came before the deadline (what is left of `self.deadline`), the rest
        cancelled and left out. `job` turns its own failures into answers."""
        import asyncio

        import httpx

        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        semaphore = asyncio.Semaphore(self.concurrency)
        done = 0
        if progress is not None:
            progress(0, len(keys))

        async def one(client: Any, key: str) -> T:
            nonlocal done
            async with semaphore:
                answer = await job(client, key)
            done += 1
            if progress is not None:
                progress(done, len(keys))
            return answer

        remaining = self._remaining()
        if not keys or remaining == 0:
            return {}
        async with self._client(limits) as client:
            tasks = {asyncio.ensure_future(one(client, key)): key for key in dict.fromkeys(keys)}
            finished, late = await asyncio.wait(tasks, timeout=remaining)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)  # let each cancelled request close its connection
        return {tasks[task]: task.result() for task in finished}

    def _client(self, limits: Any) -> Any:
        """The httpx client: every request (redirects too) passes the host policy first; without an
        environment proxy, connections go through the address guard as well (checked at connect time,
        so a name that resolves differently the second time gains nothing)."""
        import httpx

        policy = self.hosts

        async def guard(request: Any) -> None:
            if request.url.scheme != "https":
                raise _Failure("redirect to non-https URL")
            host = request.url.raw_host.decode("ascii")  # the IDNA (xn--) form the lock and DNS use
            await _precheck(policy, host, request.url.port or 443, self.timeout)

        import urllib.request  # ~20 ms: only the network path pays for it

        ssl_context = self._ssl_context()
        direct = not urllib.request.getproxies_environment()
        transport = _guarded_transport(ssl_context, limits, policy) if direct else None
        return httpx.AsyncClient(
            verify=ssl_context,
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            event_hooks={"request": [guard]},
            trust_env=True,
            transport=transport,
        )

    # -- one request, with retries ----------------------------------------------------------------

    async def _attempts(self, request: Callable[[], Awaitable[T]]) -> T:
        """Await ``request()`` up to 1 + retries times, pausing with exponential backoff between tries."""
        import asyncio
        import random

        for attempt in range(self.retries + 1):
            try:
                return await asyncio.wait_for(self._translate(request), self.timeout)
            except TimeoutError:
                failure = _Failure("timeout", retryable=True)
            except _Failure as exc:
                failure = exc
            if not failure.retryable or attempt == self.retries:
                raise failure
            pause = self.backoff * (2**attempt) * (0.75 + random.random() / 2)
            if failure.retry_after is not None:
                pause = max(pause, failure.retry_after)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    @staticmethod
    async def _translate(request: Callable[[], Awaitable[T]]) -> T:
        """Await ``request()``, turning httpx exceptions into _Failure with a short reason."""
        import httpx

        try:
            return await request()
        except httpx.TimeoutException:
            raise _Failure("timeout", retryable=True) from None
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                raise _Failure("TLS certificate not trusted") from None
            if "SSL" in text or "TLS" in text:
                raise _Failure("TLS error", retryable=True) from None
            raise _Failure("connection failed", retryable=True) from None
        except httpx.TooManyRedirects:
            raise _Failure("too many redirects") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError):
            raise _Failure("connection error", retryable=True) from None
        except httpx.UnsupportedProtocol:
            raise _Failure("redirect to non-https URL") from None
        except (httpx.InvalidURL, UnicodeError):  # a host httpx or idna refuses (`xn--a`: no IDNA label)
            raise _Failure("malformed URL (host refused)") from None
        except httpx.HTTPError as exc:
            raise _Failure(f"request failed ({type(exc).__name__})") from None

    # -- download size ----------------------------------------------------------------------------

    async def _download_size(self, client: Any, url: str) -> int:
        async def head() -> int | None:
            response = await client.head(url)
            if response.status_code in (405, 501):
                return None  # HEAD not allowed: ask with a ranged GET instead
            if response.status_code >= 400:
                raise _status_failure(response)
            if response.status_code >= 300:
                raise _Failure(f"HTTP {response.status_code}")
            return _parse_length(response.headers.get("content-length"))

        size = await self._attempts(head)
        if size is None:
            size = await self._attempts(lambda: self._ranged_total(client, url))
        return size

    async def _ranged_total(self, client: Any, url: str) -> int:
        async with client.stream("GET", url, headers={"Range": "bytes=0-0"}) as response:
            if response.status_code == 206:
                match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if match and match.group(3) != "*":
                    return int(match.group(3))
                raise _Failure("no size in Content-Range")
            if response.status_code == 200:  # range ignored; the length is still the answer (body unread)
                length = _parse_length(response.headers.get("content-length"))
                if length is not None:
                    return length
                raise _Failure("no content-length")
            raise _status_failure(response)

    # -- installed size ---------------------------------------------------------------------------

    async def _bytecode_size(self, client: Any, url: str) -> int:
        return await self._installed_size(client, url, with_bytecode)

    async def _installed_size(self, client: Any, url: str, weigh: Weigh | None = None) -> int:
        start, tail = await self._attempts(lambda: self._get_range(client, url, f"-{INITIAL_TAIL}"))
        try:
            return await self._read_directory(client, url, _unpacked_size_steps(tail, start, weigh))
        except _EndRecordNotFound:
            if start == 0:
                raise _Failure("not a zip archive (no end of central directory)") from None
        # A zip comment longer than the first tail: fetch the largest tail the format allows.
        start, tail = await self._attempts(lambda: self._get_range(client, url, f"-{MAX_TAIL}"))
        try:
            return await self._read_directory(client, url, _unpacked_size_steps(tail, start, weigh))
        except _EndRecordNotFound:
            raise _Failure("not a zip archive (no end of central directory)") from None

    async def _read_directory(self, client: Any, url: str, steps: Generator[RangeRequest, bytes, int]) -> int:
        """Drive the parser, fetching each range it asks for; return its total."""
        try:
            request = next(steps)
            while True:
                offset, length = request
                data = b""
                if length > 0:
                    spec = f"{offset}-{offset + length - 1}"
                    data = (await self._attempts(partial(self._get_range, client, url, spec)))[1]
                request = steps.send(data)
        except StopIteration as done:
            return int(done.value)
        except _EndRecordNotFound:
            raise
        except ZipFormatError as exc:
            raise _Failure(f"not a zip archive ({exc})") from None

    async def _get_range(self, client: Any, url: str, spec: str) -> tuple[int, bytes]:
        """GET ``bytes=spec``; return (absolute start, bytes). Never reads a body the server sent whole."""
        async with client.stream("GET", url, headers={"Range": f"bytes={spec}"}) as response:
            if response.status_code == 200:
                raise _NoRange()
            if response.status_code != 206:
                raise _status_failure(response)
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not match:
                raise _Failure("bad Content-Range")
            start, end = int(match.group(1)), int(match.group(2))
            expected = end - start + 1
            if expected <= 0 or expected > MAX_DIRECTORY + MAX_TAIL:
                raise _Failure("bad Content-Range")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > expected:
                    raise _Failure("range response longer than announced")
            if len(body) != expected:
                raise _Failure("truncated range response", retryable=True)
            return start, bytes(body)
