"""Package-name normalisation (PEP 503; extras and groups follow the same rule, PEP 685): the one
implementation every parser and analysis uses."""

from __future__ import annotations

import re
from functools import lru_cache

_SEPARATORS = re.compile(r"[-_.]+")


@lru_cache(maxsize=65536)  # called per lock edge: memoised
def canonical_name(name: str) -> str:
    """`Foo.Bar_baz` -> `foo-bar-baz`: runs of `-`, `_`, `.` become one `-`, letters lower-case."""
    return _SEPARATORS.sub("-", name).lower()


def wheel_project(filename: str) -> str:
    """The canonical project name of a wheel file name (`Pillow-10.0-cp311-….whl` -> `pillow`)."""
    return canonical_name(filename.rsplit("/", 1)[-1].split("-", 1)[0])
