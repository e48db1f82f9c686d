"""PEP 508 marker evaluation for a target, including uv's encoding of extras and groups.

uv writes conflict-aware markers such as `extra == 'extra-11-hdr-service-cpu'` and
`extra != 'group-11-hdr-service-dev'`; several of them can be true at once, which plain
`Marker.evaluate(extra=...)` cannot express. Comparisons on `extra` are rewritten to set membership
(`'x' in extras`) and evaluated in packaging's lock-file context, where `extras` is a set.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

_EXTRA_CMP = re.compile(r"""\bextra\s*(==|!=)\s*(['"])(.*?)\2""")
_REVERSED = re.compile(r"""(['"])([^'"]*?)\1\s*(==|!=)\s*extra\b""")


class MarkerError(ValueError):
    """A marker string that cannot be parsed or evaluated."""


def normalize_extra(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=8192)
def compile_marker(text: str) -> Marker:
    """Parse a marker once, with `extra` comparisons rewritten to membership tests. Raises MarkerError."""
    def forward(m: re.Match) -> str:
        return f"'{normalize_extra(m.group(3))}' {'in' if m.group(1) == '==' else 'not in'} extras"

    def reverse(m: re.Match) -> str:
        return f"'{normalize_extra(m.group(2))}' {'in' if m.group(3) == '==' else 'not in'} extras"

    rewritten = _REVERSED.sub(reverse, _EXTRA_CMP.sub(forward, text))
    try:
        return Marker(rewritten)
    except InvalidMarker as exc:
        raise MarkerError(f"invalid marker {text!r}: {exc}") from None


class MarkerEvaluator:
    """Evaluates markers for one marker environment, memoising each (marker, active extras) answer."""

    def __init__(self, environment: dict[str, str]) -> None:
        self._env = dict(environment)
        self._cache: dict[tuple[str, frozenset[str]], bool] = {}

    def __call__(self, marker: str | None, extras: frozenset[str] = frozenset()) -> bool:
        if not marker:
            return True
        key = (marker, extras if ("extra" in marker or "dependency_groups" in marker) else frozenset())
        hit = self._cache.get(key)
        if hit is None:
            # One set serves both: uv's encoded names and pylock's plain extra and group names.
            env = dict(self._env, extras=key[1], dependency_groups=key[1])
            try:
                hit = compile_marker(marker).evaluate(env, context="lock_file")
            except (UndefinedComparison, UndefinedEnvironmentName, TypeError, ValueError) as exc:
                raise MarkerError(f"cannot evaluate marker {marker!r}: {exc}") from None
            self._cache[key] = hit
        return hit
