"""What the poetry.lock and pdm.lock parsers share: a lock read as a flat list of packages, each with
the marker under which the selected groups install it, and the files it lists.

Both tools record, per package, the groups that need it and the marker under which it installs
(Poetry lock-version 2.1 `groups`/`markers`, PDM's `inherit_metadata` strategy `groups`/`marker`), so
what installs for a target is decided without walking the graph: exactly what `poetry install` /
`pdm sync` and their `export` commands do with such a lock. The model gets a synthetic root with one
edge per selected package carrying that marker (as for pylock.toml); `extra == "x"` markers see the
selected extras.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from depaudit.model import Dependency, Lock, Package, Source, Wheel

PYPI_SIMPLE = "https://pypi.org/simple"


def files_of(names: Iterable[str]) -> tuple[tuple[Wheel, ...], str | None]:
    """(wheels, an sdist's file name or None) from a lock's `files` names: the lock gives no URL and
    no size; both are looked up on the index (`analysis.sizes.locate_wheels`)."""
    wheels: list[Wheel] = []
    sdist = None
    for name in names:
        if name.endswith(".whl") and name.count("-") >= 4:
            wheels.append(Wheel(name, None, None))
        elif name.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
            sdist = sdist or name
    return tuple(wheels), sdist


def either(markers: Sequence[str | None]) -> str | None:
    """The marker that holds when any of `markers` does (None = always)."""
    if not markers or any(m is None or not m.strip() for m in markers):
        return None
    unique = list(dict.fromkeys(m for m in markers if m))
    return unique[0] if len(unique) == 1 else " or ".join(f"({m})" for m in unique)


def flat_lock(
    path: Path,
    fmt: Literal["poetry.lock", "pdm.lock"],
    requires_python: str | None,
    selected: Sequence[tuple[Package, str | None]],
) -> Lock:
    """A Lock whose root depends on each selected package under its marker."""
    root_name = f"<{fmt}>"
    root = Package(
        name=root_name,
        version=None,
        source=Source("virtual", "."),
        dependencies=tuple(Dependency(p.name, p.version, p.source, marker) for p, marker in selected),
    )
    return Lock(
        path=str(path),
        format=fmt,
        version=1,
        revision=0,
        requires_python=requires_python,
        packages=(root, *(p for p, _ in selected)),
        roots=(root_name,),
    )
