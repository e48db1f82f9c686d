"""`depaudit gate`: budgets a CI job enforces — image size, lock download per target, no accelerator
wheels for named targets, and service latency from a `depaudit bench` report.

Budgets come from, in rising precedence: defaults (none), `[tool.depaudit]` in pyproject.toml,
`DEPAUDIT_*` environment variables, command-line options. Each check yields a GateCheck; a breach
names its offenders (the biggest layers of an image, the biggest packages of a target, the variants
and sizes that were too slow).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depaudit.errors import InputError, UsageError
from depaudit.units import format_size, parse_size

# key in [tool.depaudit] -> (kind, command-line option)
GATE_KEYS: dict[str, tuple[str, str]] = {
    "max-image-size": ("size", "--max-image-size"),
    "max-download": ("size", "--max-download"),
    "max-accelerator": ("size", "--max-accelerator"),
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
    """Resolved budgets; None means "not checked". `sources` says where each value came from."""

    max_image_size: int | None = None
    max_download: int | None = None
    max_accelerator: int | None = None
    no_accelerator_targets: tuple[str, ...] = ()
    max_latency_ms: float | None = None
    latency_percentile: str = "p95"
    images: tuple[str, ...] = ()
    lock: Path | None = None
    bench_report: Path | None = None
    targets: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GateCheck:
    """One budget applied to one subject."""

    check: str  # "image-size" | "download" | "accelerator" | "no-accelerator" | "latency"
    subject: str
    measured: float | None
    limit: float
    passed: bool
    unit: str  # "bytes" | "ms"
    offenders: tuple[tuple[str, float | None], ...] = ()
    note: str = ""

    def message(self) -> str:
        shown = _show(self.measured, self.unit)
        verdict = "within" if self.passed else "EXCEEDS"
        text = f"{self.check}: {self.subject}: {shown} {verdict} the budget of {_show(self.limit, self.unit)}"
        if self.check == "no-accelerator":
            text = (f"{self.check}: {self.subject}: "
                    + ("no accelerator wheels" if self.passed else f"installs accelerator wheels ({shown})"))
        if not self.passed and self.offenders:
            text += "; offenders: " + ", ".join(f"{name} ({_show(size, self.unit)})" for name, size in self.offenders)
        if self.note:
            text += f" [{self.note}]"
        return text


@dataclass(frozen=True)
class GateResult:
    checks: tuple[GateCheck, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def breaches(self) -> tuple[GateCheck, ...]:
        return tuple(c for c in self.checks if not c.passed)


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "unknown"
    return format_size(int(value)) if unit == "bytes" else f"{value:,.0f} ms"


# ---------------------------------------------------------------- settings

def _convert(key: str, value: Any, where: str, error: Callable[[str], Exception]) -> Any:
    kind = GATE_KEYS[key][0]
    if kind == "size":
        if isinstance(value, bool):
            raise error(f"{key}: expected a size such as 250MB, got {value!r}")
        try:
            return parse_size(str(value))
        except ValueError as exc:
            raise error(f"{key}: {exc}") from None
    if kind == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise error(f"{key}: expected a number of milliseconds, got {value!r}") from None
        if not number > 0:
            raise error(f"{key}: must be positive, got {value!r}")
        return number
    if kind == "percentile":
        text = str(value).lower()
        if text not in ("p50", "p95"):
            raise error(f"{key}: use p50 or p95, got {value!r}")
        return text
    if kind == "list":
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise error(f"{key}: expected a list of strings, got {value!r}")
    if kind == "path":
        if not isinstance(value, (str, Path)) or not str(value):
            raise error(f"{key}: expected a path, got {value!r}")
        return Path(value)
    raise AssertionError(kind)


def load_budgets(cli: Mapping[str, Any], pyproject: Path | None,
                 environ: Mapping[str, str] | None = None) -> Budgets:
    """Resolve budgets: defaults < [tool.depaudit] < DEPAUDIT_* env < command line (`cli`, keyed like
    GATE_KEYS; None or empty means unset). Raises InputError for a bad pyproject value (exit 3),
    UsageError for a bad environment or command-line value (exit 2)."""
    from depaudit.settings import project_settings

    env = os.environ if environ is None else environ
    table = project_settings(pyproject)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in GATE_KEYS:
        if key in table:
            values[key] = _convert(key, table[key], "pyproject",
                                   lambda what: InputError(pyproject, f"[tool.depaudit] {what}"))
            sources[key] = f"{pyproject} [tool.depaudit]"
        env_name = "DEPAUDIT_" + key.upper().replace("-", "_")
        if env.get(env_name, "") != "":
            values[key] = _convert(key, env[env_name], "env", lambda what, n=env_name: UsageError(f"{n}: {what}"))
            sources[key] = env_name
        cli_value = cli.get(key)
        if cli_value not in (None, "", [], ()):
            option = GATE_KEYS[key][1]
            values[key] = _convert(key, cli_value, "cli", lambda what, o=option: UsageError(f"{o}: {what}"))
            sources[key] = option
    if "lock" in values and pyproject is not None and sources["lock"].endswith("[tool.depaudit]"):
        values["lock"] = pyproject.parent / values["lock"]  # relative to the pyproject that names it
    elif "lock" not in values and pyproject is not None and (pyproject.parent / "uv.lock").is_file():
        values["lock"] = pyproject.parent / "uv.lock"  # the project's own lock by default
        sources["lock"] = f"{pyproject.parent / 'uv.lock'} (beside pyproject.toml)"
    if "bench-report" in values and pyproject is not None and sources.get("bench-report", "").endswith("[tool.depaudit]"):
        values["bench-report"] = pyproject.parent / values["bench-report"]
    return Budgets(
        max_image_size=values.get("max-image-size"), max_download=values.get("max-download"),
        max_accelerator=values.get("max-accelerator"),
        no_accelerator_targets=values.get("no-accelerator-targets", ()),
        max_latency_ms=values.get("max-latency-ms"), latency_percentile=values.get("latency-percentile", "p95"),
        images=values.get("images", ()), lock=values.get("lock"), bench_report=values.get("bench-report"),
        targets=values.get("targets", ()), sources=tuple(sorted(sources.items())))


# ---------------------------------------------------------------- checks

def check_image_sizes(images: Sequence[str], limit: int, *, offenders: int = 3) -> list[GateCheck]:
    """Size on disk of each image against `limit`; a breach names the image's biggest layers.
    Raises ToolError when the engine is unreachable or an image is missing."""
    from depaudit.images import engine

    checks = []
    for ref in images:
        info = engine.inspect_image(ref)
        top: tuple[tuple[str, float | None], ...] = ()
        if info.size > limit:
            layers = sorted(engine.image_history(ref), key=lambda e: -e.size)[:offenders]
            top = tuple((_short(e.created_by), float(e.size)) for e in layers if e.size > 0)
        checks.append(GateCheck("image-size", ref, float(info.size), float(limit), info.size <= limit, "bytes", top))
    return checks


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def check_lock(budgets: Budgets, *, offline: bool = False, scan=None, selection=None) -> list[GateCheck]:
    """Lock budgets per target (download, accelerator bytes) and the no-accelerator targets, for the
    install `selection` (a depaudit.model.Selection: workspace members; default the root project).
    `scan` (for reuse) defaults to depaudit.scan.scan_lock. Raises InputError/ToolError from the scan."""
    lock_path = budgets.lock
    if lock_path is None:
        raise UsageError("a lock budget is set but no lock file: pass --lock uv.lock (or lock = \"uv.lock\" in [tool.depaudit])")
    from depaudit.sources.uvlock import load_lock

    if scan is None:
        from depaudit.scan import scan_lock as scan
    lock = load_lock(lock_path)
    wanted = tuple(dict.fromkeys(budgets.targets + budgets.no_accelerator_targets)) or None
    kwargs = {"selection": selection} if selection is not None else {}
    report = scan(lock, targets=list(wanted) if wanted else None, offline=offline, **kwargs)
    checks: list[GateCheck] = []
    for t in report.targets:
        if not t.supported:
            continue
        ranked = sorted(t.packages, key=lambda p: -(p.size or 0))
        name = t.target.name
        unknown = len(t.unknown_size)
        note = f"{unknown} sizes unknown: a lower bound" if unknown else ""
        if budgets.max_download is not None:
            ok = t.total_bytes <= budgets.max_download
            top = () if ok else tuple((p.name, p.size) for p in ranked[:5])
            checks.append(GateCheck("download", f"{budgets.lock} {name}", t.total_bytes, budgets.max_download,
                                    ok, "bytes", top, note))
        accel = [p for p in ranked if p.accelerator]
        if budgets.max_accelerator is not None:
            ok = t.accelerator_bytes <= budgets.max_accelerator and not (budgets.max_accelerator == 0 and accel)
            checks.append(GateCheck("accelerator", f"{budgets.lock} {name}", t.accelerator_bytes,
                                    budgets.max_accelerator, ok, "bytes",
                                    () if ok else tuple((p.name, p.size) for p in accel[:5]), note))
        if name in budgets.no_accelerator_targets:
            checks.append(GateCheck("no-accelerator", f"{budgets.lock} {name}", t.accelerator_bytes, 0, not accel,
                                    "bytes", tuple((p.name, p.size) for p in accel[:8])))
    missing = set(budgets.no_accelerator_targets) - {t.target.name for t in report.targets if t.supported}
    for name in sorted(missing):
        checks.append(GateCheck("no-accelerator", f"{budgets.lock} {name}", None, 0, True, "bytes",
                                note="target not supported by this lock: nothing installed"))
    return checks


def load_bench_report(report_path: Path) -> dict:
    """A `depaudit bench` JSON report (schema 1 with variants). Raises InputError when unreadable."""
    try:
        data = json.loads(report_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(report_path, f"cannot read bench report: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(report_path, f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != 1 or not isinstance(data.get("variants"), list):
        raise InputError(report_path, "not a depaudit bench report (expected schema 1 with variants)")
    return data


def check_latency(report_path: Path, limit_ms: float, percentile: str = "p95") -> list[GateCheck]:
    """Latency per variant and input size from a `depaudit bench` JSON report against `limit_ms`.
    A size that failed to run counts as a breach. Raises InputError for an unreadable report."""
    data = load_bench_report(report_path)
    key = f"{percentile}_ms"
    checks = []
    for variant in data["variants"]:
        for lat in variant.get("latency") or ():
            value = lat.get(key)
            subject = f"{variant.get('variant')} {lat.get('size')} {percentile}"
            if value is None:
                checks.append(GateCheck("latency", subject, None, limit_ms, False, "ms",
                                        note=lat.get("error") or "no measurement"))
                continue
            ok = value <= limit_ms
            checks.append(GateCheck("latency", subject, float(value), limit_ms, ok, "ms"))
    if not checks:
        raise InputError(report_path, "bench report holds no latency measurements")
    return checks


def run_gate(budgets: Budgets, *, offline: bool = False, selection=None) -> GateResult:
    """Every check the budgets ask for. Raises UsageError when nothing is to be checked."""
    checks: list[GateCheck] = []
    if budgets.max_image_size is not None:
        if not budgets.images:
            raise UsageError("--max-image-size needs at least one IMAGE argument (or images = [...] in [tool.depaudit])")
        checks += check_image_sizes(budgets.images, budgets.max_image_size)
    elif budgets.images:
        raise UsageError("images given but no --max-image-size budget")
    if budgets.max_download is not None or budgets.max_accelerator is not None or budgets.no_accelerator_targets:
        checks += check_lock(budgets, offline=offline, selection=selection)
    if budgets.max_latency_ms is not None:
        if budgets.bench_report is None:
            raise UsageError("--max-latency-ms needs --bench-report FILE (a depaudit bench images.json)")
        checks += check_latency(budgets.bench_report, budgets.max_latency_ms, budgets.latency_percentile)
    if not checks:
        raise UsageError("no budget to check: give --max-image-size, --max-download, --max-accelerator, "
                         "--no-accelerator-target or --max-latency-ms (or set them in [tool.depaudit])")
    return GateResult(tuple(checks))


# ---------------------------------------------------------------- rendering

def render_markdown(result: GateResult, budgets: Budgets) -> str:
    """A GitHub step summary: verdict, one row per check, offenders of each breach."""
    verdict = "passed" if result.passed else f"FAILED ({len(result.breaches)} budget(s) exceeded)"
    lines = [f"### depaudit gate: {verdict}", "", "| check | subject | measured | budget | result |",
             "| --- | --- | ---: | ---: | --- |"]
    for c in result.checks:
        lines.append(f"| {c.check} | `{c.subject}` | {_show(c.measured, c.unit)} | "
                     f"{'none' if c.check == 'no-accelerator' else _show(c.limit, c.unit)} | "
                     f"{'✅ pass' if c.passed else '❌ **fail**'} |")
    for c in result.breaches:
        if c.offenders:
            lines += ["", f"**{c.check} `{c.subject}`** — biggest contributors:", ""]
            lines += [f"- `{name}` {_show(size, c.unit)}" for name, size in c.offenders]
        if c.note:
            lines += ["", f"{c.subject}: {c.note}"]
    if budgets.sources:
        lines += ["", "Budgets from: " + "; ".join(f"`{k}` ← {v}" for k, v in budgets.sources)]
    return "\n".join(lines) + "\n"


def result_to_dict(result: GateResult, budgets: Budgets) -> dict:
    return {"schema": 1, "passed": result.passed,
            "checks": [{"check": c.check, "subject": c.subject, "measured": c.measured, "limit": c.limit,
                        "unit": c.unit, "passed": c.passed,
                        "offenders": [{"name": n, "value": v} for n, v in c.offenders], "note": c.note or None}
                       for c in result.checks],
            "sources": dict(budgets.sources)}


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY when set (GitHub's contract is append). Returns the path written."""
    env = os.environ if environ is None else environ
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path
