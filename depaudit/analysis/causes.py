"""Why a target carries what it carries: which direct dependency of the project brings the accelerator
wheels in (or the bytes), through which path, and how much — the cause a pull-request comment names
next to its verdict. Pure: grouped from the paths the install set already holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from depaudit.model import InstalledPackage, Via


class Cause(NamedTuple):
    """A direct dependency (the first link after the workspace root) and what it brings in of the
    packages asked about: how many, their known bytes, how many of unknown size, and the path to the
    largest of them (root first)."""

    direct: str
    path: tuple[str, ...]
    packages: int
    bytes: int
    unknown: int


def causes(
    packages: Iterable[InstalledPackage], wanted: Callable[[InstalledPackage], bool] = lambda p: True
) -> tuple[Cause, ...]:
    """The `wanted` packages grouped by the direct dependency that brings each in, biggest first."""
    groups: dict[str, list[InstalledPackage]] = {}
    for item in packages:
        if wanted(item):
            head = item.path.head if isinstance(item.path, Via) else tuple(item.path)[:2]  # O(1) on a Via
            groups.setdefault(head[1] if len(head) > 1 else item.name, []).append(item)
    out = []
    for direct, items in groups.items():
        largest = max(items, key=lambda p: (p.size or 0, p.name))
        out.append(
            Cause(
                direct,
                _names(largest),
                len(items),
                sum(p.size for p in items if p.size is not None),
                sum(1 for p in items if p.size is None),
            )
        )
    return tuple(sorted(out, key=lambda c: (-c.bytes, -c.packages, c.direct)))


def _names(item: InstalledPackage) -> tuple[str, ...]:
    """The package's path, root first (a Via; a plain tuple where a report was built by hand)."""
    path = item.path
    return path.names() if isinstance(path, Via) else tuple(path)


def accelerator_causes(packages: Iterable[InstalledPackage]) -> tuple[Cause, ...]:
    """What brings the accelerator packages that really install (a wheel or a build) in."""
    return causes(packages, lambda p: p.accelerator is not None and p.install_kind in ("wheel", "build"))
