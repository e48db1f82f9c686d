"""Wheel sizes as the index lists them (PEP 691 JSON project pages), to check the numbers in a lock.

A lock's `size` is input: a pull request can edit `size = 1` into it and uv neither checks nor minds
(`uv lock --check` and `uv sync` pass). The index's own number is the truth: the PEP 691 JSON project
page (`Accept: application/vnd.pypi.simple.v1+json`) lists every file of a project with its `size`
(PEP 700, API version 1.1), so one request per project answers for all of its wheels on every target.

`index_sizes` answers, for each wheel: from the size cache (wheel URL without user information ->
bytes: an earlier page or HEAD answer), else from its project's page (the wheels of the same version
listed there are cached too), else — an index that serves no JSON, a file the page does not list —
from a HEAD request on the wheel itself (`IndexClient.download_sizes`). Pages are fetched by
`analysis.size_lookup.IndexClient` (host policy, retries, deadline) and never cached themselves.

A page speaks only for files on its own host or that index's file hosts (pypi.org for
files.pythonhosted.org): a registry a pull request names cannot vouch for, or plant in the cache, the
size of a wheel served from somewhere else.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any, NamedTuple, cast
from urllib.parse import urljoin, urlsplit

from depaudit.analysis.host_policy import FILE_HOSTS, normal_host, url_problem, without_userinfo
from depaudit.analysis.size_lookup import IndexClient, Page, Progress, SizeLookup
from depaudit.names import canonical_name

ACCEPT = "application/vnd.pypi.simple.v1+json"
_JSON_TYPES = (ACCEPT, "application/json")


class WheelRef(NamedTuple):
    """A wheel a lock names: its package's registry (index URL), name and version, file name and URL."""

    registry: str
    name: str
    version: str | None
    filename: str
    url: str


class PageError(ValueError):
    """A project page that is not a PEP 691 JSON page with sizes (the message says what is wrong)."""


class Listed(NamedTuple):
    url: str
    size: int


def project_page_url(registry: str, name: str) -> str:
    """The PEP 503/691 page of project `name` under the index `registry` (`https://pypi.org/simple`
    -> `https://pypi.org/simple/numpy/`)."""
    return f"{registry.rstrip('/')}/{canonical_name(name)}/"


def listed_files(body: bytes, page_url: str, releases: Collection[tuple[str, str]] | None = None) -> dict[str, Listed]:
    """{filename: (absolute URL, size)} of every file a PEP 691 JSON page lists with a size — only the
    wheels of `releases` ((name, version) as a wheel file name spells them) when given: a popular
    project's page lists thousands of files, and resolving each URL would cost more than the request.
    Raises PageError for what is not such a page (other JSON, API version 2+, wrong types, nesting too
    deep)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise PageError(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise PageError("not a PEP 691 project page (no files list)")
    version = data.get("meta", {}).get("api-version") if isinstance(data.get("meta"), dict) else None
    if not isinstance(version, str) or not version.startswith("1."):
        raise PageError(f"unsupported index API version {str(version)[:20]!r}")
    out: dict[str, Listed] = {}
    for entry in data["files"]:
        listed = _entry(entry, page_url, releases)
        if listed is not None:
            out[listed[0]] = listed[1]
    return out


def _entry(entry: Any, page_url: str, releases: Collection[tuple[str, str]] | None) -> tuple[str, Listed] | None:
    if not isinstance(entry, dict):
        return None
    filename, url, size = entry.get("filename"), entry.get("url"), entry.get("size")
    if not isinstance(filename, str) or not isinstance(url, str) or type(size) is not int or size < 0:
        return None  # a file without a usable size: its wheel falls back to HEAD
    if releases is not None and _release(filename) not in releases:
        return None
    return filename, Listed(urljoin(page_url, url), size)


def _release(filename: str) -> tuple[str, str]:
    """(name, version) as a wheel file name spells them (`torch-2.8.0-cp311-…` -> ("torch", "2.8.0"))."""
    parts = filename.split("-", 2)
    return (parts[0], parts[1]) if len(parts) == 3 else (filename, "")


def index_sizes(
    client: IndexClient, wheels: Iterable[WheelRef], progress: Progress | None = None
) -> dict[str, SizeLookup]:
    """{wheel URL: SizeLookup} with each wheel's size as its index lists it (cache, project page, HEAD:
    see the module docstring). Failures are SizeLookups with an error, never raised."""
    wanted = list(dict.fromkeys(wheels))
    cached = client.cached_sizes("download")
    out: dict[str, SizeLookup] = {}
    todo: list[WheelRef] = []
    for wheel in wanted:
        size = cached.get(without_userinfo(wheel.url))
        if size is not None:
            out[wheel.url] = SizeLookup(wheel.url, size, None, True)
        else:
            todo.append(wheel)
    pages = {w: project_page_url(w.registry, w.name) for w in todo if url_problem(w.registry) is None}
    releases: dict[str, set[tuple[str, str]]] = {}
    for wheel, url in pages.items():
        releases.setdefault(url, set()).add(_release(wheel.filename))

    def digest(page: Page) -> Mapping[str, Listed]:
        return _parse(page, releases.get(page.url, set()))

    fetched = client.fetch_pages(list(releases), ACCEPT, progress, digest) if pages else {}
    parsed = {url: cast(Mapping[str, Listed], page.digest or {}) for url, page in fetched.items()}
    learned: dict[str, int] = {}
    left: list[str] = []
    for wheel in todo:
        page_url = pages.get(wheel, "")
        files = parsed.get(page_url, {})
        listed = files.get(wheel.filename)
        if listed is None or not _speaks_for(page_url, wheel.url):
            left.append(wheel.url)
            continue
        out[wheel.url] = SizeLookup(wheel.url, listed.size, None, False)
        learned[wheel.url] = listed.size
        learned.update(_same_release(files, wheel, page_url))
    client.remember(learned)
    if left:
        out.update(client.download_sizes(left, progress))
    return out


def _parse(page: Page, releases: Collection[tuple[str, str]]) -> Mapping[str, Listed]:
    """The wanted releases' files of a fetched page; empty (every wheel then asks HEAD) when it failed
    or is not PEP 691 JSON."""
    if page.body is None or page.content_type.split(";")[0].strip().lower() not in _JSON_TYPES:
        return {}
    try:
        return listed_files(page.body, page.url, releases)
    except PageError:
        return {}


def _same_release(files: Mapping[str, Listed], wheel: WheelRef, page_url: str) -> dict[str, int]:
    """The other wheels of the wheel's release on the page (every platform's) that the page speaks for,
    to cache: another target or the next run then needs no request."""
    stem = _release(wheel.filename)
    return {
        listed.url: listed.size
        for name, listed in files.items()
        if name.endswith(".whl") and _release(name) == stem and _speaks_for(page_url, listed.url)
    }


def _host(url: str) -> str:
    try:
        return normal_host(urlsplit(url).hostname or "")
    except ValueError:
        return ""


def _speaks_for(page_url: str, file_url: str) -> bool:
    """Whether the page's index may state the size of the file at `file_url`: same host, or one of the
    index's file hosts."""
    page_host, file_host = _host(page_url), _host(file_url)
    return bool(page_host) and (file_host == page_host or file_host in FILE_HOSTS.get(page_host, ()))
