"""`depaudit port` end to end: load, run the cases in eager torch (goldens), check torch agrees with
itself, rewrite what an exporter refuses, capture with torch.export (hazards), export (dynamo, else
TorchScript), run ONNX Runtime on the same inputs, judge, and hand over the files. Needs torch, onnx,
onnxscript and onnxruntime.

Nothing torch, onnx or ONNX Runtime raises escapes as a traceback: each step's failure is a finding or
a note, the traceback goes to export.log, and port.json is written with what was found so far."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from depaudit.errors import DepauditError, InputError, UsageError
from depaudit.port import cases as case_gen
from depaudit.port.cases import Case
from depaudit.port.exporter import (
    export_dynamo,
    export_torchscript,
    finish,
    invalid_graph,
    refused_op,
    symbol_names,
    torchscript_refused,
)
from depaudit.port.handover import prepare_dir, write_handover, write_log, write_report
from depaudit.port.loader import load_model
from depaudit.port.messages import ExportLog, exception_text, root_cause
from depaudit.port.metrics import Bars
from depaudit.port.probe import capture, merge, source_line, tracer_hazards
from depaudit.port.randomness import Determinism, check_determinism
from depaudit.port.reference import Reference
from depaudit.port.report import PortReport
from depaudit.port.request import FLOAT64_FLOOR_DB, PRECISION_MARGIN_DB, PortRequest
from depaudit.port.rewrites import PoolWatch, needs_rewrite, rewrite_pools
from depaudit.port.runner import EagerRun, FlatOutputs, is_flat, output_names, run_eager, to_tensors
from depaudit.port.verify import Verification, open_session, verify
from depaudit.rules.run_port import port_findings
from depaudit.rules.subjects import SHAPE_SPECIALISED, TENSOR_TO_PYTHON, VALUE_BRANCH, Hazard, PortSubject

LOG_NAME = "export.log"


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
    log: ExportLog = field(default_factory=ExportLog)
    determinism: Determinism | None = None
    export_case: Case | None = None
    node_sites: dict[str, tuple[str, int]] = field(default_factory=dict)
    references: dict[str, list[np.ndarray]] = field(default_factory=dict)
    export_model: nn.Module | None = None
    export_args: tuple[torch.Tensor, ...] = ()
    graph_hazards: list[Hazard] = field(default_factory=list)  # about the exported file, not the model's code
    clock: float = field(default_factory=time.perf_counter)

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.report.seconds[step] = round(now - self.clock, 3)
        self.clock = now


def run_port(request: PortRequest, model: nn.Module | None = None) -> PortReport:
    """Port one model (loaded from `request.model` unless given) and write the hand-over files into
    `request.out`. Returns the report; raises InputError (model/checkpoint/out dir, a model that raises
    on its example) or UsageError, after writing port.json when the output folder exists."""
    start = time.perf_counter()
    where = request.model
    if model is None:
        model, where = load_model(request.model, request.checkpoint)
    name = request.name or request.model.rpartition(":")[2].rpartition(".")[2] or "model"
    out = prepare_dir(request.out)
    report = PortReport(
        request.model, name, str(out), _inputs_doc(request), [], request.absolute_bar, environment=_environment()
    )
    report.precision = _precision_doc(request)
    state = _State(request, model.eval(), where, report)
    try:
        _steps(state)
    except DepauditError:
        _finish(state, start)
        raise
    except Exception as exc:  # torch, onnx or ONNX Runtime failed where no step expected it: data, not a crash
        report.notes.append(f"port stopped early: {exception_text(root_cause(exc), 600)} (traceback in {LOG_NAME})")
        state.log.add("port stopped", "".join(traceback.format_exception(exc)))
    _finish(state, start)
    return report


def _steps(state: _State) -> None:
    _eager(state)
    _check_determinism(state)
    _export(state)
    _search_other_sides(state)
    _verify(state)
    _try_torchscript(state)


def _finish(state: _State, start: float) -> None:
    """Findings, hand-over files, export.log and port.json from whatever the steps produced."""
    report = state.report
    report.findings = port_findings(
        PortSubject(
            state.request.model,
            tuple(_relative(h) for h in merge(state.hazards, state.graph_hazards)),
            tuple(d.label for d in state.request.dynamic),
        )
    )
    if state.runs:
        try:
            _hand_over(state)
        except DepauditError:
            raise
        except Exception as exc:  # numpy or onnx refusing to serialise something: said, never a traceback
            report.notes.append(f"the hand-over files could not be written: {exception_text(exc, 600)}")
    if state.log.parts:
        write_log(Path(report.out) / LOG_NAME, state.log.text())
        report.files = [*report.files, LOG_NAME]
    report.files = [*report.files, "port.json"]
    report.seconds["total"] = round(time.perf_counter() - start, 3)
    report.environment["loadavg_end"] = _loadavg()
    write_report(Path(report.out), report.to_json())


def _relative(hazard: Hazard) -> Hazard:
    """The hazard with its path relative to the working directory when it lies below it (readable
    reports; SARIF and editors resolve it the same way)."""
    return hazard._replace(path=_shown(hazard.path))


def _eager(state: _State) -> None:
    """Every generated case through the original model, watching adaptive pools' input sizes; then
    the example widened to 2 on dynamic dimensions of size 1, which is what gets exported."""
    request = state.request
    watch = PoolWatch(state.model)
    try:
        for case in case_gen.make_cases(request.inputs, request.dynamic):
            state.runs[case.name] = run_eager(state.model, case)
        example = state.runs[case_gen.EXAMPLE]
        if example.outputs is None:
            raise InputError(state.where, f"the model raised on the example inputs ({example.error})")
        state.export_case = _export_case(state, example)
    finally:
        watch.close()
    state.pool_watch = watch
    names = list(request.output_names) or output_names(example.structure, len(example.outputs))
    if len(names) != len(example.outputs):
        raise UsageError(f"--output-name: {len(names)} names for {len(example.outputs)} outputs")
    state.report.output_names = names
    state.lap("torch_eager")


def _export_case(state: _State, example: EagerRun) -> Case:
    """The example, or, when a dynamic dimension is 1 there (torch specialises a size-1 axis to a
    constant: its 0/1 specialisation), a copy repeated to 2 along it, which torch runs first."""
    request = state.request
    ones = case_gen.size_one_dims(request.inputs, request.dynamic)
    if not ones:
        return example.case
    wide = case_gen.widened(example.case, request.inputs, request.dynamic, ones)
    run = run_eager(state.model, wide)
    dims = ", ".join(ones)
    if run.outputs is None:
        if run.site is None:
            state.report.notes.append(
                f"{dims} stays 1: torch specialises a size-1 axis, and the model raised on a copy of the example "
                f"with {dims} = 2 ({run.error})"
            )
        else:
            path, line = run.site
            hazard = Hazard(
                SHAPE_SPECIALISED,
                path,
                line,
                source_line(path, line),
                f"the model raised with {dims} = 2: {run.error}",
                "eager torch on the example repeated to 2",
                fix="use the axis's size (x.shape[0], or -1 in a reshape) where this line has a number",
            )
            state.hazards = merge(state.hazards, [hazard])
        return example.case
    state.report.export_example = {"case": wide.name, "shapes": [list(a.shape) for a in wide.arrays]}
    state.report.notes.append(
        f"exported from the example repeated to 2 along {dims} (torch turns an axis of size 1 into a constant); "
        "torch ran that copy first"
    )
    return wide


def _check_determinism(state: _State) -> None:
    """Run the example twice: a model that disagrees with itself cannot be compared with anything."""
    det = check_determinism(state.model, state.runs[case_gen.EXAMPLE])
    state.determinism = det
    state.report.determinism = {**det.to_json(), "random_ops": [f"{_shown(h.path)}:{h.line}" for h in det.random_ops]}
    state.hazards = merge(state.hazards, det.random_ops)
    if not det.agrees:
        lines = ", ".join(f"{_shown(h.path)}:{h.line}" for h in det.random_ops) or "no random op at the model's lines"
        state.report.notes.append(
            f"torch disagrees with itself: two runs on the same input are {_db(det.psnr_db)} apart (random ops: {lines})"
        )
    state.lap("determinism")


def _db(value: float) -> str:
    return "nothing comparable" if not np.isfinite(value) else f"{value:.1f} dB"


def _axes(request: PortRequest) -> dict[tuple[int, int], tuple[int | None, int | None]]:
    index = {spec.name: i for i, spec in enumerate(request.inputs)}
    dims = request.dims
    return {
        (index[d.input], d.axis): (dims[d.dim].low, dims[d.dim].high) if d.is_root else (None, None)
        for d in request.dynamic
    }


def _dim_names(request: PortRequest) -> dict[tuple[int, int], str]:
    index = {spec.name: i for i, spec in enumerate(request.inputs)}
    return {(index[d.input], d.axis): d.dim for d in request.dynamic if d.is_root}


def _export_model(state: _State) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The module to export (pools rewritten on a copy, outputs flattened when nested) and its args."""
    watch = state.pool_watch
    # a rewrite works on a copy: the branch search and the float64 reference run the untouched model
    model: nn.Module = copy.deepcopy(state.model) if watch and needs_rewrite(watch) else state.model
    state.hazards = merge(state.hazards, rewrite_pools(model, watch) if watch else [])
    if not is_flat(state.runs[case_gen.EXAMPLE].structure):
        model = FlatOutputs(model)
    state.export_model = model
    state.export_args = to_tensors(state.export_case or state.runs[case_gen.EXAMPLE].case)
    return model, state.export_args


def _export(state: _State) -> None:
    """Capture, export with dynamo (else TorchScript), clean up and check the ONNX."""
    request, report = state.request, state.report
    export_model, args = _export_model(state)
    axes = _axes(request)
    captured = capture(export_model, args, axes, state.log)
    state.hazards = merge(state.hazards, captured.hazards)
    report.notes += [_static_note(state, index, axis, state.hazards) for index, axis in captured.static_axes]
    report.static_axes = [f"{request.inputs[index].name}:{axis}" for index, axis in captured.static_axes]
    state.lap("capture")
    names = [s.name for s in request.inputs]
    proto: onnx.ModelProto | None = None
    dims: dict[str, str] = {}
    if captured.program is not None:
        proto, dims = _dynamo(state, captured.program, args, names)
    else:
        report.notes.append(
            f"torch.export could not capture the model ({captured.error}); "
            "falling back to the TorchScript exporter, which traces one path"
        )
    if proto is None or axes:
        state.hazards = merge(state.hazards, tracer_hazards(export_model, args, only_constants=proto is not None))
    if proto is None:
        proto = _torchscript(state, export_model, args, names)
    if proto is not None:
        _checked(state, proto, dims)
    state.lap("export")


def _dynamo(
    state: _State, program: Any, args: tuple[torch.Tensor, ...], names: list[str]
) -> tuple[onnx.ModelProto | None, dict[str, str]]:
    """The dynamo exporter's model and torch's symbol -> dimension names; (None, {}) when it refuses an
    op (a DA407 finding at the op's line, the whole error in export.log)."""
    request, report = state.request, state.report
    try:
        proto = export_dynamo(program, args, names, report.output_names, request.opset, state.log)
    except Exception as exc:  # the converter raises several types; the refused op becomes a finding
        sites = state.determinism.sites if state.determinism else None
        hazard = refused_op(exc, program, sites)
        state.hazards = merge(state.hazards, [hazard] if hazard else [])
        state.log.add("dynamo exporter failed", "".join(traceback.format_exception(exc)))
        report.notes.append(f"dynamo exporter failed: {exception_text(root_cause(exc), 600)}")
        return None, {}
    report.exporter = "dynamo"
    return proto, symbol_names(program, _dim_names(request))


def _static_note(state: _State, index: int, axis: int, hazards: list[Hazard]) -> str:
    """One sentence: which axis was exported static, and the guard at the model's line that fixed it."""
    request = state.request
    spec = request.inputs[index]
    dim = next((d.dim for d in request.dynamic if d.input == spec.name and d.axis == axis), "")
    guard = next((h for h in hazards if h.kind == SHAPE_SPECIALISED), None)
    if guard is None:
        return (
            f"{spec.name} axis {axis} ({dim}) was exported static: torch fixed it and named no line of the model's code"
        )
    return (
        f"{spec.name} axis {axis} ({dim}) was exported static: `{guard.code}` at {_shown(guard.path)}:{guard.line} "
        f"fixes it ({guard.detail}; DA403)"
    )


def _checked(state: _State, proto: onnx.ModelProto, dims: dict[str, str]) -> None:
    """Finish the model and keep it; a checker rejection is a DA409 finding (ONNX Runtime still runs it)."""
    report = state.report
    checked = finish(proto, dims, state.where)
    state.node_sites = checked.node_sites
    state.graph_hazards = [checked.hazard] if checked.hazard is not None else []
    if checked.hazard is not None:
        report.notes.append(f"onnx.checker rejected the export: {checked.error}")
    state.onnx_bytes = proto.SerializeToString()
    report.exported = True
    report.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    report.onnx_bytes = len(state.onnx_bytes)
    report.onnx_sha256 = hashlib.sha256(state.onnx_bytes).hexdigest()


def _torchscript(
    state: _State, model: nn.Module, args: tuple[torch.Tensor, ...], names: list[str], quiet_failure: bool = False
) -> onnx.ModelProto | None:
    request = state.request
    dynamic: dict[str, dict[int, str]] = {}
    for d in request.dynamic:
        dynamic.setdefault(d.input, {})[d.axis] = d.dim if d.is_root else f"{d.dim}_{d.scale}x{d.offset:+d}"
    try:
        proto = export_torchscript(model, args, names, state.report.output_names, request.opset, dynamic, state.log)
    except Exception as exc:
        sites = state.determinism.sites if state.determinism else None
        hazard = torchscript_refused(exc, sites, request.opset)
        state.hazards = merge(state.hazards, [hazard] if hazard else [])
        state.log.add("TorchScript exporter failed", "".join(traceback.format_exception(exc)))
        state.report.notes.append(f"TorchScript exporter failed: {exception_text(exc, 600)}")
        proto = None
        if quiet_failure:  # a second try: the refused op is worth naming, the dynamo export stands
            return None
    else:
        state.report.exporter = "torchscript"
    printed = state.log.lines_of("TorchScript exporter")
    if printed:
        state.report.notes.append(f"the TorchScript exporter printed {printed} lines: they are in {LOG_NAME}")
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
    """ONNX Runtime on every case torch could run; compare with the goldens (and float64 where needed)."""
    report = state.report
    for name, run in state.runs.items():
        if run.outputs is None:
            report.skipped.append({"name": name, "reason": f"torch raised {run.error}"})
    if state.onnx_bytes is None:
        return
    done, error = _run_cases(state, state.onnx_bytes)
    if done is None:
        hazard = invalid_graph(error, None, state.node_sites, "ONNX Runtime (loading model.onnx)", state.where)
        state.graph_hazards = merge(state.graph_hazards, [hazard])
        report.notes.append(f"ONNX Runtime refused to load the export: {error}")
    else:
        state.references, report.cases = done.references, done.cases
    state.lap("onnxruntime")


def _run_cases(state: _State, onnx_bytes: bytes) -> tuple[Verification | None, str]:
    """Every case through ONNX Runtime on `onnx_bytes`, judged; (None, why) when ORT refuses the model."""
    request, report = state.request, state.report
    session, error = open_session(onnx_bytes)
    if session is None:
        return None, error
    reference = _LazyReference(state.model)
    bars = _bars(request)
    det = state.determinism
    distrust = (
        ""
        if det is None or det.agrees
        else f"torch disagrees with itself on the same input ({_db(det.psnr_db)} between two runs)"
    )
    done = verify(session, state.runs, report.output_names, bars, reference.run, distrust)
    example = state.runs[case_gen.EXAMPLE]
    for result in done.cases:
        if not result.passed:
            result.failures += _branch_notes(state, state.runs[result.name], example)
    if reference.reason:
        report.precision["reference_unavailable"] = reference.reason
    return done, ""


def _try_torchscript(state: _State) -> None:
    """When the dynamo export fails a case or the checker (torch decomposes some ops with the example's
    sizes: an LSTM over a dynamic length came out with a fixed one), export with the TorchScript
    exporter too and hand that one over if every case passes on it. Torch disagreeing with itself or a
    value-dependent line fails either way: not tried then."""
    report = state.report
    dynamo_failed = [c.name for c in report.cases if not c.passed]
    if report.exporter != "dynamo" or state.export_model is None or not (dynamo_failed or state.graph_hazards):
        return
    if (state.determinism and not state.determinism.agrees) or _tracked_lines(state):
        return
    names = [s.name for s in state.request.inputs]
    proto = _torchscript(state, state.export_model, state.export_args, names, quiet_failure=True)
    if proto is None:
        return
    checked = finish(proto, {}, state.where)
    blob = proto.SerializeToString()
    done, _ = _run_cases(state, blob) if checked.hazard is None else (None, "")
    failing = ", ".join(dynamo_failed) or "onnx.checker"
    if done is None or not done.cases or not all(c.passed for c in done.cases):
        report.exporter = "dynamo"
        report.notes.append(
            f"the TorchScript exporter was tried too (the dynamo export failed: {failing}) and did not pass either"
        )
        return
    state.hazards = merge(state.hazards, tracer_hazards(state.export_model, state.export_args, only_constants=False))
    state.graph_hazards, state.node_sites = [], checked.node_sites
    state.references, report.cases = done.references, done.cases
    state.onnx_bytes = blob
    report.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    report.onnx_bytes, report.onnx_sha256 = len(blob), hashlib.sha256(blob).hexdigest()
    report.notes.append(
        f"the dynamo export failed {failing}; the TorchScript exporter's export passes every case and is the one "
        "handed over"
    )
    state.lap("torchscript_retry")


class _LazyReference:
    """The float64 model, made on first use."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.reference: Reference | None = None
        self.reason = ""

    def run(self, case: Case) -> list[np.ndarray] | None:
        if self.reference is None:
            self.reference = Reference(self.model)
        outputs = self.reference.run(case)
        self.reason = self.reference.reason
        return outputs


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
        goldens.update(
            {f"{case_name}.out.{n}": a for n, a in zip(report.output_names, run.outputs or [], strict=False)}
        )
        refs = state.references.get(case_name, [])
        goldens.update({f"{case_name}.ref.{n}": a for n, a in zip(report.output_names, refs, strict=False)})
    problems = [f"{f.rule} {f.path}:{f.line}: {f.message}" for f in report.blocking]
    if not report.passed and not problems:
        failed = [f"case {c.name}: {'; '.join(c.failures)}" for c in report.cases if not c.passed]
        problems = failed or report.notes[-1:] or ["not exported"]
    bars = _bars(state.request)
    paths = write_handover(
        Path(report.out),
        report.name,
        state.onnx_bytes,
        goldens,
        report.inputs,
        report.output_names,
        [c.name for c in report.cases],
        bars,
        problems,
    )
    report.files = [p.name for p in paths]


def _bars(request: PortRequest) -> Bars:
    return Bars(request.absolute_bar, request.min_psnr is None, PRECISION_MARGIN_DB, FLOAT64_FLOOR_DB)


def _precision_doc(request: PortRequest) -> dict[str, Any]:
    if request.min_psnr is not None:
        return {"judged": "absolute", "bar_db": request.min_psnr, "margin_db": None, "float64_floor_db": None}
    return {
        "judged": "relative to float64",
        "bar_db": request.absolute_bar,
        "margin_db": PRECISION_MARGIN_DB,
        "float64_floor_db": FLOAT64_FLOOR_DB,
    }


def _inputs_doc(request: PortRequest) -> list[dict[str, Any]]:
    docs = []
    for spec in request.inputs:
        axes = [d for d in request.dynamic if d.input == spec.name]
        doc: dict[str, Any] = {
            "name": spec.name,
            "shape": list(spec.shape),
            "dtype": spec.dtype,
            "dynamic_axes": {str(d.axis): d.dim if d.is_root else d.label.partition("=")[2] for d in axes},
        }
        if spec.float_range is not None:
            doc["value_range"] = list(spec.float_range)
        docs.append(doc)
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
