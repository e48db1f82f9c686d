"""Sizes of the chosen wheels: from the lock where it records them, else from the index.

What a size counts is its basis: "download" (the wheel file: the lock's `size`, else an HTTP HEAD),
"installed" (the wheel's uncompressed contents, from its zip central directory: what uv installs, as
uv does not compile bytecode by default) or "bytecode" (those contents plus the estimated `.pyc` files
pip writes, see `analysis.bytecode`). Only https URLs that the lock names for registry sources are
looked up; everything else that the lock does not size stays unknown (None), never 0. Look-ups go
through `analysis.size_lookup.IndexClient`, which caches them on disk and never touches the network offline.

`verify` (gate, diff, a scan that checks budgets): the lock's download sizes are not trusted but checked
against the index (`analysis.index_pages`: the PEP 691 project page, else HEAD), and the index's number
is used; a wheel the index does not answer for is unknown, whatever the lock says. A lock size that
differs from the index's is visible as `item.wheel.size != item.size` (rule DA105).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from depaudit.analysis.host_policy import HostPolicy, registry_hosts
from depaudit.analysis.size_lookup import (  # httpx and asyncio inside: imported when a size is looked up
    DEFAULT_DEADLINE,
    IndexClient,
)
from depaudit.model import InstalledPackage, SizeReport, Wheel
from depaudit.names import canonical_name

if TYPE_CHECKING:
    from depaudit.analysis.index_pages import WheelRef

Progress = Callable[[int, int], None]


def lookup_urls(packages: list[InstalledPackage], installed: bool) -> list[str]:
    """The wheel URLs that need an index look-up: registry sources, https, size absent (or all, for
    installed sizes, which no lock records)."""
    urls = []
    for item in packages:
        wheel = item.wheel
        if wheel is None or item.package.source.kind != "registry" or not wheel.url:
            continue
        if not wheel.url.startswith("https://"):
            continue
        if installed or wheel.size is None:
            urls.append(wheel.url)
    return list(dict.fromkeys(urls))


def fill_sizes(
    packages: list[InstalledPackage],
    *,
    offline: bool,
    cache_dir: Path | None,
    installed: bool = False,
    progress: Progress | None = None,
    client: IndexClient | None = None,
    basis: str | None = None,
    allow_hosts: Iterable[str] = (),
    project_hosts: Iterable[str] = (),
    deadline: float | None = DEFAULT_DEADLINE,
    verify: bool = False,
) -> list[InstalledPackage]:
    """Return `packages` with `size` set on `basis` ("download", "installed" or "bytecode"; the
    `installed` flag is the older spelling of "installed"). Look-ups go only to the hosts of these
    packages' registries and their file hosts, at global addresses, plus the hosts in `allow_hosts` (at
    any address) and `project_hosts` (at global addresses; see `depaudit.analysis.host_policy`); what
    has no answer within `deadline` seconds stays unknown. With `verify` (and online, download basis)
    every registry wheel's size is the index's (see the module docstring)."""
    basis = basis or ("installed" if installed else "download")
    installed = basis != "download"
    checking = verify and not offline and not installed
    urls = lookup_urls(packages, installed)
    answers = {}
    if urls or checking:
        if client is None:
            registries = registry_hosts(
                {p.package.source.value for p in packages if p.package.source.kind == "registry"}
            )
            hosts = HostPolicy.make(registries, allow_hosts, project_hosts)
            client = IndexClient(cache_dir, offline=offline, hosts=hosts, deadline=deadline)
        if checking:
            # Imported here: only a run that checks the lock's sizes (online gate, diff) needs it, and the
            # plain scan's start-up is measured (tests/cli/test_scan_fastpath.py).
            from depaudit.analysis.index_pages import index_sizes

            answers = index_sizes(client, _wheel_refs(packages), progress)
        elif urls:
            lookup = {
                "download": client.download_sizes,
                "installed": client.installed_sizes,
                "bytecode": client.bytecode_sizes,
            }[basis]
            answers = lookup(urls, progress)

    def replace(item: InstalledPackage, size: int | None, size_error: str | None = None) -> InstalledPackage:
        # A direct constructor call: dataclasses.replace costs 40 µs a call, and a 10k lock makes 40k.
        # The slices keep every field after the two replaced ones, whatever fields are added later.
        return InstalledPackage(*item[:4], size, size_error, *item[6:])

    out = []
    for item in packages:
        wheel = item.wheel
        if wheel is None:
            out.append(item)
            continue
        if not installed and wheel.size is not None and not checking:
            out.append(replace(item, wheel.size))
            continue
        answer = answers.get(wheel.url) if wheel.url else None
        if answer is not None and answer.size is not None:
            out.append(replace(item, answer.size))
        else:
            error = answer.error if answer is not None else _why_unknown(item)
            if checking and wheel.size is not None:
                error = f"the lock's size is not verified: {error}"
            out.append(replace(item, None, error))
    return out


_UNREACHABLE = ("timeout", "connection failed", "connection error", "TLS ", "HTTP 5", "HTTP 429", "request failed")


def index_unreachable(error: str | None) -> bool:
    """True for a look-up error that says the index could not be reached or answered with a server error
    (connection, DNS, timeout, TLS, 5xx, 429): the run failed, not the data. A 404, a refused host, a URL
    that is not https, `offline` or a wheel the index serves but cannot be sized are data, not failures."""
    return error is not None and error.startswith(_UNREACHABLE)


def locate_wheels(
    packages: list[InstalledPackage],
    *,
    offline: bool,
    cache_dir: Path | None,
    allow_hosts: Iterable[str] = (),
    project_hosts: Iterable[str] = (),
    client: IndexClient | None = None,
) -> list[InstalledPackage]:
    """Return `packages` with each chosen wheel that the lock names only by filename (poetry.lock,
    pdm.lock record no URL) given its URL and, where the index says it, its size, from its project page
    on the package's registry. A file the page does not list keeps no URL (its size stays unknown)."""
    pages: dict[tuple[str, str], set[str]] = {}
    for item in packages:
        wheel, source = item.wheel, item.package.source
        if wheel is not None and wheel.url is None and source.kind == "registry" and source.value:
            pages.setdefault((source.value, canonical_name(item.package.name)), set()).add(wheel.filename)
    if not pages:
        return packages
    if client is None:
        registries = registry_hosts(index for index, _ in pages)
        client = IndexClient(cache_dir, offline=offline, hosts=HostPolicy.make(registries, allow_hosts, project_hosts))
    found = client.project_files((index, project, frozenset(names)) for (index, project), names in pages.items())
    out = []
    for item in packages:
        wheel = item.wheel
        if wheel is not None and wheel.url is None and wheel.filename in found:
            url, size = found[wheel.filename]
            wheel = Wheel(wheel.filename, url, wheel.size if wheel.size is not None else size)
            item = item._replace(wheel=wheel)
        out.append(item)
    return out


def _wheel_refs(packages: list[InstalledPackage]) -> list[WheelRef]:
    """The registry wheels whose sizes the index can vouch for (https URLs)."""
    from depaudit.analysis.index_pages import WheelRef  # see fill_sizes

    refs = []
    for item in packages:
        wheel, source = item.wheel, item.package.source
        if wheel is not None and wheel.url and source.kind == "registry" and wheel.url.startswith("https://"):
            refs.append(WheelRef(source.value, item.name, item.package.version, wheel.filename, wheel.url))
    return refs


def _why_unknown(item: InstalledPackage) -> str:
    if item.package.source.kind != "registry":
        return f"{item.package.source.kind} source: size not looked up"
    if item.wheel and item.wheel.url and not item.wheel.url.startswith("https://"):
        return "not https"
    if item.package.source.value.startswith("https://"):
        return "file not found on the index (offline, or not listed)"
    return "no URL in the lock"


class SizeMismatch(NamedTuple):
    """A wheel whose `size` in the lock differs from the size its index lists."""

    filename: str
    lock_size: int
    index_size: int
    line: int | None


def size_mismatches(report: SizeReport) -> list[SizeMismatch]:
    """Each wheel (once, whatever the targets) whose lock size differs from the index's, when the scan
    checked the lock's sizes (online, download sizes); none otherwise."""
    if not report.sizes_checked:
        return []
    seen: dict[str, SizeMismatch] = {}
    for target in report.targets:
        for item in target.packages:
            wheel = item.wheel
            if wheel is not None and wheel.size is not None and item.size is not None and item.size != wheel.size:
                seen.setdefault(wheel.filename, SizeMismatch(wheel.filename, wheel.size, item.size, item.package.line))
    return list(seen.values())
