"""`depaudit port` end to end: load, run the cases in eager torch (goldens), rewrite what an exporter
refuses, capture with torch.export (hazards), export (dynamo, else TorchScript), run ONNX Runtime on
the same inputs, compare, and hand over the files. Needs torch, onnx, onnxscript and onnxruntime."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from depaudit.errors import InputError, UsageError
from depaudit.port import cases as case_gen
from depaudit.port.exporter import export_dynamo, export_torchscript, finish, refused_op, symbol_names
from depaudit.port.handover import prepare_dir, write_handover, write_report
from depaudit.port.loader import load_model
from depaudit.port.metrics import agreement
from depaudit.port.probe import capture, merge, tracer_hazards
from depaudit.port.report import CaseResult, OutputResult, PortReport
from depaudit.port.request import PortRequest
from depaudit.port.rewrites import PoolWatch, rewrite_pools
from depaudit.port.runner import EagerRun, run_eager, run_onnxruntime, to_tensors
from depaudit.rules.run_port import port_findings
from depaudit.rules.subjects import TENSOR_TO_PYTHON, VALUE_BRANCH, Hazard, PortSubject


@dataclass
class _State:
    """What one run accumulates between the steps."""

    request: PortRequest
    model: nn.Module
    where: str
    report: PortReport
    runs: dict[str, EagerRun] = field(default_factory=dict)
    hazards: list[Hazard] = field(default_factory=list)
    onnx_bytes: bytes | None = None
    pool_watch: PoolWatch | None = None
    clock: float = field(default_factory=time.perf_counter)

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.report.seconds[step] = round(now - self.clock, 3)
        self.clock = now


def run_port(request: PortRequest, model: nn.Module | None = None) -> PortReport:
    """Port one model (loaded from `request.model` unless given) and write the hand-over files into
    `request.out`. Returns the report; raises InputError (model/checkpoint/out dir) or UsageError."""
    start = time.perf_counter()
    where = request.model
    if model is None:
        model, where = load_model(request.model, request.checkpoint)
    name = request.name or request.model.rpartition(":")[2].rpartition(".")[2] or "model"
    out = prepare_dir(request.out)
    report = PortReport(
        request.model, name, str(out), _inputs_doc(request), [], request.min_psnr, environment=_environment()
    )
    state = _State(request, model.eval(), where, report)
    _eager(state)
    export_model = copy.deepcopy(state.model)  # goldens come from the untouched model
    state.hazards = rewrite_pools(export_model, state.pool_watch) if state.pool_watch else []
    _export(state, export_model)
    _search_other_sides(state)
    _verify(state)
    report.findings = port_findings(
        PortSubject(
            request.model,
            tuple(_relative(h) for h in state.hazards),
            tuple(f"{d.input}:{d.axis}" for d in request.dynamic),
        )
    )
    _hand_over(state)
    report.files = [*report.files, "port.json"]
    report.seconds["total"] = round(time.perf_counter() - start, 3)
    report.environment["loadavg_end"] = _loadavg()
    write_report(out, report.to_json())
    return report


def _relative(hazard: Hazard) -> Hazard:
    """The hazard with its path relative to the working directory when it lies below it (readable
    reports; SARIF and editors resolve it the same way)."""
    return replace(hazard, path=_shown(hazard.path))


def _eager(state: _State) -> None:
    """Every generated case through the original model, watching adaptive pools' input sizes."""
    watch = PoolWatch(state.model)
    try:
        for case in case_gen.make_cases(state.request.inputs, state.request.dynamic):
            state.runs[case.name] = run_eager(state.model, case)
    finally:
        watch.close()
    state.pool_watch = watch
    example = state.runs[case_gen.EXAMPLE]
    if example.outputs is None:
        raise InputError(state.where, f"the model raised on the example inputs ({example.error})")
    names = list(state.request.output_names) or [f"output_{i}" for i in range(len(example.outputs))]
    if len(names) != len(example.outputs):
        raise UsageError(f"--output-name: {len(names)} names for {len(example.outputs)} outputs")
    state.report.output_names = names
    state.lap("torch_eager")


def _axes(request: PortRequest) -> dict[tuple[int, int], str]:
    index = {spec.name: i for i, spec in enumerate(request.inputs)}
    return {(index[d.input], d.axis): d.dim for d in request.dynamic}


def _export(state: _State, export_model: nn.Module) -> None:
    """Capture, export with dynamo (else TorchScript), clean up and check the ONNX."""
    request, report = state.request, state.report
    args = to_tensors(state.runs[case_gen.EXAMPLE].case)
    axes = _axes(request)
    captured = capture(export_model, args, list(axes))
    state.hazards = merge(state.hazards, captured.hazards)
    for index, axis in captured.static_axes:
        report.notes.append(
            f"{request.inputs[index].name} axis {axis} was exported static: the model's code fixes it (DA403)"
        )
    state.lap("capture")
    names = [s.name for s in request.inputs]
    proto, dims = None, {}
    if captured.program is not None:
        try:
            proto = export_dynamo(captured.program, args, names, report.output_names, request.opset)
            report.exporter, dims = "dynamo", symbol_names(captured.program, names, axes)
        except Exception as exc:  # the converter raises several types; the refused op becomes a finding
            hazard = refused_op(exc, captured.program)
            state.hazards = merge(state.hazards, [hazard] if hazard else [])
            report.notes.append(
                f"dynamo exporter failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
            )
    else:
        report.notes.append(
            f"torch.export could not capture the model ({captured.error[:200]}); "
            "falling back to the TorchScript exporter, which traces one path"
        )
    if proto is None or axes:
        state.hazards = merge(state.hazards, tracer_hazards(export_model, args, only_constants=proto is not None))
    if proto is None:
        proto = _torchscript(state, export_model, args, names, axes)
    if proto is not None:
        proto = _checked(state, proto, dims)
    if proto is not None:
        state.onnx_bytes = proto.SerializeToString()
        report.exported, report.opset = True, next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
        report.onnx_bytes = len(state.onnx_bytes)
        report.onnx_sha256 = hashlib.sha256(state.onnx_bytes).hexdigest()
    state.lap("export")


def _checked(state: _State, proto: onnx.ModelProto, dims: dict[str, str]) -> onnx.ModelProto | None:
    """The finished model, or None (with a note) when onnx.checker rejects it."""
    try:
        return finish(proto, dims)
    except onnx.checker.ValidationError as exc:
        state.report.notes.append(f"onnx.checker rejected the export: {str(exc).strip().splitlines()[0][:200]}")
        return None


def _torchscript(
    state: _State, model: nn.Module, args: tuple[torch.Tensor, ...], names: list[str], axes: dict[tuple[int, int], str]
) -> onnx.ModelProto | None:
    request = state.request
    dynamic: dict[str, dict[int, str]] = {}
    for (index, axis), dim in axes.items():
        dynamic.setdefault(names[index], {})[axis] = dim
    try:
        proto = export_torchscript(model, args, names, state.report.output_names, request.opset, dynamic)
    except Exception as exc:
        state.report.notes.append(
            f"TorchScript exporter failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
        )
        return None
    state.report.exporter = "torchscript"
    return proto


def _tracked_lines(state: _State) -> list[tuple[str, int]]:
    """(absolute path, line) of the value-dependent hazards: the keys the ConversionRecorder uses."""
    return [(os.path.abspath(h.path), h.line or 0) for h in state.hazards if h.kind in (VALUE_BRANCH, TENSOR_TO_PYTHON)]


def _shown(path: str) -> str:
    """`path` relative to the working directory when it lies below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _search_other_sides(state: _State) -> None:
    """For each value-dependent line every case saw the same way as the example, try pushed inputs
    (zeros, negated, x1e3, +/-10, +/-1e6) until one goes the other way; keep that one as a case."""
    example = state.runs[case_gen.EXAMPLE]
    for line in _tracked_lines(state):
        seen = example.conversions.get(line)
        if seen is None or any(r.conversions.get(line, seen) != seen for r in state.runs.values()):
            continue
        for variant in case_gen.scaled_variants(example.case, state.request.inputs):
            run = run_eager(state.model, variant)
            if run.outputs is not None and run.conversions.get(line, seen) != seen:
                state.runs[variant.name] = run
                break
        else:
            state.report.notes.append(f"{_shown(line[0])}:{line[1]}: no generated input took a different value here")
    state.lap("branch_search")


def _verify(state: _State) -> None:
    """ONNX Runtime on every case torch could run; compare with the goldens."""
    report = state.report
    for name, run in state.runs.items():
        if run.outputs is None:
            report.skipped.append({"name": name, "reason": f"torch raised {run.error}"})
    if state.onnx_bytes is None:
        return
    session = ort.InferenceSession(state.onnx_bytes, providers=["CPUExecutionProvider"])
    feed_names = [i.name for i in session.get_inputs()]
    example = state.runs[case_gen.EXAMPLE]
    for name, run in state.runs.items():
        if run.outputs is None:
            continue
        outputs, error = run_onnxruntime(session, feed_names, run.case)
        result = CaseResult(name, [list(a.shape) for a in run.case.arrays])
        if outputs is None:
            result.failures.append(error)
        else:
            _compare(result, run.outputs, outputs, report.output_names, report.min_psnr_db)
        if not result.passed:
            result.failures += _branch_notes(state, run, example)
        report.cases.append(result)
    state.lap("onnxruntime")


def _compare(
    result: CaseResult, goldens: list[np.ndarray], outputs: list[np.ndarray], names: list[str], bar: float
) -> None:
    if len(outputs) != len(goldens):
        result.failures.append(f"{len(outputs)} outputs from ONNX Runtime, {len(goldens)} from torch")
        return
    for name, want, got in zip(names, goldens, outputs, strict=True):
        agree = agreement(want, got)
        result.outputs.append(
            OutputResult(name, list(got.shape), agree.psnr_db, agree.ssim, agree.max_abs_err, agree.max_rel_err)
        )
        if not agree.shape_ok:
            result.failures.append(f"{name}: shape {list(got.shape)} != torch {list(want.shape)}")
        elif not agree.finite:
            result.failures.append(f"{name}: NaN/inf where torch has none (or different ones)")
        elif agree.psnr_db < bar:
            result.failures.append(f"{name}: PSNR {agree.psnr_db:.1f} dB < {bar:g} dB")


def _branch_notes(state: _State, run: EagerRun, example: EagerRun) -> list[str]:
    """Why a failing case may fail: value-dependent lines where it went another way than the example."""
    notes = []
    for line in _tracked_lines(state):
        ours, theirs = run.conversions.get(line), example.conversions.get(line)
        if ours is not None and theirs is not None and ours != theirs:
            notes.append(
                f"{_shown(line[0])}:{line[1]} took {_short(ours)} in torch for this case but the exported graph "
                f"holds the example's {_short(theirs)}"
            )
    return notes


def _short(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values[:3]) + (" ..." if len(values) > 3 else "")


def _hand_over(state: _State) -> None:
    """Write the hand-over files; a port that did not pass hands over a test that fails, saying why."""
    report = state.report
    goldens: dict[str, np.ndarray] = {}
    compared = [c.name for c in report.cases] or [n for n, r in state.runs.items() if r.outputs is not None]
    names = [s.name for s in state.request.inputs]
    for case_name in compared:
        run = state.runs[case_name]
        goldens.update({f"{case_name}.in.{n}": a for n, a in zip(names, run.case.arrays, strict=True)})
        goldens.update({f"{case_name}.out.{n}": a for n, a in zip(report.output_names, run.outputs or [], strict=True)})
    problems = [f"{f.rule} {f.path}:{f.line}: {f.message}" for f in report.blocking]
    if not report.passed and not problems:
        problems = [f"case {c.name}: {'; '.join(c.failures)}" for c in report.cases if not c.passed] or report.notes[
            -1:
        ]
    paths = write_handover(
        Path(report.out),
        report.name,
        state.onnx_bytes,
        goldens,
        report.inputs,
        report.output_names,
        [c.name for c in report.cases],
        state.request.min_psnr,
        problems,
    )
    report.files = [p.name for p in paths]


def _inputs_doc(request: PortRequest) -> list[dict[str, Any]]:
    docs = []
    for spec in request.inputs:
        dims = {str(d.axis): d.dim for d in request.dynamic if d.input == spec.name}
        docs.append({"name": spec.name, "shape": list(spec.shape), "dtype": spec.dtype, "dynamic_axes": dims})
    return docs


def _loadavg() -> str | None:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return None


def _environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for dist in ("torch", "onnx", "onnxscript", "onnxruntime", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    cpu = None
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            None,
        )
    return {"versions": versions, "cpu": cpu, "logical_cpus": os.cpu_count(), "loadavg_start": _loadavg()}
