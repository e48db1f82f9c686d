"""What changes between two scans of a lock (before and after a pull request), target by target.

Pure: it compares two SizeReports made for the same targets and Python. Totals are the scans' own
figures (the sum of known sizes, as `depaudit scan` reports them), and what they leave out is listed
per side exactly as the scan lists it: wheels of unknown size (`unknown`, the scan's `unknown_size`),
packages built from source (`builds`) and packages that cannot be installed on the target
(`not_installable`). So a diff always agrees with the difference of two scans, and the delta is exact
only when neither side leaves anything out.
"""

from __future__ import annotations

from dataclasses import dataclass

from depaudit.analysis.causes import Cause, accelerator_causes
from depaudit.analysis.sizes import index_unreachable, size_mismatches
from depaudit.model import InstalledPackage, SizeReport, TargetReport


@dataclass(frozen=True)
class PackageChange:
    """A package `kind` "added", "removed" or "changed" on one target; an absent side has None."""

    kind: str
    name: str
    before_version: str | None
    after_version: str | None
    before_size: int | None
    after_size: int | None
    before_accelerator: str | None = None
    after_accelerator: str | None = None

    @property
    def delta(self) -> int | None:
        """after - before in bytes; None when a present side's size is unknown."""
        before = 0 if self.kind == "added" else self.before_size
        after = 0 if self.kind == "removed" else self.after_size
        return None if before is None or after is None else after - before

    @property
    def new_accelerator(self) -> bool:
        """True when this change brings an accelerator package the base did not install as one."""
        return self.after_accelerator is not None and self.before_accelerator is None


@dataclass(frozen=True)
class TargetDiff:
    """One target's before/after totals (None: that side does not support the target) and changes."""

    target: str
    before_bytes: int | None
    after_bytes: int | None
    before_accelerator_bytes: int | None
    after_accelerator_bytes: int | None
    added: tuple[PackageChange, ...] = ()
    removed: tuple[PackageChange, ...] = ()
    changed: tuple[PackageChange, ...] = ()
    before_unknown: tuple[str, ...] = ()  # wheels the base installs whose size is unknown (scan's unknown_size)
    after_unknown: tuple[str, ...] = ()
    before_reason: str | None = None  # why a side does not support the target
    after_reason: str | None = None
    before_builds: tuple[str, ...] = ()  # built from source at install time (scan's builds)
    after_builds: tuple[str, ...] = ()
    before_not_installable: tuple[str, ...] = ()  # no wheel and no sdist for the target (scan's not_installable)
    after_not_installable: tuple[str, ...] = ()
    new_accelerator_causes: tuple[Cause, ...] = ()  # what brings the accelerator packages the head adds

    @property
    def delta_bytes(self) -> int | None:
        """after - before over known sizes; None when a side does not support the target."""
        if self.before_bytes is None or self.after_bytes is None:
            return None
        return self.after_bytes - self.before_bytes

    @property
    def exact(self) -> bool:
        """True when both sides' totals leave nothing out (no unknown size, no build, nothing that
        cannot install), so the delta is the true difference."""
        return not (
            self.before_unknown
            or self.after_unknown
            or self.before_builds
            or self.after_builds
            or self.before_not_installable
            or self.after_not_installable
        )

    @property
    def changes(self) -> tuple[PackageChange, ...]:
        """Every change, largest impact first."""
        return _by_impact(self.added + self.removed + self.changed)


@dataclass(frozen=True)
class LockDiff:
    """A diff of two locks: the labels of both sides, the Python used for both, and each target."""

    base: str
    head: str
    python: str
    targets: tuple[TargetDiff, ...]
    index_errors: tuple[str, ...] = ()  # why the index could not be reached for a size, on either side
    # Sizes checked against the index (online): the wheels whose lock size differs, per side (DA105).
    sizes_checked: bool = False
    lock_sizes_differ: tuple[str, ...] = ()


def diff_reports(before: SizeReport, after: SizeReport) -> LockDiff:
    """Compare two scans of the same targets. Raises ValueError when their targets or Pythons differ
    (the caller scans both sides with one set of options, so that is a programming error)."""
    names = [t.target.name for t in before.targets]
    if names != [t.target.name for t in after.targets]:
        raise ValueError("both scans must cover the same targets in the same order")
    pythons = {t.target.python for t in before.targets + after.targets}
    if len(pythons) > 1:
        raise ValueError(f"both scans must use one Python, got {sorted(pythons)}")
    python = pythons.pop() if pythons else ""
    targets = tuple(diff_target(b, a) for b, a in zip(before.targets, after.targets, strict=False))
    errors = {e for r in (before, after) for t in r.targets for p in t.packages if (e := p.size_error) is not None}
    unreachable = tuple(sorted(e for e in errors if index_unreachable(e)))
    differ = tuple(
        f"{report.lockfile}: {m.filename}: the lock says {m.lock_size:,} B, the index {m.index_size:,} B"
        for report in (before, after)
        for m in size_mismatches(report)
    )
    checked = before.sizes_checked and after.sizes_checked
    return LockDiff(before.lockfile, after.lockfile, python, targets, unreachable, checked, differ)


def diff_target(before: TargetReport, after: TargetReport) -> TargetDiff:
    """Totals of both sides and the packages added, removed and changed, each list by impact."""
    old = _by_name(before.packages) if before.supported else {}
    new = _by_name(after.packages) if after.supported else {}
    added = [_change(None, new[n]) for n in new.keys() - old.keys()]
    removed = [_change(old[n], None) for n in old.keys() - new.keys()]
    changed = [_change(old[n], new[n]) for n in old.keys() & new.keys() if _differs(old[n], new[n])]
    fresh = {c.name for c in added + changed if c.new_accelerator}
    return TargetDiff(
        target=before.target.name,
        before_bytes=before.total_bytes if before.supported else None,
        after_bytes=after.total_bytes if after.supported else None,
        before_accelerator_bytes=before.accelerator_bytes if before.supported else None,
        after_accelerator_bytes=after.accelerator_bytes if after.supported else None,
        added=_by_impact(added),
        removed=_by_impact(removed),
        changed=_by_impact(changed),
        before_unknown=before.unknown_size,
        after_unknown=after.unknown_size,
        before_reason=None if before.supported else before.unsupported_reason,
        after_reason=None if after.supported else after.unsupported_reason,
        before_builds=before.builds,
        after_builds=after.builds,
        before_not_installable=before.not_installable,
        after_not_installable=after.not_installable,
        new_accelerator_causes=accelerator_causes(p for p in after.packages if p.name in fresh) if fresh else (),
    )


def _by_name(packages: tuple[InstalledPackage, ...]) -> dict[str, InstalledPackage]:
    # One target installs one version of a name; a repeat would be a different source of the same
    # name, which is told apart by version so that no package's bytes drop out of the comparison.
    found: dict[str, InstalledPackage] = {}
    for p in packages:
        key = p.name if p.name not in found else f"{p.name}=={p.package.version}"
        found[key] = p
    return found


def _differs(old: InstalledPackage, new: InstalledPackage) -> bool:
    old_wheel = old.wheel.filename if old.wheel else None
    new_wheel = new.wheel.filename if new.wheel else None
    return (old.package.version, old_wheel, old.size, old.accelerator) != (
        new.package.version,
        new_wheel,
        new.size,
        new.accelerator,
    )


def _change(old: InstalledPackage | None, new: InstalledPackage | None) -> PackageChange:
    return PackageChange(
        kind="added" if old is None else "removed" if new is None else "changed",
        name=(new or old).name,  # type: ignore[union-attr]
        before_version=old.package.version if old else None,
        after_version=new.package.version if new else None,
        before_size=old.size if old else None,
        after_size=new.size if new else None,
        before_accelerator=old.accelerator if old else None,
        after_accelerator=new.accelerator if new else None,
    )


def _by_impact(changes: list[PackageChange] | tuple[PackageChange, ...]) -> tuple[PackageChange, ...]:
    """Largest absolute byte change first; changes of unknown size after the known ones, by name."""
    return tuple(sorted(changes, key=lambda c: (c.delta is None, -abs(c.delta or 0), c.name)))


def names_list(items: list[str], shown: int = 5) -> str:
    """At most `shown` items, comma-separated, and how many more."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
