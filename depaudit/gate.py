"""`depaudit gate`: the budgets a CI job enforces — image size, lock download and accelerator bytes per
target, targets that must install no accelerator wheel, and service latency from a `depaudit bench`
report. The budgets are settings (depaudit.settings: the command line's can only be tightened by the
project's files); checking is in depaudit.budgets; rendering in depaudit.render.gate; this module runs
every check the settings ask for.

Every lock budget applies to every selected target (`--target`/`targets`, default all presets) unless
the budget itself names targets: `[tool.depaudit.per-target.<target>]` tables or `TARGET=SIZE` values
(`--max-download linux-aarch64=3GB`). A target a budget names is always checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from depaudit.budgets import BudgetCheck, Verdict, check_report, image_check, index_failures
from depaudit.errors import InputError, UsageError
from depaudit.fileio import read_text
from depaudit.images import engine
from depaudit.images.contents import ImageContents
from depaudit.images.engine import clean_created_by
from depaudit.images.predict import Prediction
from depaudit.images.reader import StreamWrapper, is_local
from depaudit.images.scanimage import scan_image
from depaudit.logs import get_logger
from depaudit.model import Finding, Lock, SizeReport
from depaudit.rules.base import RuleDoc, describe
from depaudit.rules.engine import PragmaIndex, RuleSelection, run
from depaudit.rules.run_budgets import budget_findings
from depaudit.rules.subjects import LockSubject
from depaudit.scan import InputOptions, scan_input
from depaudit.settings import Settings, SettingsFile, scan_options
from depaudit.sources.detect import detect_kind
from depaudit.targets import DEFAULT_TARGETS

log = get_logger(__name__)

GATE_RULES = frozenset({"DA501", "DA502", "DA503", "DA504", "DA505"})
"""The budget rules `depaudit gate` checks (DA506/DA507 are `diff`'s, DA508/DA509 `image scan`'s)."""


@dataclass(frozen=True)
class GateRequest:
    """One gate run: the settings (every budget), what the lock budgets measure (None when no lock was
    found), and the `[tool.depaudit]` file findings about image budgets point at."""

    settings: Settings
    lock: Path | None = None
    settings_file: SettingsFile | None = None
    binary: bool = False


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


def check_image_sizes(
    images: Sequence[str],
    limit: int,
    *,
    offenders: int = 3,
    path: str = "",
    line: int | None = None,
    predict: Callable[[str], Prediction] | None = None,
    inside: Path | None = None,
) -> list[BudgetCheck]:
    """Size of each image against `limit`; a breach names the image's biggest layers. An image is a
    reference on the local engine, an archive or OCI layout here (read without the engine), or a
    Dockerfile (predicted with `predict`, without building). With `inside` (images named by a
    pyproject: data from the checkout), a file must be inside that folder. Raises ToolError when the
    engine is unreachable or an image is missing, InputError for an unreadable archive or Dockerfile or
    one outside `inside`."""
    checks = []
    for ref in images:
        if inside is not None and is_local(ref) and not _within(ref, inside):
            raise InputError(ref, f"outside {inside}: an image file the pyproject names must be in its project")
        if is_dockerfile(ref):
            if predict is None:
                raise UsageError(f"{ref}: a Dockerfile needs a prediction, which this command cannot make")
            checks.append(check_predicted_size(predict(ref), limit, offenders=offenders))
            continue
        if is_local(ref):
            checks.append(_archive_size_check(ref, limit, offenders, path, line))
            continue
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


def _within(path: str, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _archive_size_check(ref: str, limit: int, offenders: int, path: str, line: int | None) -> BudgetCheck:
    contents = scan_image(ref, top=0)
    verdict: Verdict = "pass" if contents.size <= limit else "fail"
    layers = sorted(contents.layers, key=lambda layer: -layer.size)[:offenders] if verdict == "fail" else []
    top = tuple(
        (_short(clean_created_by(layer.created_by or f"layer {layer.index}")), float(layer.size)) for layer in layers
    )
    note = "read from the archive, without the engine"
    return BudgetCheck("image-size", ref, float(contents.size), float(limit), verdict, "bytes", top, note, path, line)


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def lock_targets(settings: Settings) -> list[str] | None:
    """The targets to scan: the selected ones (all presets by default) plus every target a budget names."""
    named = settings.limits.named_targets
    if not settings.targets:
        extra = [n for n in named if n not in DEFAULT_TARGETS]
        return [*DEFAULT_TARGETS, *extra] if extra else None
    return list(dict.fromkeys([*settings.targets, *named]))


def check_lock(settings: Settings, lock: Path | None) -> list[BudgetCheck]:
    """Lock budgets per target (download, accelerator bytes) and the no-accelerator targets, over what
    `lock` installs (see `lock_checks`). Raises UsageError when no lock is known, InputError/ToolError
    from the scan."""
    return lock_checks(settings, lock).checks


class LockChecks(NamedTuple):
    """The lock budgets' checks, and the lock and scan they were made on (None: not a lock)."""

    checks: list[BudgetCheck]
    lock: Lock | None
    report: SizeReport


def lock_checks(
    settings: Settings, lock: Path | None, *, scan: Callable[..., tuple[SizeReport, Lock | None]] = scan_input
) -> LockChecks:
    """`check_lock`'s checks and the lock and scan they were made on. `lock` is a uv.lock, pylock.toml,
    poetry.lock or pdm.lock, a requirements file, an unlocked pyproject.toml or a Dockerfile
    (`sources.detect.detect_kind`). Online, the lock's wheel sizes are checked against the index and
    the index's numbers used (see `analysis.sizes`)."""
    if lock is None:
        raise UsageError("a lock budget is set but no lock file: pass --lock uv.lock (or set DEPAUDIT_LOCK)")
    targets = lock_targets(settings)
    kind = detect_kind(lock, read_text(lock, "lock file", allow_empty=False))
    log.info("gate: scanning %s (%s) for %s", lock, kind, ", ".join(targets or DEFAULT_TARGETS))
    inputs = InputOptions(exclude_newer=settings.exclude_newer)
    options = {**scan_options(settings), "targets": targets, "verify_sizes": not settings.offline}
    report, parsed = scan(lock, kind, **options, inputs=inputs)
    checks = check_report(report, settings.limits, prefix=f"{lock} ", allow_builds=settings.allow_builds)
    return LockChecks(checks, parsed, report)


def size_findings(lock: Lock | None, report: SizeReport) -> list[Finding]:
    """DA105 findings of a scan that checked the lock's sizes against the index (none otherwise; inline
    pragmas do not silence them: a lock is rewritten by uv, and its numbers are the point)."""
    if lock is None or not report.sizes_checked:
        return []
    return run("DA105", LockSubject(lock, report), pragmas=PragmaIndex(enabled=False))


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


def run_checks(
    request: GateRequest,
    rules: Callable[[str], bool] = lambda rule: True,
    predict: Callable[[str], Prediction] | None = None,
) -> GateResult:
    """Every check the settings ask for whose DA5xx rule `rules` keeps. Raises UsageError when nothing is
    to be checked, also when `rules` leaves out every check."""
    settings = request.settings
    checks: list[BudgetCheck] = []
    if settings.max_image_size is not None:
        if not settings.images:
            raise UsageError(
                "--max-image-size needs at least one IMAGE argument (or images = [...] in [tool.depaudit])"
            )
        file = request.settings_file
        line = file.line_of("max-image-size") if file is not None else None
        from_checkout = (settings.origin("images") or "").endswith("[tool.depaudit]")
        checks += check_image_sizes(
            settings.images,
            settings.max_image_size,
            path=str(file.path) if file else "",
            line=line,
            predict=predict,
            inside=file.path.parent if from_checkout and file is not None else None,
        )
    elif settings.images:
        raise UsageError("images given but no --max-image-size budget")
    lock_found: list[Finding] = []
    if settings.limits.any:
        done = lock_checks(settings, request.lock)
        checks += done.checks
        lock_found = [f for f in size_findings(done.lock, done.report) if rules(f.rule)]
    if settings.max_latency_ms is not None:
        if settings.bench_report is None:
            raise UsageError("--max-latency-ms needs --bench-report FILE (a depaudit bench images.json)")
        checks += check_latency(settings.bench_report, settings.max_latency_ms, settings.latency_percentile)
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
    """What `depaudit gate` reports: every check, the settings they came from (with each value's origin),
    the DA5xx findings of the checks that did not pass, and the budget rules that ran."""

    result: GateResult
    settings: Settings
    findings: tuple[Finding, ...]
    rules: tuple[RuleDoc, ...]

    @property
    def passed(self) -> bool:
        """True only when every check passed."""
        return self.result.passed

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """Where each setting came from."""
        return self.settings.origins

    @property
    def index_errors(self) -> tuple[str, ...]:
        """Why the index could not be reached for sizes a check needs, when no check is already over."""
        return index_failures(self.result.checks)

    @property
    def exit_code(self) -> int:
        """0 every check passed; 4 the index could not be reached and nothing is over; else 1."""
        return 0 if self.passed else 4 if self.index_errors else 1


def run_gate(request: GateRequest, predict: Callable[[str], Prediction] | None = None) -> GateReport:
    """Run the gate: the checks of the budget rules the settings' select/ignore keep (the rules of
    budgets the command line sets always run), and their findings. Raises UsageError (nothing to
    check), InputError and ToolError from the checks."""
    rules = request.settings.rules.effective()
    chosen = RuleSelection(rules.select, rules.ignore)
    result = run_checks(request, chosen.wants, predict)
    findings = [
        *result.lock_findings,
        *budget_findings(result.checks, rules.select, rules.ignore, binary=request.binary),
    ]
    docs = tuple(d for d in describe("DA5") if chosen.wants(d.id) and d.id in GATE_RULES)
    if result.lock_findings:
        docs = (*describe("DA105"), *docs)
    return GateReport(result, request.settings, tuple(findings), docs)


# ---------------------------------------------------------------------------------------------- images without a daemon


@dataclass(frozen=True)
class ImageScanReport:
    """What `depaudit image scan` reports: the image's contents, the budget checks asked for, their
    DA5xx findings and the budget rules that ran."""

    contents: ImageContents
    checks: tuple[BudgetCheck, ...]
    findings: tuple[Finding, ...]
    rules: tuple[RuleDoc, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def image_scan_checks(
    contents: ImageContents, *, max_accelerator: int | None = None, max_waste: int | None = None
) -> list[BudgetCheck]:
    """The image budgets asked for: accelerator runtime bytes (largest files and their packages named)
    and wasted bytes (largest hidden files named)."""
    checks = []
    subject = contents.image
    if max_accelerator is not None:
        offenders = [(f"{f.path} ({f.owner})" if f.owner else f.path, f.size) for f in contents.accelerator_files]
        checks.append(
            image_check(
                "image-accelerator", subject, contents.accelerator_bytes, max_accelerator, offenders, path=subject
            )
        )
    if max_waste is not None:
        wasted = [(f"/{w.path} (layer {w.added_in}, {w.how} in {w.hidden_by})", w.size) for w in contents.wasted_files]
        checks.append(image_check("image-waste", subject, contents.wasted, max_waste, wasted, path=subject))
    return checks


def image_scan_report(
    source: str,
    *,
    top: int = 15,
    compress: bool = False,
    platform: str | None = None,
    max_accelerator: int | None = None,
    max_waste: int | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    binary: bool = False,
    wrap: StreamWrapper | None = None,
) -> ImageScanReport:
    """Scan image `source` (see `depaudit.images.scanimage.scan_image`) and check its budgets.
    Raises InputError (an unreadable archive) and ToolError (the engine)."""
    contents = scan_image(source, top=top, compress=compress, platform=platform, wrap=wrap)
    checks = image_scan_checks(contents, max_accelerator=max_accelerator, max_waste=max_waste)
    chosen = RuleSelection(tuple(select), tuple(ignore))
    kept = tuple(c for c in checks if chosen.wants(c.rule))
    findings = budget_findings(kept, select, ignore, binary=binary)
    docs = tuple(d for d in describe("DA5") if d.id in {c.rule for c in kept})
    return ImageScanReport(contents, kept, tuple(findings), docs)


def is_dockerfile(name: str) -> bool:
    """True when `name` is a file named like a Dockerfile (`Dockerfile`, `Dockerfile.x`, `x.Dockerfile`,
    `Containerfile`): `gate` then predicts the image instead of measuring one."""
    base = Path(name).name.lower()
    looks = base in ("dockerfile", "containerfile") or base.startswith(("dockerfile.", "containerfile."))
    return (looks or base.endswith((".dockerfile", ".containerfile"))) and Path(name).is_file()


def check_predicted_size(prediction: Prediction, limit: int, *, offenders: int = 3) -> BudgetCheck:
    """The predicted image's size against `limit`. A prediction that could not follow every step is a
    lower bound: over the limit it fails, under it the check is UNKNOWN. The finding points at the
    Dockerfile line of the biggest layer that reaches the image."""
    shipped = sorted((i for s in prediction.stages if s.ships for i in s.instructions), key=lambda i: (-i.size, i.line))
    size = prediction.size
    verdict: Verdict
    if size is not None and size > limit:
        verdict = "fail"
    else:
        verdict = "pass" if prediction.complete and size is not None else "unknown"
    notes = ["predicted from the Dockerfile, not built"]
    if prediction.base.size is None:
        notes.append(f"base image {prediction.base.ref} size unknown ({prediction.base.source})")
    if prediction.unknowns:
        notes.append(
            f"{len(prediction.unknowns)} step(s) not followed, the size is a lower bound: {prediction.unknowns[0]}"
        )
    top = tuple((f"line {i.line}: {_short(i.text, 60)}", float(i.size)) for i in shipped[:offenders] if i.size > 0)
    subject = prediction.dockerfile + (f" (target {prediction.target})" if prediction.target else "")
    return BudgetCheck(
        "image-size",
        subject,
        None if size is None else float(size),
        float(limit),
        verdict,
        "bytes",
        top if verdict != "pass" else (),
        "; ".join(notes),
        path=prediction.dockerfile,
        line=shipped[0].line if shipped and verdict != "pass" else None,
    )
