"""Where size look-ups may go: URL validation and the host policy (no I/O here but name resolution).

A lock is input, and in CI it may come from an untrusted pull request: every URL it names is checked
before a request is made. A URL must be https, at most 8 KiB, ASCII without spaces or control characters.
Its host must be one of the lock's registries or a file host of one (pypi.org -> files.pythonhosted.org),
and it must resolve only to global addresses — never loopback, link-local, private, unspecified, multicast
or otherwise non-global — unless the user allowed the host (`--allow-host`, `allow-hosts` in
`[tool.depaudit]`, `DEPAUDIT_ALLOW_HOSTS`).

The public index hosts in OPERATOR_RESOLVED are the exception to the address rule: where pypi.org resolves
is decided by the machine's resolver (a mirror, a TLS-intercepting proxy), not by the lock's author, so
their addresses are not second-guessed. On our CI machines, for instance, pypi.org resolves to
203.0.113.80, a documentation range, because a transparent proxy answers for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

MAX_URL_LENGTH = 8 * 1024
# Space, control characters and DEL: one regex search instead of a generator over every character
# (a scan checks every chosen wheel's URL, offline too; measured 10 µs -> 3.5 µs a URL).
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f]")
# Hosts that serve an index's files besides the index host itself.
FILE_HOSTS: dict[str, tuple[str, ...]] = {
    "pypi.org": ("files.pythonhosted.org",),
    "download.pytorch.org": ("download-r2.pytorch.org",),
}
OPERATOR_RESOLVED: frozenset[str] = frozenset(
    {
        "pypi.org",
        "files.pythonhosted.org",
        "download.pytorch.org",
        "download-r2.pytorch.org",
    }
)

if TYPE_CHECKING:
    import ipaddress

    Address = ipaddress.IPv4Address | ipaddress.IPv6Address


_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_DECIMAL_OCTET = re.compile(r"^(?:0|[1-9][0-9]{0,2})$")
MAX_HOST_LENGTH = 253


def host_problem(host: str) -> str | None:
    """Why `host` (a URL's host, as written) is not a host name or address a look-up may use, or None.
    Names are DNS names (labels of 1-63 letters, digits, `-`, `_`; at most 253 characters); a host
    whose last label is a number must be a plain dotted-quad IPv4 address: `0177.0.0.1`, `127.1` or
    `0x7f.0.0.1` mean 127.0.0.1 to some resolvers and something else to others, so they are refused.
    Pure and cheap: every chosen wheel's URL passes here, offline too."""
    if host.startswith("["):
        return None if literal_address(host) is not None and host.endswith("]") else "malformed IPv6 address in URL"
    name = host.lower()[:-1] if host.endswith(".") else host.lower()  # one trailing dot: the root
    if not name:
        return "URL has no host"
    if len(name) > MAX_HOST_LENGTH:
        return f"host name longer than {MAX_HOST_LENGTH} characters"
    labels = name.split(".")
    if any(not label for label in labels):
        return "empty label in host name"
    last = labels[-1]
    if last.isdigit() or last.startswith("0x"):
        if len(labels) == 4 and all(_DECIMAL_OCTET.match(p) and int(p) <= 255 for p in labels):
            return None
        return "numeric host that is not a dotted-quad IPv4 address (ambiguous: refused)"
    for label in labels:
        if not _DNS_LABEL.match(label):
            return "host label is not a DNS label (1-63 letters, digits, '-' or '_')"
    return None


def url_problem(url: str) -> str | None:
    """Why `url` must not be fetched (a short reason), or None when it may be."""
    if len(url) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH // 1024} KiB"
    if not url.isascii() or _UNSAFE_CHARACTER.search(url):
        return "URL contains spaces, control or non-ASCII characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return "malformed URL"
    if parts.scheme.lower() != "https":
        return "not https"
    if not parts.hostname:
        return "URL has no host"
    host = parts.netloc.rpartition("@")[2]
    host = host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host.partition(":")[0]
    return host_problem(host)


def without_userinfo(url: str) -> str:
    """`url` without its user information (`https://user:token@host/x` -> `https://host/x`): what is
    stored, cached or shown of a URL that may carry a credential."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{tail}"


def normal_host(host: str) -> str:
    """A host name as compared here: lower case, without a trailing dot or IPv6 brackets."""
    return host.strip("[]").rstrip(".").lower()


def registry_hosts(index_urls: Iterable[str]) -> frozenset[str]:
    """The hosts of the given index URLs plus their file hosts."""
    hosts = set()
    for url in index_urls:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host:
            hosts.add(normal_host(host))
            hosts.update(FILE_HOSTS.get(normal_host(host), ()))
    return frozenset(hosts)


def address_problem(address: Address) -> str | None:
    """What kind of non-global address this is ("loopback", "private", ...), or None when global."""
    import ipaddress  # here and below, not at the top: an offline scan never looks at an address (~3 ms)

    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "not a global address"


def literal_address(host: str) -> Address | None:
    import ipaddress

    try:
        return ipaddress.ip_address(normal_host(host))
    except ValueError:
        return None


def https_proxy_for(host: str) -> str | None:
    """The proxy an https request to `host` goes through per the environment (HTTPS_PROXY, ALL_PROXY,
    NO_PROXY), or None for a direct connection."""
    import urllib.request  # here, not at the top: it costs ~20 ms, and offline scans never need it

    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https") or proxies.get("all")
    # On Linux, proxy_bypass reads NO_PROXY from the environment (proxy_bypass_environment).
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


class HostPolicy(NamedTuple):
    """`registries`: hosts URLs may name (None: any); `allowed`: hosts the user allowed on the command
    line or in the environment, which skip the address check as well; `named`: hosts a checkout's
    `allow-hosts` names, which URLs may name but which are still looked up at global addresses only."""

    registries: frozenset[str] | None = None
    allowed: frozenset[str] = frozenset()
    named: frozenset[str] = frozenset()

    @classmethod
    def make(
        cls, registries: Iterable[str] | None, allowed: Iterable[str] = (), named: Iterable[str] = ()
    ) -> HostPolicy:
        return cls(
            None if registries is None else frozenset(normal_host(h) for h in registries),
            frozenset(normal_host(h) for h in allowed),
            frozenset(normal_host(h) for h in named),
        )

    def name_problem(self, host: str) -> str | None:
        """Why a request to `host` is refused by name, or None."""
        name = normal_host(host)
        if name in self.allowed or name in self.named or self.registries is None or name in self.registries:
            return None
        return f"host {name} is not a registry of this lock (nor its file host); --allow-host {name} to permit"

    def checks_address(self, host: str) -> bool:
        """Whether `host`'s addresses must be global."""
        name = normal_host(host)
        return name not in self.allowed and name not in OPERATOR_RESOLVED

    def refuse_addresses(self, host: str, addresses: Iterable[Address]) -> str | None:
        """Why connecting to `host` at these addresses is refused, or None."""
        if not self.checks_address(host):
            return None
        name = normal_host(host)
        for address in addresses:
            problem = address_problem(address)
            if problem:
                what = f"is a {problem} address" if literal_address(host) else f"resolves to {address} ({problem})"
                return f"{name} {what}: not looked up (--allow-host {name} to permit)"
        return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (blocking; callers run it in a thread). Raises OSError."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    import ipaddress
    import socket

    infos = socket.getaddrinfo(normal_host(host), port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
