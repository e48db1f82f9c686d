"""Budgets over measured sizes, checked in one place for `depaudit scan` and `depaudit gate`: download
and accelerator bytes per target of a lock, targets that must install no accelerator wheel, image sizes
and service latency.

Every check has a verdict: `pass` only when the data shows it (every size it depends on is known),
`fail` when the known part already exceeds the limit (or, for a zero accelerator budget, when any
accelerator wheel is installed, whatever its size), and `unknown` otherwise — a lower bound under the
limit proves nothing. Only `pass` passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from depaudit.analysis.lockdiff import LockDiff, TargetDiff, names_list
from depaudit.model import InstalledPackage, SizeReport, TargetReport
from depaudit.units import format_size

Verdict = Literal["pass", "fail", "unknown"]
CheckKind = Literal[
    "download", "accelerator", "no-accelerator", "image-size", "latency", "download-increase", "new-accelerator"
]

RULE_OF_CHECK: dict[str, str] = {
    "download": "DA501",
    "accelerator": "DA502",
    "no-accelerator": "DA503",
    "image-size": "DA504",
    "latency": "DA505",
    "download-increase": "DA506",
    "new-accelerator": "DA507",
}
"""The budget rule (DA5xx) a failing or unverifiable check is reported as."""


@dataclass(frozen=True)
class BudgetCheck:
    """One budget applied to one subject (a lock's target, an image, a variant at one input size):
    what was measured (None: unknown), the limit, the verdict, the biggest contributors, and the file and
    line a finding about it points at."""

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

    @property
    def passed(self) -> bool:
        """True only for a pass shown by the data."""
        return self.verdict == "pass"

    @property
    def rule(self) -> str:
        """The DA5xx rule of this kind of check."""
        return RULE_OF_CHECK[self.check]

    def message(self, binary: bool = False) -> str:
        """One line: subject, what was measured against which limit, the verdict, the offenders."""
        shown = show(self.measured, self.unit, binary)
        limit = show(self.limit, self.unit, binary)
        if self.check == "new-accelerator":
            listed = ", ".join(n for n, _ in self.offenders)
            text = (
                f"{self.subject}: new-accelerator: none"
                if self.passed
                else f"{self.subject}: {len(self.offenders)} new accelerator packages: {listed}"
            )
            return text + (f" [{self.note}]" if self.note else "")
        if self.check == "download-increase":
            shown = ("+" if (self.measured or 0) >= 0 else "") + shown
        if self.check == "no-accelerator":
            text = (
                f"{self.subject}: no-accelerator: no accelerator wheels"
                if self.passed
                else f"{self.subject}: no-accelerator: installs accelerator wheels ({shown})"
            )
        elif self.verdict == "unknown" and self.check == "download-increase":
            text = f"{self.subject}: download-increase {shown} over known sizes, budget {limit}: cannot verify"
        elif self.verdict == "unknown":
            text = f"{self.subject}: {self.check} at least {shown}, budget {limit}: cannot verify"
        else:
            verdict = "within" if self.passed else "exceeds"
            text = f"{self.subject}: {self.check} {shown} {verdict} the budget of {limit}"
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


@dataclass(frozen=True)
class LockLimits:
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

    def limit_label(self, key: str, target: str) -> str:
        """Which layer set the budget `limit` returns (for messages)."""
        best = self.limit(key, target)
        for layer in (self, *self.tighter):
            if layer.own_limit(key, target) == best and best is not None:
                return layer.label
        return ""

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


def _ranked(packages: Iterable[InstalledPackage]) -> list[InstalledPackage]:
    return sorted(packages, key=lambda p: (p.size is None, -(p.size or 0), p.name))


def _offenders(packages: Sequence[InstalledPackage], count: int) -> tuple[tuple[str, float | None], ...]:
    return tuple((p.name, None if p.size is None else float(p.size)) for p in packages[:count])


def _verdict(known: int, unknown: int, limit: int) -> Verdict:
    if known > limit:
        return "fail"
    return "unknown" if unknown else "pass"


def _unknown_note(count: int) -> str:
    return f"{count} size{'s' if count != 1 else ''} unknown: the total is a lower bound" if count else ""


def _size_check(
    kind: CheckKind,
    t: TargetReport,
    ranked: Sequence[InstalledPackage],
    measured: int,
    unknown: int,
    limit: int,
    label: str,
    path: str,
    count: int,
    *,
    any_fails: bool = False,
) -> BudgetCheck:
    """A size budget over `ranked` (biggest first): fails when the known bytes exceed `limit` (or, with
    `any_fails`, when there is any package at all); unknown when sizes are missing and it does not fail."""
    verdict: Verdict = "fail" if any_fails and ranked else _verdict(measured, unknown, limit)
    failing = verdict != "pass"
    return BudgetCheck(
        kind,
        label,
        float(measured),
        float(limit),
        verdict,
        "bytes",
        _offenders(ranked, count) if failing else (),
        _unknown_note(unknown),
        path,
        ranked[0].package.line if ranked and failing else None,
        t.target.name,
    )


def _download(t: TargetReport, limit: int, label: str, path: str, count: int) -> BudgetCheck:
    # Unknown: wheels whose size is unknown (local and sdist builds download no wheel).
    return _size_check(
        "download", t, _ranked(t.packages), t.total_bytes, len(t.unknown_size), limit, label, path, count
    )


def _accelerator(t: TargetReport, limit: int, label: str, path: str, count: int) -> BudgetCheck:
    accel = _ranked(p for p in t.packages if p.accelerator)
    unknown = sum(1 for p in accel if p.size is None and p.wheel is not None)
    return _size_check(
        "accelerator", t, accel, t.accelerator_bytes, unknown, limit, label, path, count, any_fails=limit == 0
    )


def _no_accelerator(t: TargetReport, label: str, path: str, count: int) -> BudgetCheck:
    accel = _ranked(p for p in t.packages if p.accelerator)
    verdict: Verdict = "fail" if accel else "pass"
    line = accel[0].package.line if accel else None
    return BudgetCheck(
        "no-accelerator",
        label,
        float(t.accelerator_bytes),
        0.0,
        verdict,
        "bytes",
        _offenders(accel, count),
        "",
        path,
        line,
        t.target.name,
    )


def _unsupported(t: TargetReport, check: CheckKind, limit: float, label: str, path: str) -> BudgetCheck:
    note = f"target not supported by this lock ({t.unsupported_reason}): nothing installs"
    return BudgetCheck(check, label, 0.0, limit, "pass", "bytes", (), note, path, None, t.target.name)


def check_report(report: SizeReport, limits: LockLimits, *, prefix: str = "", offenders: int = 5) -> list[BudgetCheck]:
    """Every lock budget over every target of `report` (a scan of the targets the budgets apply to).
    `prefix` starts each subject (gate names the lock: `uv.lock linux-x86_64`)."""
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
        for kind, limit in wanted:
            if not t.supported:
                checks.append(_unsupported(t, kind, float(limit), label, path))
            elif kind == "download":
                checks.append(_download(t, limit, label, path, offenders))
            elif kind == "accelerator":
                checks.append(_accelerator(t, limit, label, path, offenders))
            else:
                checks.append(_no_accelerator(t, label, path, offenders + 3))
    return checks


def check_budgets(
    report: SizeReport, *, max_download: int | None = None, max_accelerator: int | None = None, offenders: int = 5
) -> list[BudgetCheck]:
    """The checks of `report` that do not pass (exceeded, or not verifiable because sizes are unknown)
    for budgets that apply to every target."""
    limits = LockLimits(max_download, max_accelerator)
    return [c for c in check_report(report, limits, offenders=offenders) if not c.passed]


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
