"""Budgets over measured sizes, the one `BudgetCheck` type and the checks of locks and diffs: download
and accelerator bytes per target of a lock, targets that must install no accelerator wheel, the growth
and new accelerators of a diff. (Image sizes and service latency are measured by images/ and the bench,
so `depaudit.gate` checks them, with this type and these verdicts.)

Every check has a verdict: `pass` only when the data shows it (every size it depends on is known),
`fail` when the known part already exceeds the limit (or, for a zero accelerator budget, when any
accelerator wheel is installed, whatever its size), and `unknown` otherwise — a lower bound under the
limit proves nothing. A lock target that cannot be installed as locked (a package with no wheel and no
sdist for it) or that builds a package from source the user did not accept (`allow_builds`) is never a
`pass` either: what it installs is not known. Only `pass` passes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

from depaudit.analysis.causes import Cause, accelerator_causes, causes
from depaudit.analysis.sizes import index_unreachable
from depaudit.model import InstalledPackage, SizeReport, TargetReport
from depaudit.names import canonical_name
from depaudit.units import format_size

if TYPE_CHECKING:  # a scan without --baseline never compares locks
    from depaudit.analysis.lockdiff import LockDiff, TargetDiff

Verdict = Literal["pass", "fail", "unknown"]
CheckKind = Literal[
    "download",
    "accelerator",
    "no-accelerator",
    "image-size",
    "latency",
    "download-increase",
    "new-accelerator",
    "image-accelerator",
    "image-waste",
]

RULE_OF_CHECK: dict[str, str] = {
    "download": "DA501",
    "accelerator": "DA502",
    "no-accelerator": "DA503",
    "image-size": "DA504",
    "latency": "DA505",
    "download-increase": "DA506",
    "new-accelerator": "DA507",
    "image-accelerator": "DA508",
    "image-waste": "DA509",
}
"""The budget rule (DA5xx) a failing or unverifiable check is reported as."""


class BudgetCheck(NamedTuple):
    """One budget applied to one subject (a lock's target, an image, a variant at one input size):
    what was measured (None: unknown), the limit, the verdict, the biggest contributors, and the file and
    line a finding about it points at. For a lock target, also what keeps the measure from being shown:
    `unknown_sizes` (counted packages whose size is unknown), `builds` (packages built from source that
    the user did not accept) and `not_installable` (no wheel and no sdist for the target), and `count`
    (how many accelerator packages the target installs, for the accelerator checks)."""

    check: CheckKind
    subject: str
    measured: float | None
    limit: float
    verdict: Verdict
    unit: Literal["bytes", "ms"]
    offenders: tuple[tuple[str, float | None], ...] = ()
    note: str = ""
    path: str = ""
    line: int | None = None
    target: str | None = None
    unknown_sizes: tuple[str, ...] = ()
    builds: tuple[str, ...] = ()
    not_installable: tuple[str, ...] = ()
    count: int | None = None  # type: ignore[assignment]  # shadows tuple.count, which no caller wants
    index_errors: tuple[str, ...] = ()  # why the index could not be reached for an unknown size (exit 4)
    causes: tuple[Cause, ...] = ()  # the direct dependencies that bring the counted bytes in, biggest first

    @property
    def passed(self) -> bool:
        """True only for a pass shown by the data."""
        return self.verdict == "pass"

    @property
    def rule(self) -> str:
        """The DA5xx rule of this kind of check."""
        return RULE_OF_CHECK[self.check]

    @property
    def exceeded(self) -> bool:
        """True when the measured (known) part is over the limit."""
        return self.measured is not None and self.measured > self.limit

    def measured_text(self, binary: bool = False) -> str:
        """The measure as every output shows it: `1.2 GB`, `0 B + 2 unknown`, `unknown`."""
        text = show(self.measured, self.unit, binary)
        return text + (f" + {len(self.unknown_sizes)} unknown" if self.unknown_sizes else "")

    def message(self, binary: bool = False) -> str:
        """One line: subject, what was measured against which limit, the verdict, the offenders. The
        wording follows the verdict and the numbers: "within" only for a pass, "exceeds" only when the
        known part is over the limit, "cannot verify" for an unknown (tests/test_budgets.py pins it)."""
        shown = self.measured_text(binary)
        limit = show(self.limit, self.unit, binary)
        head = f"{self.subject}: {self.check}"
        if self.check == "new-accelerator":
            listed = ", ".join(n for n, _ in self.offenders)
            text = (
                f"{head}: none"
                if self.passed
                else f"{self.subject}: {len(self.offenders)} new accelerator packages: {listed}"
            )
            return text + (f" [{self.note}]" if self.note else "")
        if self.check == "download-increase":
            shown = ("+" if (self.measured or 0) >= 0 else "") + shown
        if self.check == "download-increase" and self.verdict == "unknown":
            text = f"{head} {shown} over known sizes, budget {limit}: cannot verify"
        elif self.check == "no-accelerator":
            text = {
                "pass": f"{head}: no accelerator wheels",
                "fail": f"{head}: installs accelerator wheels ({self.count or 0} packages, {shown})",
                "unknown": f"{head}: no accelerator wheel found ({shown}), but cannot verify",
            }[self.verdict]
        elif self.verdict == "unknown" and self.measured is None:
            text = f"{head} unknown, budget {limit}: cannot verify"
        elif self.verdict == "unknown":
            text = f"{head} at least {shown}, budget {limit}: cannot verify"
        elif self.verdict == "pass":
            text = f"{head} {shown} within the budget of {limit}"
        elif self.exceeded:
            text = f"{head} {shown} exceeds the budget of {limit}"
        elif self.count:
            text = f"{head} {shown} fails the budget of {limit}: {self.count} accelerator packages install"
        else:
            text = f"{head} {shown} fails the budget of {limit}"
        if not self.passed and self.offenders:
            text += "; biggest: " + ", ".join(f"{n} ({show(v, self.unit, binary)})" for n, v in self.offenders)
        if self.note:
            text += f" [{self.note}]"
        return text


def show(value: float | None, unit: str, binary: bool = False) -> str:
    """A measured value for humans: a size, milliseconds, or "unknown"."""
    if value is None:
        return "unknown"
    return format_size(int(value), binary) if unit == "bytes" else f"{value:,.0f} ms"


class LockLimits(NamedTuple):
    """Lock budgets: bytes per target for download and accelerator wheels (None: not checked), each
    overridable per target, and targets that must install no accelerator wheel at all. `tighter` holds
    further layers that apply as well (the project's files, beside the command line's budgets): the
    smallest limit of every layer is the one checked, so no layer can raise another's."""

    max_download: int | None = None
    max_accelerator: int | None = None
    no_accelerator_targets: tuple[str, ...] = ()
    per_target: tuple[tuple[str, str, int], ...] = ()  # (target, "max-download" | "max-accelerator", bytes)
    tighter: tuple[LockLimits, ...] = ()
    label: str = ""

    def own_limit(self, key: str, target: str) -> int | None:
        """This layer's `key` budget of `target`: its own entry, else its budget for every target."""
        for name, which, value in self.per_target:
            if name == target and which == key:
                return value
        return self.max_download if key == "max-download" else self.max_accelerator

    def limit(self, key: str, target: str) -> int | None:
        """The `key` budget of `target`: the smallest over every layer that sets one."""
        values = [
            v for v in (self.own_limit(key, target), *(t.limit(key, target) for t in self.tighter)) if v is not None
        ]
        return min(values) if values else None

    @property
    def named_targets(self) -> tuple[str, ...]:
        """Targets a budget names (per-target entries, no-accelerator targets): always checked."""
        names = [name for name, _, _ in self.per_target] + list(self.no_accelerator_targets)
        names += [name for layer in self.tighter for name in layer.named_targets]
        return tuple(dict.fromkeys(names))

    @property
    def any(self) -> bool:
        """True when some lock budget is set."""
        own = (
            self.max_download is not None
            or self.max_accelerator is not None
            or bool(self.no_accelerator_targets)
            or bool(self.per_target)
        )
        return own or any(layer.any for layer in self.tighter)


ALL_BUILDS = ":all:"
"""The `--allow-build` value that accepts every package built from source (as pip's `:all:`)."""


def allowed_builds(values: Iterable[str]) -> tuple[str, ...]:
    """`--allow-build` values as canonical package names (ALL_BUILDS kept as is; commas split)."""
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(n if n == ALL_BUILDS else canonical_name(n) for n in names))


def _ranked(packages: Iterable[InstalledPackage]) -> list[InstalledPackage]:
    return sorted(packages, key=lambda p: (p.size is None, -(p.size or 0), p.name))


def _offenders(packages: Sequence[InstalledPackage], count: int) -> tuple[tuple[str, float | None], ...]:
    return tuple((p.name, None if p.size is None else float(p.size)) for p in packages[:count])


class _Blockers(NamedTuple):
    """What keeps a target's budgets from being verified whatever the sizes: packages built from source
    that the user did not accept, and packages with no wheel and no sdist for the target."""

    builds: tuple[InstalledPackage, ...]
    not_installable: tuple[InstalledPackage, ...]

    @classmethod
    def of(cls, t: TargetReport, allow_builds: Collection[str]) -> _Blockers:
        every = ALL_BUILDS in allow_builds
        builds = tuple(p for p in t.packages if p.install_kind == "build" and not (every or p.name in allow_builds))
        return cls(builds, tuple(p for p in t.packages if p.install_kind == "none"))

    def __bool__(self) -> bool:
        return bool(self.builds or self.not_installable)

    @property
    def line(self) -> int | None:
        first = (self.not_installable or self.builds)[:1]
        return first[0].package.line if first else None

    def note(self) -> str:
        parts = []
        if self.not_installable:
            parts.append(f"cannot install: {_names(self.not_installable)} (no wheel and no sdist for this target)")
        if self.builds:
            accept = self.builds[0].name if len(self.builds) == 1 else ALL_BUILDS
            parts.append(
                f"built from source: {_names(self.builds)} (what a build installs is unknown; "
                f"--allow-build {accept} accepts it)"
            )
        return "; ".join(parts)


def _names(packages: Sequence[InstalledPackage], shown: int = 5) -> str:
    more = f" and {len(packages) - shown} more" if len(packages) > shown else ""
    return ", ".join(p.name for p in packages[:shown]) + more


def _installs(p: InstalledPackage) -> bool:
    """True when the target really gets something of this package (a wheel or a build)."""
    return p.install_kind in ("wheel", "build")


def _unknown_note(count: int) -> str:
    return f"{count} size{'s' if count != 1 else ''} unknown: the total is a lower bound" if count else ""


def _notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _conditional_note(packages: Sequence[InstalledPackage]) -> str:
    """`3 may install (counted): 'SMP' in platform_version` when packages hang on an unknowable marker."""
    markers = list(dict.fromkeys(p.condition for p in packages if p.condition is not None))
    if not markers:
        return ""
    count = sum(1 for p in packages if p.condition is not None)
    return f"{count} may install (counted): {' / '.join(markers[:2])}{' …' if len(markers) > 2 else ''}"


def _size_check(
    kind: CheckKind,
    t: TargetReport,
    counted: Sequence[InstalledPackage],
    limit: int,
    label: str,
    path: str,
    count: int,
    blockers: _Blockers,
    *,
    any_fails: bool = False,
) -> BudgetCheck:
    """A size budget over `counted`: fails when the known bytes exceed `limit` (or, with `any_fails`,
    when any of them installs at all); otherwise unknown when a size is missing or `blockers` stand in
    the way, and passes only when neither does."""
    ranked = _ranked(counted)
    measured = sum(p.size for p in counted if p.size is not None)
    unknown = tuple(p.name for p in ranked if p.size is None and p.wheel is not None)
    installing = [p for p in ranked if _installs(p)]
    over = measured > limit or bool(any_fails and installing)
    verdict: Verdict = "fail" if over else "unknown" if unknown or blockers else "pass"
    failing = verdict != "pass"
    line = blockers.line if verdict == "unknown" and blockers else None
    if line is None and failing and ranked:
        line = ranked[0].package.line
    note = _notes(_unknown_note(len(unknown)), blockers.note(), _conditional_note(ranked) if failing else "")
    return BudgetCheck(
        kind,
        label,
        float(measured),
        float(limit),
        verdict,
        "bytes",
        _offenders(ranked, count) if failing else (),
        note,
        path,
        line,
        t.target.name,
        unknown_sizes=unknown,
        builds=tuple(p.name for p in blockers.builds),
        not_installable=tuple(p.name for p in blockers.not_installable),
        count=len(installing) if kind != "download" else None,
        index_errors=tuple(sorted({e for p in ranked if (e := p.size_error) is not None and index_unreachable(e)})),
        causes=(causes(ranked) if kind == "download" else accelerator_causes(ranked))[:3] if failing else (),
    )


def _download(t: TargetReport, limit: int, label: str, path: str, count: int, blockers: _Blockers) -> BudgetCheck:
    # Unknown: wheels whose size is unknown (local and sdist builds download no wheel; builds block).
    return _size_check("download", t, t.packages, limit, label, path, count, blockers)


def _accelerator(t: TargetReport, limit: int, label: str, path: str, count: int, blockers: _Blockers) -> BudgetCheck:
    accel = [p for p in t.packages if p.accelerator]
    return _size_check("accelerator", t, accel, limit, label, path, count, blockers, any_fails=limit == 0)


def _no_accelerator(t: TargetReport, label: str, path: str, count: int, blockers: _Blockers) -> BudgetCheck:
    # Fails when any accelerator package installs (a wheel or a build, of any size); unknown when
    # none does but the target builds or cannot install something.
    accel = [p for p in t.packages if p.accelerator]
    return _size_check("no-accelerator", t, accel, 0, label, path, count, blockers, any_fails=True)


def _unsupported(t: TargetReport, check: CheckKind, limit: float, label: str, path: str) -> BudgetCheck:
    if t.unresolved:  # nothing is known about what would install: never a pass
        note = f"not installable for this target: {t.unsupported_reason}"
        return BudgetCheck(check, label, None, limit, "unknown", "bytes", (), note, path, None, t.target.name)
    note = f"target not supported by this lock ({t.unsupported_reason}): nothing installs"
    return BudgetCheck(check, label, 0.0, limit, "pass", "bytes", (), note, path, None, t.target.name)


def check_report(
    report: SizeReport,
    limits: LockLimits,
    *,
    prefix: str = "",
    offenders: int = 5,
    allow_builds: Collection[str] = (),
) -> list[BudgetCheck]:
    """Every lock budget over every target of `report` (a scan of the targets the budgets apply to).
    `prefix` starts each subject (gate names the lock: `uv.lock linux-x86_64`). A target that builds a
    package from source or has a package it cannot install never passes (unknown, or fail when already
    over): `allow_builds` names the builds the user accepts (canonical names, or ALL_BUILDS)."""
    checks: list[BudgetCheck] = []
    path = report.lockfile
    for t in report.targets:
        name = t.target.name
        label = f"{prefix}{name}"
        wanted: list[tuple[CheckKind, int]] = []
        for key, kind in (("max-download", "download"), ("max-accelerator", "accelerator")):
            limit = limits.limit(key, name)
            if limit is not None:
                wanted.append((kind, limit))  # type: ignore[arg-type]  # kind is a CheckKind literal
        if name in limits.no_accelerator_targets:
            wanted.append(("no-accelerator", 0))
        blockers = _Blockers.of(t, allow_builds) if t.supported else _Blockers((), ())
        for kind, limit in wanted:
            if not t.supported:
                checks.append(_unsupported(t, kind, float(limit), label, path))
            elif kind == "download":
                checks.append(_unverified(report, _download(t, limit, label, path, offenders, blockers)))
            elif kind == "accelerator":
                checks.append(_unverified(report, _accelerator(t, limit, label, path, offenders, blockers)))
            else:
                checks.append(_no_accelerator(t, label, path, offenders + 3, blockers))
    return checks


def index_failures(checks: Iterable[BudgetCheck]) -> tuple[str, ...]:
    """Why the index could not be reached, when that is what left a check UNKNOWN and no check is already
    over its limit: the run then ends with exit 4 (a service failed) rather than 1. Empty otherwise."""
    checks = list(checks)
    if any(c.verdict == "fail" for c in checks):
        return ()
    return tuple(sorted({e for c in checks if c.verdict == "unknown" for e in c.index_errors}))


UNVERIFIED_NOTE = "sizes taken from the lock, not checked against the index (offline)"


def _unverified(report: SizeReport, check: BudgetCheck) -> BudgetCheck:
    """`check` saying so when the sizes it rests on came from the lock unchecked (a lock's numbers are
    input: online, gate and diff check them against the index)."""
    if not report.lock_sizes_used:
        return check
    return check._replace(note=_notes(check.note, UNVERIFIED_NOTE))


def check_diff(
    diff: LockDiff, *, max_increase: int | None = None, fail_on_new_accelerator: bool = False, path: str = ""
) -> list[BudgetCheck]:
    """The diff budgets per target: growth of the download against `max_increase` (DA506) and
    accelerator packages the head installs that the base did not (DA507). A growth is checked over
    known sizes; when a package the head adds or changes has an unknown size there, the increase cannot
    be shown to be within budget: UNKNOWN, never a pass."""
    checks: list[BudgetCheck] = []
    for t in diff.targets:
        if max_increase is not None:
            check = _increase(t, max_increase, path)
            if check is not None:
                checks.append(check)
        if fail_on_new_accelerator:
            new = [c for c in t.changes if c.new_accelerator]
            offenders = tuple(
                (f"{c.name} ({c.after_accelerator})", None if c.after_size is None else float(c.after_size))
                for c in new
            )
            verdict: Verdict = "fail" if new else "pass"
            checks.append(
                BudgetCheck(
                    "new-accelerator",
                    t.target,
                    float(len(new)),
                    0.0,
                    verdict,
                    "bytes",
                    offenders,
                    path=path,
                    target=t.target,
                )
            )
    return checks


def _increase(t: TargetDiff, limit: int, path: str) -> BudgetCheck | None:
    # A target the base did not support grows by everything the head installs there.
    growth = t.delta_bytes if t.before_bytes is not None else t.after_bytes
    if growth is None:
        return None  # the head does not install anything on this target
    grown = [c for c in t.changes if (c.delta or 0) > 0]
    offenders = tuple((c.name, float(c.delta or 0)) for c in grown[:5])
    unknown = [c.name for c in t.added + t.changed if c.after_size is None]
    verdict: Verdict = "fail" if growth > limit else "unknown" if unknown else "pass"
    note = ""
    if verdict == "unknown":
        from depaudit.analysis.lockdiff import names_list

        note = (
            f"size unknown for {names_list(unknown)} (no size in the lock and none looked up, or no wheel "
            "for this target)"
        )
    return BudgetCheck(
        "download-increase",
        t.target,
        float(growth),
        float(limit),
        verdict,
        "bytes",
        offenders,
        note,
        path,
        target=t.target,
    )


def image_check(
    kind: CheckKind,
    subject: str,
    measured: int,
    limit: int,
    offenders: Sequence[tuple[str, int]] = (),
    *,
    path: str = "",
    count: int = 5,
) -> BudgetCheck:
    """A bytes budget over one figure measured in an image (its accelerator runtime bytes, its wasted
    bytes): pass when within `limit`, fail when over (a budget of 0 fails on any byte); a failing check
    names its `count` biggest offenders. The figure is read from the image itself, so it is never
    unknown."""
    verdict: Verdict = "pass" if measured <= limit else "fail"
    named = tuple((name, float(size)) for name, size in offenders[:count]) if verdict == "fail" else ()
    return BudgetCheck(kind, subject, float(measured), float(limit), verdict, "bytes", named, path=path)
