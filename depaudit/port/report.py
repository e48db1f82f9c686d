"""The result of `depaudit port` (torch-free): what was exported, what torch reported, how every case
agreed. `to_json()` is the `port.json` contract (`"schema": 1`, keys only added); PSNR of identical
outputs (infinite) is written as null with `"exact": true`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from depaudit.model import Finding

SCHEMA = 1


@dataclass
class OutputResult:
    """One output of one case against its golden."""

    name: str
    shape: list[int]
    psnr_db: float
    ssim: float | None
    max_abs_err: float
    max_rel_err: float
    torch_to_reference_db: float | None = None  # torch float32 against the float64 reference
    ort_to_reference_db: float | None = None  # ONNX Runtime against the float64 reference
    nonfinite_torch: int = 0
    nonfinite_ort: int = 0


@dataclass
class CaseResult:
    """One generated case: per-output agreement, the worst of them, and every bar it missed.
    `reference`: 'float64' when a float64 torch run judged it, 'unavailable' when one was needed but
    the model does not run in float64, None when ONNX Runtime met the absolute bar without one."""

    name: str
    shapes: list[list[int]]
    outputs: list[OutputResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    reference: str | None = None

    @property
    def psnr_db(self) -> float:
        """The lowest PSNR over the outputs (-inf when the runtime failed)."""
        return min((o.psnr_db for o in self.outputs), default=-math.inf)

    @property
    def ssim(self) -> float | None:
        """The lowest SSIM over the image-like outputs (None when none is image-like)."""
        values = [o.ssim for o in self.outputs if o.ssim is not None]
        return min(values) if values else None

    @property
    def max_abs_err(self) -> float:
        return max((o.max_abs_err for o in self.outputs), default=math.inf)

    @property
    def max_rel_err(self) -> float:
        return max((o.max_rel_err for o in self.outputs), default=math.inf)

    @property
    def passed(self) -> bool:
        return not self.failures and bool(self.outputs)


@dataclass
class PortReport:
    """Everything `depaudit port` found and wrote."""

    model: str
    name: str
    out: str
    inputs: list[dict[str, Any]]
    output_names: list[str]
    min_psnr_db: float
    exported: bool = False
    exporter: str | None = None
    opset: int | None = None
    onnx_bytes: int | None = None
    onnx_sha256: str | None = None
    findings: list[Finding] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    precision: dict[str, Any] = field(default_factory=dict)
    determinism: dict[str, Any] = field(default_factory=dict)
    export_example: dict[str, Any] | None = None
    static_axes: list[str] = field(default_factory=list)  # `input:axis` asked dynamic, exported static

    @property
    def blocking(self) -> list[Finding]:
        """Error findings: each makes the exported graph wrong for some inputs or shapes."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def passed(self) -> bool:
        """True only when exported with every dynamic axis asked for, every case met the bar, and no error
        finding stands."""
        every_case = bool(self.cases) and all(c.passed for c in self.cases)
        return self.exported and every_case and not self.blocking and not self.static_axes

    def to_json(self) -> dict[str, Any]:
        """The `port.json` document."""
        return {
            "schema": SCHEMA,
            "model": self.model,
            "name": self.name,
            "passed": self.passed,
            "exported": self.exported,
            "exporter": self.exporter,
            "opset": self.opset,
            "onnx_bytes": self.onnx_bytes,
            "onnx_sha256": self.onnx_sha256,
            "min_psnr_db": self.min_psnr_db,
            "inputs": self.inputs,
            "outputs": self.output_names,
            "findings": [_finding(f) for f in self.findings],
            "cases": [_case(c) for c in self.cases],
            "skipped_cases": self.skipped,
            "notes": self.notes,
            "files": self.files,
            "seconds": self.seconds,
            "environment": self.environment,
            "precision": self.precision,
            "determinism": self.determinism,
            "export_example": self.export_example,
            "static_axes": self.static_axes,
        }


def number(value: float | None) -> float | None:
    """A JSON-safe float: None for inf/nan (JSON has no infinity)."""
    return None if value is None or not math.isfinite(value) else float(value)


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "message": f.message,
        "path": f.path,
        "line": f.line,
        "fixable": f.fixable,
    }


def _case(c: CaseResult) -> dict[str, Any]:
    return {
        "name": c.name,
        "passed": c.passed,
        "psnr_db": number(c.psnr_db),
        "exact": c.psnr_db == math.inf,
        "ssim": number(c.ssim),
        "max_abs_err": number(c.max_abs_err),
        "max_rel_err": number(c.max_rel_err),
        "shapes": c.shapes,
        "failures": c.failures,
        "reference": c.reference,
        "outputs": [
            {
                "name": o.name,
                "shape": o.shape,
                "psnr_db": number(o.psnr_db),
                "ssim": number(o.ssim),
                "max_abs_err": number(o.max_abs_err),
                "max_rel_err": number(o.max_rel_err),
                "torch_to_reference_db": number(o.torch_to_reference_db),
                "ort_to_reference_db": number(o.ort_to_reference_db),
                "nonfinite_torch": o.nonfinite_torch,
                "nonfinite_ort": o.nonfinite_ort,
            }
            for o in c.outputs
        ],
    }
