"""ONNX export: the dynamo exporter from the captured ExportedProgram, the TorchScript exporter as the
fallback, then depaudit's clean-up (dynamic dimensions named as asked, no build-machine paths) and
`onnx.checker`. Whatever an exporter refuses is named at the model's line (DA407); a graph that fails
the checker is named at the line whose node it rejects (DA409).

Why strip stack traces: the dynamo exporter records each node's Python stack (absolute paths of the
checkout and the venv) in node metadata, so the same model exported from two checkouts differs byte for
byte and the file leaks the build machine's layout. Without them the export is reproducible. They are
read first: they map each ONNX node to the model's line.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field

import onnx
import torch
from torch import nn
from torch.export import ExportedProgram

from depaudit.port.messages import ExportLog, chain, exception_text, one_line, root_cause, usual_fix
from depaudit.port.probe import is_static, is_user_file, quiet, source_line, user_frame, user_input_shapes
from depaudit.port.randomness import OpSites
from depaudit.rules.subjects import EXPORT_REFUSED, INVALID_GRAPH, Hazard

TORCHSCRIPT_MAX_OPSET = 20  # the newest symbolic_opsetN module the TorchScript exporter ships in torch 2.13
_PATH_KEYS = ("pkg.torch.onnx.stack_trace",)


def export_dynamo(
    program: ExportedProgram,
    args: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    opset: int,
    log: ExportLog | None = None,
) -> onnx.ModelProto:
    """ONNX from a torch.export ExportedProgram with the dynamo exporter. Raises what torch raises."""
    with quiet(log, "dynamo exporter"), torch.no_grad():
        onnx_program = torch.onnx.export(
            program,
            args,
            dynamo=True,
            opset_version=opset,
            input_names=input_names,
            output_names=output_names,
            external_data=False,
            optimize=True,
            verify=False,
        )
    if onnx_program is None:  # only the TorchScript path returns None
        raise RuntimeError("torch.onnx.export returned no ONNX program")
    return onnx_program.model_proto


def export_torchscript(
    model: nn.Module,
    args: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    opset: int,
    dynamic_axes: dict[str, dict[int, str]],
    log: ExportLog | None = None,
) -> onnx.ModelProto:
    """ONNX from the TorchScript (tracing) exporter. Raises what torch raises."""
    fd, tmp = tempfile.mkstemp(suffix=".onnx")
    os.close(fd)
    try:
        with quiet(log, "TorchScript exporter"), torch.no_grad():
            torch.onnx.export(
                model,
                args,
                tmp,
                dynamo=False,
                opset_version=min(opset, TORCHSCRIPT_MAX_OPSET),
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes or None,
            )
        return onnx.load(tmp)
    finally:
        os.unlink(tmp)


def _op_name(target: object) -> str:
    """`aten.cummax` for an OpOverload such as torch.ops.aten.cummax.default."""
    packet = getattr(target, "overloadpacket", None)
    return str(packet) if packet is not None else str(target)


def refused_op(exc: BaseException, program: ExportedProgram | None, sites: OpSites | None = None) -> Hazard | None:
    """The op a failed dynamo conversion names, at the user's line (from the node's stack trace, else
    from where eager torch called the op)."""
    reason = exception_text(root_cause(exc), 400)
    node_name = next((m.group(1) for e in chain(exc) if (m := re.search(r"translating node %(\w+)", str(e)))), None)
    node = next((n for n in program.graph.nodes if n.name == node_name), None) if program and node_name else None
    op = _op_name(node.target) if node is not None else _named_op(reason)
    frame = _user_frame(node.meta.get("stack_trace") or "") if node is not None else None
    if frame is None and op and sites is not None:
        frame = sites.site(op)
    if frame is None or op is None:
        return None
    path, line = frame
    code = source_line(path, line) or op
    return Hazard(
        EXPORT_REFUSED,
        path,
        line,
        code,
        f"the dynamo exporter has no ONNX translation for {op}: {reason}",
        "torch.onnx.export (dynamo)",
        fix=usual_fix(f"{op} {code} {reason}", "dynamo"),
    )


def _named_op(text: str) -> str | None:
    match = re.search(r"op='([\w.]+)'", text) or re.search(r"operator '(\w+)::(\w+)'", text)
    if match is None:
        return None
    return match.group(1) if match.lastindex == 1 else f"{match.group(1)}.{match.group(2)}"


def torchscript_refused(exc: BaseException, sites: OpSites | None, opset: int) -> Hazard | None:
    """The op the TorchScript exporter refuses, at the user's line: from the node's Python stack in the
    message, else from where eager torch called the op, else from the traceback."""
    text = str(exc)
    op = _named_op(text)
    listed = [(f, int(n)) for f, n in re.findall(r"^\s*(/[^\n(]+)\((\d+)\): \w+\s*$", text, re.M)]
    frame = next(((f, n) for f, n in listed if is_user_file(f)), None)
    if frame is None and op and sites is not None:
        frame = sites.site(op)
    frame = frame or user_frame(exc)
    if frame is None:
        return None
    path, line = frame
    code = source_line(path, line) or (op or "")
    summary = one_line(text.split("[Caused by")[0].split("(node defined in")[0], 400)
    what = f"{op} " if op else ""
    return Hazard(
        EXPORT_REFUSED,
        path,
        line,
        code,
        f"the TorchScript exporter refuses {what}at opset {min(opset, TORCHSCRIPT_MAX_OPSET)}: {type(exc).__name__}: {summary}",
        "torch.onnx.export (TorchScript)",
        fix=usual_fix(f"{op} {code} {text[:2000]}", "torchscript"),
    )


def _user_frame(stack: str) -> tuple[str, int] | None:
    frames = re.findall(r'File "([^"]+)", line (\d+)', stack)
    user = [(f, int(n)) for f, n in frames if is_user_file(f)]
    return user[-1] if user else None


@dataclass
class Checked:
    """The checker's verdict on a finished model: its message ('' when valid), the finding at the
    node it names, and each node's line in the model's code (from the exporter's stack traces)."""

    error: str = ""
    hazard: Hazard | None = None
    node_sites: dict[str, tuple[str, int]] = field(default_factory=dict)


def finish(model: onnx.ModelProto, dim_names: dict[str, str], fallback_path: str) -> Checked:
    """Rename torch's dynamic-dimension symbols to the names asked for, map nodes to user lines, run
    onnx.checker (full check with shape inference), then drop path-bearing node metadata. Never raises:
    a rejection (ValidationError, InferenceError, ...) is `error` and a DA409 `hazard`."""
    _rename_dims(model, dim_names)
    checked = Checked(node_sites=node_sites(model))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # onnx raises ValidationError, shape_inference.InferenceError and others
        checked.error = exception_text(exc)
        checked.hazard = invalid_graph(
            checked.error, model, checked.node_sites, "onnx.checker (full_check)", fallback_path
        )
    for node in model.graph.node:
        kept = [p for p in node.metadata_props if p.key not in _PATH_KEYS]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    return checked


def node_sites(model: onnx.ModelProto) -> dict[str, tuple[str, int]]:
    """ONNX node name -> the model's (path, line) that produced it, from the exporter's stack traces."""
    sites = {}
    for node in model.graph.node:
        stack = next((p.value for p in node.metadata_props if p.key in _PATH_KEYS), "")
        frame = _user_frame(stack) if stack else None
        if frame is not None and node.name:
            sites[node.name] = frame
    return sites


def invalid_graph(
    message: str, model: onnx.ModelProto | None, sites: dict[str, tuple[str, int]], found_by: str, fallback_path: str
) -> Hazard:
    """A DA409 hazard for a rejected graph, at the line of the node the message names when known."""
    match = re.search(r"node name: ([^\s),]+)|Node \(([^\s)]+)\)|node ([\w./:-]+)", message)
    name = next((g for g in match.groups() if g), "") if match else ""
    op_type = next((n.op_type for n in (model.graph.node if model else []) if n.name == name), "")
    path, line = sites.get(name, (fallback_path, 0))
    code = source_line(path, line) or (f"{op_type} node {name}" if name else "the exported graph")
    where = f"the {op_type} node {name}: " if name and op_type else ""
    return Hazard(
        INVALID_GRAPH,
        path,
        line or None,
        code,
        f"{where}{message}",
        found_by,
        fix="change the op's arguments so ONNX infers the shape torch computes (e.g. ceil_mode=False with explicit "
        "padding for a pool whose last window starts in the padding), or keep it outside the exported model",
    )


def _rename_dims(model: onnx.ModelProto, names: dict[str, str]) -> None:
    if not names:
        return
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)) + r")\b")
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: names[m.group(1)], dim.dim_param)


def symbol_names(program: ExportedProgram, axes: dict[tuple[int, int], str]) -> dict[str, str]:
    """torch's symbol for each dynamic (input, axis) in `program` -> the name asked for it (plain
    axes only: a tied axis's symbol is an expression of its dimension's)."""
    shapes = user_input_shapes(program)
    out: dict[str, str] = {}
    for (index, axis), name in axes.items():
        if index < len(shapes) and not is_static(shapes[index][axis]):
            expr = shapes[index][axis].node.expr
            if expr.is_Symbol:
                out.setdefault(str(expr), name)
    return out
