"""ONNX Runtime on every case torch could run, judged against torch float32 and, where that is not
already close enough, against a float64 torch reference (see metrics.py for the verdict)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort

from depaudit.port.cases import Case
from depaudit.port.messages import exception_text
from depaudit.port.metrics import Agreement, Bars, agreement, distance_db, verdict
from depaudit.port.report import CaseResult, OutputResult
from depaudit.port.runner import EagerRun, run_onnxruntime

ReferenceRun = Callable[[Case], "list[np.ndarray] | None"]


def open_session(onnx_bytes: bytes) -> tuple[Any, str]:
    """(an ONNX Runtime CPU session, '') or (None, ONNX Runtime's whole message) when it refuses the model."""
    options = ort.SessionOptions()
    options.log_severity_level = (
        4  # fatal only: a failed run's message is in the exception; ORT would also print it in colour
    )
    try:
        return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"]), ""
    except Exception as exc:  # onnxruntime's InvalidGraph / Fail / NotImplemented
        return None, exception_text(exc)


@dataclass
class Verification:
    """Every compared case, and the float64 outputs of those that needed a reference."""

    cases: list[CaseResult] = field(default_factory=list)
    references: dict[str, list[np.ndarray]] = field(default_factory=dict)


def verify(
    session: Any,
    runs: dict[str, EagerRun],
    names: list[str],
    bars: Bars,
    reference: ReferenceRun,
    distrust: str = "",
) -> Verification:
    """Run ONNX Runtime on each case torch ran and judge it. `reference(case)` gives float64 outputs or
    None; it is asked only for cases below the absolute bar. `distrust` (torch disagrees with itself)
    fails every case with that reason: no comparison with such a golden means anything."""
    done = Verification()
    judge_with = None if distrust else reference  # a float64 run of a random model is as random: it judges nothing
    feed_names = [i.name for i in session.get_inputs()]
    for name, run in runs.items():
        if run.outputs is None:
            continue
        outputs, error = run_onnxruntime(session, feed_names, run.case)
        result = CaseResult(name, [list(a.shape) for a in run.case.arrays])
        if distrust:
            result.failures.append(distrust)
        if outputs is None:
            result.failures.append(error)
        elif len(outputs) != len(run.outputs):
            result.failures.append(f"{len(outputs)} outputs from ONNX Runtime, {len(run.outputs)} from torch")
        else:
            refs = _compare(result, run, outputs, names, bars, judge_with)
            if refs is not None:
                done.references[name] = refs
        done.cases.append(result)
    return done


def _compare(
    result: CaseResult,
    run: EagerRun,
    outputs: list[np.ndarray],
    names: list[str],
    bars: Bars,
    reference: ReferenceRun | None,
) -> list[np.ndarray] | None:
    """Fill `result` for one case; return the float64 outputs when a reference was run."""
    goldens = run.outputs or []
    agreements = [agreement(want, got) for want, got in zip(goldens, outputs, strict=True)]
    refs = None
    if reference is not None and any(_needs_reference(a, bars) for a in agreements):
        refs = reference(run.case)
        result.reference = "float64" if refs is not None else "unavailable"
    for i, (name, want, got, agree) in enumerate(zip(names, goldens, outputs, agreements, strict=True)):
        torch_ref = ort_ref = None
        if refs is not None and i < len(refs) and refs[i].shape == want.shape and want.dtype.kind == "f":
            torch_ref, ort_ref = distance_db(refs[i], want), distance_db(refs[i], got)
        result.outputs.append(
            OutputResult(
                name,
                list(got.shape),
                agree.psnr_db,
                agree.ssim,
                agree.max_abs_err,
                agree.max_rel_err,
                torch_ref,
                ort_ref,
                agree.nonfinite_golden,
                agree.nonfinite_test,
            )
        )
        reason = verdict(name, agree, torch_ref, ort_ref, bars)
        if reason:
            result.failures.append(reason)
    return refs


def _needs_reference(agree: Agreement, bars: Bars) -> bool:
    return agree.shape_ok and agree.finite and agree.psnr_db < bars.bar
