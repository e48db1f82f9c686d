"""Budgets over measured sizes, checked in one place for `depaudit scan` and `depaudit gate`: download
and accelerator bytes per target of a lock, targets that must install no accelerator wheel, image sizes
and service latency.

Every check has a verdict: `pass` only when the data shows it (every size it depends on is known),
`fail` when the known part already exceeds the limit (or, for a zero accelerator budget, when any
accelerator wheel is installed, whatever its size), and `unknown` otherwise — a lower bound under the
limit proves nothing. Only `pass` passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.model import InstalledPackage, SizeReport, TargetReport
from depaudit.settings import SettingSources, as_strings, convert, layer_error, subtable
from depaudit.targets import DEFAULT_TARGETS
from depaudit.units import format_size

TARGET_KEYS = ("max-download", "max-accelerator", "no-accelerator")

Verdict = Literal["pass", "fail", "unknown"]
CheckKind = Literal["download", "accelerator", "no-accelerator", "image-size", "latency"]

RULE_OF_CHECK: dict[str, str] = {
    "download": "DA501",
    "accelerator": "DA502",
    "no-accelerator": "DA503",
    "image-size": "DA504",
    "latency": "DA505",
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
        if self.check == "no-accelerator":
            text = (
                f"{self.subject}: no-accelerator: no accelerator wheels"
                if self.passed
                else f"{self.subject}: no-accelerator: installs accelerator wheels ({shown})"
            )
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
    overridable per target, and targets that must install no accelerator wheel at all."""

    max_download: int | None = None
    max_accelerator: int | None = None
    no_accelerator_targets: tuple[str, ...] = ()
    per_target: tuple[tuple[str, str, int], ...] = ()  # (target, "max-download" | "max-accelerator", bytes)

    def limit(self, key: str, target: str) -> int | None:
        """The `key` budget of `target`: its own entry, else the budget for every target."""
        for name, which, value in self.per_target:
            if name == target and which == key:
                return value
        return self.max_download if key == "max-download" else self.max_accelerator

    @property
    def named_targets(self) -> tuple[str, ...]:
        """Targets a budget names (per-target entries, no-accelerator targets): always checked."""
        names = [name for name, _, _ in self.per_target] + list(self.no_accelerator_targets)
        return tuple(dict.fromkeys(names))

    @property
    def any(self) -> bool:
        """True when some lock budget is set."""
        return (
            self.max_download is not None
            or self.max_accelerator is not None
            or bool(self.no_accelerator_targets)
            or bool(self.per_target)
        )


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
        _notes(_unknown_note(unknown), _conditional_note(ranked) if failing else ""),
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
        _conditional_note(accel),
        path,
        line,
        t.target.name,
    )


def _unsupported(t: TargetReport, check: CheckKind, limit: float, label: str, path: str) -> BudgetCheck:
    note = f"target not supported by this lock ({t.unsupported_reason}): nothing installs"
    return BudgetCheck(check, label, 0.0, limit, "pass", "bytes", (), note, path, None, t.target.name)


def _target_name(name: str, error: Callable[[str], DepauditError], where: str) -> str:
    if name not in DEFAULT_TARGETS:
        raise error(f"{where}: unknown target {name!r} (known: {', '.join(DEFAULT_TARGETS)})")
    return name


def size_entries(key: str, value: Any, error: Callable[[str], DepauditError]) -> tuple[int | None, dict[str, int]]:
    """`[TARGET=]SIZE` entries (a list, or one comma-separated string) as (budget for every target,
    budgets per target). Raises `error` for a bad size or an unknown target."""
    items = value if isinstance(value, (list, tuple)) else [value]
    every: int | None = None
    named: dict[str, int] = {}
    for item in items:
        for part in str(item).split(",") if isinstance(item, str) else [item]:
            text = str(part).strip()
            if not text:
                continue
            target, eq, size = text.partition("=")
            amount = convert("size", key, size if eq else part, error)
            if eq:
                named[_target_name(target.strip(), error, key)] = amount
            else:
                every = amount
    return every, named


def _per_target_tables(table: Mapping[str, Any], pyproject: Path | None) -> tuple[dict[str, dict[str, int]], list[str]]:
    """`[tool.depaudit.per-target.<name>]` tables: size budgets per target, and targets with
    `no-accelerator = true`."""
    sizes: dict[str, dict[str, int]] = {}
    no_accel: list[str] = []

    def error(what: str) -> DepauditError:
        return InputError(pyproject or "pyproject.toml", f"[tool.depaudit.per-target] {what}")

    for name, entry in subtable(table, "per-target", pyproject).items():
        _target_name(name, error, "table")
        if not isinstance(entry, dict) or set(entry) - set(TARGET_KEYS):
            raise error(f"{name}: expected a table of {', '.join(TARGET_KEYS)}")
        for key in ("max-download", "max-accelerator"):
            if key in entry:
                sizes.setdefault(key, {})[name] = convert("size", f"{name}.{key}", entry[key], error)
        if entry.get("no-accelerator") is True:
            no_accel.append(name)
    return sizes, no_accel


def _size_budgets(
    key: str, sources: SettingSources, tables: Mapping[str, dict[str, int]], cli_value: Any
) -> tuple[int | None, dict[str, int]]:
    """One size budget across every layer: for each target, the highest layer that sets a budget for it
    or for every target (within a layer, the target's own entry wins); `[tool.depaudit.per-target]` tables
    belong to the pyproject layer."""
    every: int | None = None
    named: dict[str, int] = {}
    layers = sources.layers(key, cli_value)
    if key in tables and not any(found.origin == "pyproject" for found in layers):
        named.update(tables[key])
    for found in layers:
        layer_every, layer_named = size_entries(key, found.value, layer_error(found, sources.pyproject))
        if found.origin == "pyproject":
            layer_named = {**tables.get(key, {}), **layer_named}
        if layer_every is not None:
            every, named = layer_every, {}  # a higher "every target" budget replaces lower per-target ones
        named.update(layer_named)
    return every, named


def load_lock_limits(cli: Mapping[str, Any], sources: SettingSources) -> LockLimits:
    """Lock budgets from every layer (`cli` keyed `max-download`, `max-accelerator`,
    `no-accelerator-targets`). Raises InputError for a bad pyproject value, UsageError for a bad
    environment or command-line value."""
    tables, table_no_accel = _per_target_tables(sources.table, sources.pyproject)
    every: dict[str, int | None] = {}
    per_target: list[tuple[str, str, int]] = []
    for key in ("max-download", "max-accelerator"):
        every[key], named = _size_budgets(key, sources, tables, cli.get(key))
        per_target += [(name, key, value) for name, value in named.items()]
    found = sources.winner("no-accelerator-targets", cli.get("no-accelerator-targets"), "--no-accelerator-target")
    listed = as_strings("no-accelerator-targets", found.value, layer_error(found, sources.pyproject)) if found else ()
    no_accel = tuple(dict.fromkeys([*listed, *table_no_accel]))
    for name in no_accel:
        _target_name(name, UsageError, "--no-accelerator-target")
    return LockLimits(every["max-download"], every["max-accelerator"], no_accel, tuple(per_target))


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
                checks.append(_unverified(report, _download(t, limit, label, path, offenders)))
            elif kind == "accelerator":
                checks.append(_unverified(report, _accelerator(t, limit, label, path, offenders)))
            else:
                checks.append(_no_accelerator(t, label, path, offenders + 3))
    return checks


UNVERIFIED_NOTE = "sizes taken from the lock, not checked against the index (offline)"


def _unverified(report: SizeReport, check: BudgetCheck) -> BudgetCheck:
    """`check` saying so when the sizes it rests on came from the lock unchecked (a lock's numbers are
    input: online, gate and diff check them against the index)."""
    if not report.lock_sizes_used:
        return check
    return replace(check, note=_notes(check.note, UNVERIFIED_NOTE))


def check_budgets(
    report: SizeReport, *, max_download: int | None = None, max_accelerator: int | None = None, offenders: int = 5
) -> list[BudgetCheck]:
    """The checks of `report` that do not pass (exceeded, or not verifiable because sizes are unknown)
    for budgets that apply to every target."""
    limits = LockLimits(max_download, max_accelerator)
    return [c for c in check_report(report, limits, offenders=offenders) if not c.passed]
