"""`depaudit gate`: the budgets a CI job enforces — image size, lock download and accelerator bytes per
target, targets that must install no accelerator wheel, and service latency from a `depaudit bench`
report. Checking is in depaudit.budgets; rendering in depaudit.render.gate; this module resolves the
budgets (depaudit.settings' precedence) and runs every check they ask for.

Every lock budget applies to every selected target (`--target`/`targets`, default all presets) unless
the budget itself names targets: `[tool.depaudit.per-target.<target>]` tables or `TARGET=SIZE` values
(`--max-download linux-aarch64=3GB`). A target a budget names is always checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from depaudit.analysis.size_lookup import DEFAULT_DEADLINE
from depaudit.budgets import BudgetCheck, LockLimits, Verdict, check_report, load_lock_limits
from depaudit.errors import InputError, UsageError
from depaudit.fileio import read_text
from depaudit.images import engine
from depaudit.logs import get_logger
from depaudit.model import Finding, Lock, Selection, SizeReport
from depaudit.rules.base import RuleDoc, describe
from depaudit.rules.engine import PragmaIndex, RuleSelection, run
from depaudit.rules.run_budgets import budget_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import scan_lock
from depaudit.settings import Kind, SettingSources, convert, layer_error, project_settings, resolve_layers, subtable
from depaudit.sources.uvlock import load_lock
from depaudit.targets import DEFAULT_TARGETS

log = get_logger(__name__)

# key in [tool.depaudit] -> (kind, command-line option); "sizes" are [TARGET=]SIZE entries.
GATE_KEYS: dict[str, tuple[Kind | Literal["sizes"], str]] = {
    "max-image-size": ("size", "--max-image-size"),
    "max-download": ("sizes", "--max-download"),
    "max-accelerator": ("sizes", "--max-accelerator"),
    "no-accelerator-targets": ("list", "--no-accelerator-target"),
    "max-latency-ms": ("float", "--max-latency-ms"),
    "latency-percentile": ("percentile", "--latency-percentile"),
    "images": ("list", "IMAGE"),
    "lock": ("path", "--lock"),
    "bench-report": ("path", "--bench-report"),
    "targets": ("list", "--target"),
}


@dataclass(frozen=True)
class Budgets:
    """Resolved budgets; None or empty means "not checked". `sources` says where each value came from;
    `pyproject` is the file settings were read from (findings about image budgets point at it)."""

    max_image_size: int | None = None
    lock_limits: LockLimits = field(default_factory=LockLimits)
    max_latency_ms: float | None = None
    latency_percentile: str = "p95"
    images: tuple[str, ...] = ()
    lock: Path | None = None
    bench_report: Path | None = None
    targets: tuple[str, ...] = ()
    selection: Selection = field(default_factory=Selection)
    sources: tuple[tuple[str, str], ...] = ()
    pyproject: Path | None = None

    @property
    def max_download(self) -> int | None:
        """The download budget for every target (per-target entries are in `lock_limits`)."""
        return self.lock_limits.max_download

    @property
    def max_accelerator(self) -> int | None:
        """The accelerator budget for every target."""
        return self.lock_limits.max_accelerator

    @property
    def no_accelerator_targets(self) -> tuple[str, ...]:
        """Targets that must install no accelerator wheel."""
        return self.lock_limits.no_accelerator_targets


@dataclass(frozen=True)
class GateResult:
    """Every check the budgets asked for, in order: images, lock targets, latency; and the lock's own
    findings that fail a gate (DA105: a lock size that differs from the index's)."""

    checks: tuple[BudgetCheck, ...] = ()
    lock_findings: tuple[Finding, ...] = ()

    @property
    def passed(self) -> bool:
        """True only when every check passed (an unverifiable check does not) and the lock's sizes held."""
        return all(c.passed for c in self.checks) and not self.lock_findings

    @property
    def breaches(self) -> tuple[BudgetCheck, ...]:
        """The checks that failed or could not be verified."""
        return tuple(c for c in self.checks if not c.passed)


# ---------------------------------------------------------------- settings


def load_budgets(
    cli: Mapping[str, Any],
    pyproject: Path | None,
    environ: Mapping[str, str] | None = None,
    selection: Selection | None = None,
) -> Budgets:
    """Resolve budgets: defaults < [tool.depaudit] < DEPAUDIT_* env < command line (`cli`, keyed like
    GATE_KEYS; None or empty means unset). Raises InputError for a bad pyproject value (exit 3),
    UsageError for a bad environment or command-line value (exit 2)."""
    env = os.environ if environ is None else environ
    table = project_settings(pyproject)
    options = {key: option for key, (_, option) in GATE_KEYS.items()}
    layers = resolve_layers({k: cli.get(k) for k in GATE_KEYS}, pyproject, env, options=options, table=table)
    values: dict[str, Any] = {}
    for key, found in layers.items():
        kind = GATE_KEYS[key][0]
        if kind != "sizes":
            values[key] = convert(kind, key, found.value, layer_error(found, pyproject))
    sources = {key: found.label for key, found in layers.items()}
    base = pyproject.parent if pyproject is not None else None
    for key in ("lock", "bench-report"):
        if key in values and base is not None and layers[key].origin == "pyproject":
            values[key] = base / values[key]  # relative to the pyproject that names it
    if "lock" not in values and base is not None and (base / "uv.lock").is_file():
        values["lock"] = base / "uv.lock"  # the project's own lock by default
        sources["lock"] = f"{base / 'uv.lock'} (beside pyproject.toml)"
    limits = load_lock_limits(cli, SettingSources(table, env, pyproject))
    if limits.per_target:
        sources.setdefault(
            "per-target",
            f"{pyproject} [tool.depaudit.per-target]"
            if subtable(table, "per-target", pyproject)
            else "inline TARGET=SIZE",
        )
    return Budgets(
        max_image_size=values.get("max-image-size"),
        lock_limits=limits,
        max_latency_ms=values.get("max-latency-ms"),
        latency_percentile=values.get("latency-percentile", "p95"),
        images=values.get("images", ()),
        lock=values.get("lock"),
        bench_report=values.get("bench-report"),
        targets=values.get("targets", ()),
        selection=selection or Selection(),
        sources=tuple(sorted(sources.items())),
        pyproject=pyproject,
    )


# ---------------------------------------------------------------- checks


def key_line(pyproject: Path | None, key: str) -> int | None:
    """The line of `key = ...` in a pyproject's [tool.depaudit] table (None when absent)."""
    if pyproject is None:
        return None
    try:
        lines = read_text(pyproject, "pyproject.toml").splitlines()
    except InputError:
        return None
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped == "[tool.depaudit]"
        elif inside and stripped.split("=", 1)[0].strip() == key:
            return number
    return None


def check_image_sizes(
    images: Sequence[str], limit: int, *, offenders: int = 3, path: str = "", line: int | None = None
) -> list[BudgetCheck]:
    """Size on disk of each image against `limit`; a breach names the image's biggest layers.
    Raises ToolError when the engine is unreachable or an image is missing."""
    checks = []
    for ref in images:
        info = engine.inspect_image(ref)
        top: tuple[tuple[str, float | None], ...] = ()
        if info.size > limit:
            layers = sorted(engine.image_history(ref), key=lambda e: -e.size)[:offenders]
            top = tuple((_short(e.created_by), float(e.size)) for e in layers if e.size > 0)
        verdict: Verdict = "pass" if info.size <= limit else "fail"
        checks.append(
            BudgetCheck("image-size", ref, float(info.size), float(limit), verdict, "bytes", top, path=path, line=line)
        )
    return checks


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def lock_targets(budgets: Budgets) -> list[str] | None:
    """The targets to scan: the selected ones (all presets by default) plus every target a budget names."""
    named = budgets.lock_limits.named_targets
    if not budgets.targets:
        extra = [n for n in named if n not in DEFAULT_TARGETS]
        return [*DEFAULT_TARGETS, *extra] if extra else None
    return list(dict.fromkeys([*budgets.targets, *named]))


def check_lock(
    budgets: Budgets,
    *,
    offline: bool = False,
    scan: Callable[..., SizeReport] = scan_lock,
    allow_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
) -> list[BudgetCheck]:
    """Lock budgets per target (download, accelerator bytes) and the no-accelerator targets; size
    look-ups end after `lookup_deadline` seconds. Raises UsageError when no lock is known,
    InputError/ToolError from the scan."""
    return lock_checks(
        budgets, offline=offline, scan=scan, allow_hosts=allow_hosts, lookup_deadline=lookup_deadline
    ).checks


class LockChecks(NamedTuple):
    """The lock budgets' checks, and the lock and scan they were made on."""

    checks: list[BudgetCheck]
    lock: Lock
    report: SizeReport


def lock_checks(
    budgets: Budgets,
    *,
    offline: bool = False,
    scan: Callable[..., SizeReport] = scan_lock,
    allow_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
) -> LockChecks:
    """`check_lock`'s checks and the lock and scan they were made on. Online, the lock's wheel sizes are checked
    against the index and the index's numbers used (see `analysis.sizes`)."""
    if budgets.lock is None:
        raise UsageError(
            'a lock budget is set but no lock file: pass --lock uv.lock (or lock = "uv.lock" in [tool.depaudit])'
        )
    lock = load_lock(budgets.lock)
    targets = lock_targets(budgets)
    log.info("gate: scanning %s for %s", budgets.lock, ", ".join(targets or DEFAULT_TARGETS))
    extra: dict[str, Any] = {"allow_hosts": tuple(allow_hosts)} if allow_hosts else {}
    if lookup_deadline != DEFAULT_DEADLINE:
        extra["lookup_deadline"] = lookup_deadline
    if not offline:
        extra["verify_sizes"] = True
    report = scan(lock, targets=targets, offline=offline, selection=budgets.selection, **extra)
    return LockChecks(check_report(report, budgets.lock_limits, prefix=f"{budgets.lock} "), lock, report)


def load_bench_report(report_path: Path) -> dict[str, Any]:
    """A `depaudit bench` JSON report (schema 1 with variants). Raises InputError when unreadable."""
    text = read_text(report_path, "bench report")  # the bounded reader: regular files only
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputError(report_path, "not JSON: nested too deeply") from None
    except ValueError as exc:
        raise InputError(report_path, f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != 1 or not isinstance(data.get("variants"), list):
        raise InputError(report_path, "not a depaudit bench report (expected schema 1 with variants)")
    return data


def check_latency(report_path: Path, limit_ms: float, percentile: str = "p95") -> list[BudgetCheck]:
    """Latency per variant and input size from a `depaudit bench` JSON report against `limit_ms`.
    A size that failed to run fails the check. Raises InputError for an unreadable report."""
    data = load_bench_report(report_path)
    key = f"{percentile}_ms"
    checks = []
    for variant in data["variants"]:
        for lat in variant.get("latency") or ():
            value = lat.get(key)
            subject = f"{variant.get('variant')} {lat.get('size')} {percentile}"
            if value is None:
                checks.append(
                    BudgetCheck(
                        "latency",
                        subject,
                        None,
                        limit_ms,
                        "fail",
                        "ms",
                        note=lat.get("error") or "no measurement",
                        path=str(report_path),
                    )
                )
                continue
            verdict: Verdict = "pass" if value <= limit_ms else "fail"
            checks.append(BudgetCheck("latency", subject, float(value), limit_ms, verdict, "ms", path=str(report_path)))
    if not checks:
        raise InputError(report_path, "bench report holds no latency measurements")
    return checks


def run_gate(
    budgets: Budgets,
    *,
    offline: bool = False,
    rules: Callable[[str], bool] = lambda rule: True,
    allow_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
) -> GateResult:
    """Every check the budgets ask for whose DA5xx rule `rules` keeps. Raises UsageError when nothing is
    to be checked, also when `rules` leaves out every check."""
    checks: list[BudgetCheck] = []
    if budgets.max_image_size is not None:
        if not budgets.images:
            raise UsageError(
                "--max-image-size needs at least one IMAGE argument (or images = [...] in [tool.depaudit])"
            )
        path = str(budgets.pyproject) if budgets.pyproject else ""
        checks += check_image_sizes(
            budgets.images, budgets.max_image_size, path=path, line=key_line(budgets.pyproject, "max-image-size")
        )
    elif budgets.images:
        raise UsageError("images given but no --max-image-size budget")
    lock_found: list[Finding] = []
    if budgets.lock_limits.any:
        done = lock_checks(budgets, offline=offline, allow_hosts=allow_hosts, lookup_deadline=lookup_deadline)
        checks += done.checks
        lock_found = [f for f in size_findings(done.lock, done.report) if rules(f.rule)]
    if budgets.max_latency_ms is not None:
        if budgets.bench_report is None:
            raise UsageError("--max-latency-ms needs --bench-report FILE (a depaudit bench images.json)")
        checks += check_latency(budgets.bench_report, budgets.max_latency_ms, budgets.latency_percentile)
    if not checks:
        raise UsageError(
            "no budget to check: give --max-image-size, --max-download, --max-accelerator, "
            "--no-accelerator-target or --max-latency-ms (or set them in [tool.depaudit])"
        )
    kept = tuple(c for c in checks if rules(c.rule))
    if not kept:  # a gate that checked nothing must not pass
        left_out = ", ".join(sorted({c.rule for c in checks}))
        raise UsageError(
            f"select/ignore leave out every budget check the budgets ask for ({left_out}): nothing would be "
            "checked; select the DA5xx rules (a select in [tool.depaudit] applies to gate too) or remove the budget"
        )
    return GateResult(kept, tuple(lock_found))


@dataclass(frozen=True)
class GateReport:
    """What `depaudit gate` reports: every check, the budgets and where they came from, the DA5xx
    findings of the checks that did not pass, and the budget rules that ran."""

    result: GateResult
    budgets: Budgets
    findings: tuple[Finding, ...]
    rules: tuple[RuleDoc, ...]

    @property
    def passed(self) -> bool:
        """True only when every check passed."""
        return self.result.passed


def gate_report(
    budgets: Budgets,
    *,
    offline: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    binary: bool = False,
    allow_hosts: Sequence[str] = (),
    lookup_deadline: float | None = DEFAULT_DEADLINE,
) -> GateReport:
    """Run the gate: the checks of the budget rules `select`/`ignore` keep, and their findings.
    Raises UsageError (nothing to check), InputError and ToolError from the checks."""
    chosen = RuleSelection(tuple(select), tuple(ignore))
    result = run_gate(
        budgets, offline=offline, rules=chosen.wants, allow_hosts=allow_hosts, lookup_deadline=lookup_deadline
    )
    findings = [*result.lock_findings, *budget_findings(result.checks, select, ignore, binary=binary)]
    docs = tuple(d for d in describe("DA5") if chosen.wants(d.id))
    if result.lock_findings:
        docs = (*(d for d in describe("DA105")), *docs)
    return GateReport(result, budgets, tuple(findings), docs)


def size_findings(lock: Lock, report: SizeReport) -> list[Finding]:
    """DA105 findings of a scan that checked the lock's sizes against the index (none otherwise; inline
    pragmas do not silence them: a lock is rewritten by uv, and its numbers are the point)."""
    if not report.sizes_checked:
        return []
    return run("DA105", LockSubject(lock, report), pragmas=PragmaIndex(enabled=False))
