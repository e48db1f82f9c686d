"""PEP 508 marker evaluation for a target, including uv's encoding of extras and groups.

uv writes conflict-aware markers such as `extra == 'extra-11-hdr-service-cpu'` and
`extra != 'group-11-hdr-service-dev'`; several of them can be true at once, so `extra` is evaluated
against the *set* of active names (membership), as packaging's lock-file context does. pylock's
`'x' in extras` / `'g' in dependency_groups` read the same set.

The parser and evaluator are depaudit's own (`depaudit.versions` for PEP 440): importing `packaging`
costs more than a whole scan of a 2 MB lock. They follow `packaging.markers`: a comparison on
`python_version`, `python_full_version`, `implementation_version` or `platform_release` is a PEP 440
comparison when its right side is a valid specifier, else a string comparison; other names compare
as strings (`<`/`>` never hold, `<=`/`>=` mean equal). A marker this parser does not read is handed
to `packaging` (imported then), so an unusual but valid marker costs time, never a wrong answer.
Each distinct marker is parsed once per process and each (marker, active set) evaluated once per target.

Some environment values cannot be known for a target: `platform_version` and `platform_release` are
the kernel build of the machine that installs (`'SMP' in platform_version` holds on most Linux hosts, on
none of depaudit's). `MarkerEvaluator.decide` answers True, False or None ("may hold": the answer turns
on such a value) and never evaluates an unknown to false: a comparison on an unknowable value is taken
as true, then as false (`Assumed`); markers only combine comparisons with `and`/`or`, so the marker holds
for every value when it holds with all of them false, and for none when it fails with all of them true.
A marker `packaging` must read (the parser above does not) that names one is "may hold".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Set
from functools import cache
from typing import Any

from depaudit.errors import excerpt, first_line
from depaudit.names import canonical_name as normalize_extra  # PEP 685: extras and groups as names
from depaudit.versions import InvalidSpecifier, holds, parse_specifier

UNKNOWABLE_KEYS = frozenset({"platform_version", "platform_release"})
_UNKNOWABLE_SPELLINGS = ("platform_version", "platform_release", "platform.version")
VERSION_KEYS = frozenset({"python_version", "python_full_version", "implementation_version", "platform_release"})
SET_KEYS = frozenset({"extras", "dependency_groups"})
_ALIASES = {
    "os.name": "os_name",
    "sys.platform": "sys_platform",
    "platform.version": "platform_version",
    "platform.machine": "platform_machine",
    "platform.python_implementation": "platform_python_implementation",
    "python_implementation": "platform_python_implementation",
}
_NAMES = frozenset(
    {
        "python_version",
        "python_full_version",
        "os_name",
        "sys_platform",
        "platform_release",
        "platform_system",
        "platform_version",
        "platform_machine",
        "platform_python_implementation",
        "implementation_name",
        "implementation_version",
        "extra",
        "extras",
        "dependency_groups",
    }
)
_TOKEN = re.compile(
    r"""\s*(?:(?P<paren>[()])|(?P<str>'[^']*'|"[^"]*")|(?P<op>===|==|!=|<=|>=|~=|<|>)"""
    r"""|(?P<word>not\s+in\b|[A-Za-z_][A-Za-z0-9_.]*))"""
)

# The set keys (extra, extras, dependency_groups) hold sets; an unknowable key may hold an `Assumed`.
Env = Mapping[str, "str | frozenset[str] | Assumed"]
Node = Callable[[Env], bool]


class MarkerError(ValueError):
    """A marker string that cannot be parsed or evaluated."""


class _Unsupported(Exception):
    """This parser does not read the marker; packaging decides."""


class Assumed:
    """An environment value depaudit cannot know for a target, standing in the environment: every
    comparison on it gives `holds`."""

    __slots__ = ("holds",)

    def __init__(self, holds: bool) -> None:
        self.holds = holds


class _UnknowableInFallback(Exception):
    """packaging would read a marker that names an unknowable value: it may hold."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise _Unsupported(text)
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        value = match.group(kind)
        out.append((kind, " ".join(value.split()) if kind == "word" else value))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent over `or` / `and` / comparisons / parentheses, building closures."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _Unsupported("unexpected end")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.disjunction()
        if self.peek() is not None:
            raise _Unsupported("trailing tokens")
        return node

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.peek() == ("word", "or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _any_of(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.atom()]
        while self.peek() == ("word", "and"):
            self.take()
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else _all_of(tuple(parts))

    def atom(self) -> Node:
        if self.peek() == ("paren", "("):
            self.take()
            node = self.disjunction()
            if self.take() != ("paren", ")"):
                raise _Unsupported("unbalanced")
            return node
        lhs = self.operand()
        kind, op = self.take()
        if kind == "word" and op in ("in", "not in"):
            pass
        elif kind != "op":
            raise _Unsupported(op)
        rhs = self.operand()
        return _comparison(lhs, op, rhs)

    def operand(self) -> tuple[str, str]:
        kind, value = self.take()
        if kind == "str":
            return ("value", value[1:-1])
        if kind == "word":
            name = _ALIASES.get(value, value)
            if name in _NAMES:
                return ("var", name)
        raise _Unsupported(value)


def _any_of(parts: tuple[Node, ...]) -> Node:
    return lambda env: any(p(env) for p in parts)


def _all_of(parts: tuple[Node, ...]) -> Node:
    return lambda env: all(p(env) for p in parts)


def _comparison(lhs: tuple[str, str], op: str, rhs: tuple[str, str]) -> Node:
    if (lhs[0] == "var") == (rhs[0] == "var"):
        raise _Unsupported("a comparison needs one variable and one literal")
    if lhs[0] == "var":
        key, literal, reverse = lhs[1], rhs[1], False
    else:
        key, literal, reverse = rhs[1], lhs[1], True
    if key == "extra":
        if op not in ("==", "!="):
            raise _Unsupported("extra takes == or !=")
        name = normalize_extra(literal)
        if op == "==":
            return lambda env: name in _extras(env)
        return lambda env: name not in _extras(env)
    if key in SET_KEYS:
        if not reverse or op not in ("in", "not in"):
            raise _Unsupported(f"{key} takes `'name' in {key}`")
        name = normalize_extra(literal)
        # The set keys always hold frozensets (MarkerEvaluator puts them there); no cast() call per test.
        if op == "in":
            return lambda env: name in env[key]  # type: ignore[operator]
        return lambda env: name not in env[key]  # type: ignore[operator]
    compare = _compare_function(key, op, literal, reverse)
    if key in UNKNOWABLE_KEYS:
        return lambda env: value.holds if isinstance(value := env[key], Assumed) else compare(value)
    return lambda env: compare(env[key])


def _extras(env: Env) -> frozenset[str]:
    extras = env.get("extra") or frozenset({""})
    return extras if isinstance(extras, frozenset) else frozenset({normalize_extra(str(extras))})


def _compare_function(key: str, op: str, literal: str, reverse: bool) -> Callable[[Any], bool]:
    """`env value OP literal` (or `literal OP env value` when reversed) as packaging evaluates it."""
    if key in VERSION_KEYS and op not in ("in", "not in"):
        spec_text = None if reverse else literal
        try:
            if spec_text is not None:
                parsed = parse_specifier(op + spec_text)
                return lambda value: _version_holds(parsed, value)
            return lambda value: _reverse_version(op, literal, value)
        except InvalidSpecifier:
            pass
    return _string_op(op, literal, reverse)


def _version_holds(spec: tuple[str, str], value: object) -> bool:
    return holds(spec[0], spec[1], str(value))


def _reverse_version(op: str, literal: str, value: object) -> bool:
    """`'3.8' < python_version`: packaging builds the specifier from the environment's value."""
    try:
        spec = parse_specifier(op + str(value))
    except InvalidSpecifier:
        return _string_op(op, literal, True)(value)
    return _version_holds(spec, literal)


def _string_op(op: str, literal: str, reverse: bool) -> Callable[[Any], bool]:
    # The value is a string: only the set keys hold sets, and they never reach a comparison.
    if op == "in":
        return (lambda v: v in literal) if not reverse else (lambda v: literal in v)
    if op == "not in":
        return (lambda v: v not in literal) if not reverse else (lambda v: literal not in v)
    if op in ("==", "<=", ">="):
        return lambda v: v == literal
    if op == "!=":
        return lambda v: v != literal
    if op in ("<", ">"):
        return lambda v: False
    raise _Unsupported(op)  # ~= and === on strings: packaging calls that undefined


@cache  # distinct markers per lock are few thousand at most; a forked lock may hold more
def compile_marker(text: str) -> Node:
    """A marker as a function of the environment. Raises MarkerError for an invalid marker."""
    try:
        return _Parser(text).parse()
    except _Unsupported:
        return _packaging_marker(text)


def _packaging_marker(text: str) -> Node:
    from packaging.markers import InvalidMarker, Marker  # only for markers the parser above does not read

    try:
        marker = Marker(text)
    except InvalidMarker as exc:
        raise MarkerError(f"invalid marker {excerpt(text, 80)}: {first_line(exc)}") from None

    def evaluate(env: Env) -> bool:
        if any(isinstance(env.get(key), Assumed) for key in UNKNOWABLE_KEYS):
            raise _UnknowableInFallback(text)
        extras = env.get("extra")
        environment: dict[str, str | Set[str]] = {
            **{k: v for k, v in env.items() if not isinstance(v, Assumed)},
            "extra": set(extras) if isinstance(extras, frozenset) else extras if isinstance(extras, str) else "",
        }
        try:
            return marker.evaluate(environment, context="lock_file")
        except Exception as exc:  # packaging's UndefinedComparison and friends
            raise MarkerError(f"cannot evaluate marker {excerpt(text, 80)}: {first_line(exc)}") from None

    return evaluate


def mentions_unknowable(marker: str) -> bool:
    """Whether `marker` names an environment value depaudit cannot know for a target."""
    return any(name in marker for name in _UNKNOWABLE_SPELLINGS)


_MISSING = object()


class MarkerEvaluator:
    """Evaluates markers for one marker environment, memoising each (marker, active names) answer.
    The active names are uv's encoded extras/groups (or pylock's plain names); `extra` comparisons and
    `extras` / `dependency_groups` membership all read that one set. The `unknowable` keys of the
    environment are never read: a marker naming one is decided over every value they could take."""

    def __init__(self, environment: dict[str, str], unknowable: frozenset[str] = UNKNOWABLE_KEYS) -> None:
        self._env = dict(environment)
        self._unknowable = unknowable
        self._cache: dict[tuple[str, frozenset[str]], bool | None] = {}
        self._envs: dict[frozenset[str], dict[str, str | frozenset[str]]] = {}

    def __call__(self, marker: str | None, extras: frozenset[str] = frozenset()) -> bool:
        """Whether the marker may hold: True when it holds or when that depends on an unknowable value
        (the worst case), False only when it cannot hold. Raises MarkerError."""
        return self.decide(marker, extras) is not False

    def decide(self, marker: str | None, extras: frozenset[str] = frozenset()) -> bool | None:
        """True (holds), False (cannot hold) or None (depends on a value depaudit cannot know for this
        target). Raises MarkerError for a marker that cannot be parsed or evaluated."""
        if not marker:
            return True
        key = (marker, extras if ("extra" in marker or "dependency_groups" in marker) else frozenset())
        hit = self._cache.get(key, _MISSING)
        if hit is _MISSING:
            hit = self._cache[key] = self._evaluate(marker, key[1])
        return hit  # type: ignore[return-value]  # the cache holds only bool | None

    def _evaluate(self, marker: str, active: frozenset[str]) -> bool | None:
        env = self._envs.get(active)
        if env is None:
            env = self._envs[active] = {**self._env, "extra": active, "extras": active, "dependency_groups": active}
        try:
            node = compile_marker(marker)
            if not (self._unknowable and mentions_unknowable(marker)):
                return node(env)
            try:
                if node(self._assuming(env, False)):
                    return True
                return None if node(self._assuming(env, True)) else False
            except _UnknowableInFallback:
                return None
        except KeyError as exc:
            raise MarkerError(f"cannot evaluate marker {excerpt(marker, 80)}: no value for {exc}") from None

    def _assuming(self, env: dict[str, str | frozenset[str]], holds: bool) -> dict[str, Any]:
        return {**env, **dict.fromkeys(self._unknowable, Assumed(holds))}
