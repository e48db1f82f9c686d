"""PEP 440 versions and specifiers, as much as marker evaluation and `requires-python` need.

Written for start-up time, not generality: `packaging` (the reference implementation) costs a scan
about 20 ms of imports (its tokenizer regexes, `platform`, `logging`, `subprocess`), more than parsing
a 2 MB lock takes. The semantics are PEP 440's as `packaging` implements them, including its choices
for prereleases (contains(..., prereleases=True)), local versions and `.*` prefixes; the differential
tests in tests/analysis/test_markers.py compare both over every marker and specifier in the fixtures
and over generated ones.
"""

from __future__ import annotations

import re
from functools import lru_cache

_VERSION = re.compile(
    r"""^\s*v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:[-_.]?(?P<pre_l>alpha|beta|preview|pre|a|b|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "c": "rc", "pre": "rc", "preview": "rc", "rc": "rc"}
_OPERATORS = ("===", "~=", "==", "!=", "<=", ">=", "<", ">")


class InvalidVersion(ValueError):
    """Not a PEP 440 version."""


class InvalidSpecifier(ValueError):
    """Not a PEP 440 version specifier."""


class Version:
    """A parsed PEP 440 version, ordered as PEP 440 orders versions."""

    __slots__ = ("dev", "epoch", "key", "local", "post", "pre", "release", "text")

    def __init__(self, text: str) -> None:
        match = _VERSION.match(text)
        if not match:
            raise InvalidVersion(text)
        self.text = text  # as written: `===` compares it
        g = match.group
        self.epoch = int(g("epoch") or 0)
        self.release = tuple(int(x) for x in g("release").split("."))
        self.pre = (_PRE[g("pre_l").lower()], int(g("pre_n") or 0)) if g("pre_l") else None
        post = g("post_n1") or (g("post_n2") or "0" if g("post_l") else None)
        self.post = int(post) if post is not None else None
        self.dev = int(g("dev_n") or 0) if g("dev_l") else None
        local = g("local")
        self.local = tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"[-_.]", local)) if local else None
        self.key = self._key()

    def _key(self) -> tuple[object, ...]:
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        if self.pre is None and self.post is None and self.dev is not None:
            pre: tuple[object, ...] = (0,)  # a dev release of a final sorts before its prereleases
        else:
            pre = (2,) if self.pre is None else (1, *self.pre)
        post = (0,) if self.post is None else (1, self.post)
        dev = (1,) if self.dev is None else (0, self.dev)
        local = (
            (0,)
            if self.local is None
            else (1, tuple((1, p, "") if isinstance(p, int) else (0, 0, p) for p in self.local))
        )
        return (self.epoch, tuple(release), pre, post, dev, local)

    @property
    def public(self) -> Version:
        """The same version without its local label."""
        if self.local is None:
            return self
        out = object.__new__(Version)
        out.epoch, out.release, out.pre, out.post, out.dev, out.local = (
            self.epoch,
            self.release,
            self.pre,
            self.post,
            self.dev,
            None,
        )
        out.key, out.text = out._key(), self.text.split("+", 1)[0]
        return out

    @property
    def base(self) -> Version:
        """Epoch and release only."""
        out = object.__new__(Version)
        out.epoch, out.release, out.pre, out.post, out.dev, out.local = self.epoch, self.release, None, None, None, None
        out.key, out.text = out._key(), ".".join(str(x) for x in self.release)
        return out

    @property
    def is_prerelease(self) -> bool:
        return self.pre is not None or self.dev is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key

    def __hash__(self) -> int:
        return hash(self.key)


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version:
    """A Version, memoised. Raises InvalidVersion."""
    return Version(text)


def _split_operator(text: str) -> tuple[str, str]:
    text = text.strip()
    for op in _OPERATORS:
        if text.startswith(op):
            return op, text[len(op) :].strip()
    raise InvalidSpecifier(text)


def _check(op: str, value: str) -> None:
    """Raise InvalidSpecifier unless `op value` is a PEP 440 specifier (PEP 440's rules on where a
    wildcard, a local label and a one-segment release may appear)."""
    if op == "===":
        if not value or any(ch.isspace() for ch in value):
            raise InvalidSpecifier(op + value)
        return
    wildcard = value.endswith(".*")
    body = value[:-2] if wildcard else value
    try:
        version = Version(body)
    except InvalidVersion:
        raise InvalidSpecifier(op + value) from None
    if " " in body.strip() or body != body.strip():
        raise InvalidSpecifier(op + value)
    if wildcard and (
        op not in ("==", "!=")
        or version.pre
        or version.post is not None
        or version.dev is not None
        or version.local is not None
    ):
        raise InvalidSpecifier(op + value)
    if version.local is not None and op not in ("==", "!="):
        raise InvalidSpecifier(op + value)
    if op == "~=" and len(version.release) < 2:
        raise InvalidSpecifier(op + value)


def parse_specifier(text: str) -> tuple[str, str]:
    """(operator, version text) of one specifier such as `>=3.11` or `==3.12.*`. Raises InvalidSpecifier."""
    op, value = _split_operator(text)
    _check(op, value)
    return op, value


def _prefix_match(candidate: Version, prefix: str) -> bool:
    """`==prefix.*`: the candidate's public version, padded with zeros, starts with the prefix."""
    spec = Version(prefix)
    if candidate.epoch != spec.epoch:
        return False
    wanted = spec.release
    release = candidate.release + (0,) * max(0, len(wanted) - len(candidate.release))
    return release[: len(wanted)] == wanted


def specifier_contains(op: str, value: str, candidate: Version) -> bool:
    """Whether `candidate` satisfies `op value` (prereleases allowed, as marker evaluation asks)."""
    if op == "===":
        return candidate.text.strip().lower() == value.lower()
    if op in ("==", "!="):
        if value.endswith(".*"):
            equal = _prefix_match(candidate, value[:-2])
        else:
            spec = parse_version(value)
            equal = (candidate if spec.local is not None else candidate.public) == spec
        return equal if op == "==" else not equal
    spec = parse_version(value)
    if op == "~=":
        prefix = ".".join(str(x) for x in spec.release[:-1])
        prefix = f"{spec.epoch}!{prefix}" if spec.epoch else prefix
        return candidate.public >= spec and _prefix_match(candidate, prefix)
    if op == "<=":
        return candidate.public <= spec
    if op == ">=":
        return candidate.public >= spec
    if op == "<":
        if not candidate < spec:
            return False
        return spec.is_prerelease or not candidate.is_prerelease or candidate.base != spec.base
    if not candidate > spec:  # ">"
        return False
    if spec.post is None and candidate.post is not None and candidate.base == spec.base:
        return False
    return not (candidate.local is not None and candidate.base == spec.base)


def parse_specifier_set(text: str) -> tuple[tuple[str, str], ...]:
    """The comma-separated specifiers of e.g. a `requires-python`. Raises InvalidSpecifier."""
    parts = [p for p in (s.strip() for s in text.split(",")) if p]
    if not parts and text.strip():
        raise InvalidSpecifier(text)
    return tuple(parse_specifier(p) for p in parts)


def specifier_set_contains(text: str, version: str) -> bool:
    """Whether `version` satisfies every specifier of `text` (prereleases allowed; False for a
    version that does not parse). Raises InvalidSpecifier for a malformed `text`."""
    specifiers = parse_specifier_set(text)
    return all(holds(op, value, version) for op, value in specifiers)


def holds(op: str, value: str, version: str) -> bool:
    """Whether the version text satisfies `op value`: `===` compares the text itself; every other
    operator is False for text that is not a PEP 440 version (as packaging answers)."""
    if op == "===":
        return version.strip().lower() == value.lower()
    try:
        candidate = parse_version(version)
    except InvalidVersion:
        return False
    return specifier_contains(op, value, candidate)
