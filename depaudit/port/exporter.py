"""ONNX export: the dynamo exporter from the captured ExportedProgram, the TorchScript exporter as the
fallback, then depaudit's clean-up (dynamic dimensions named as asked, no build-machine paths) and
`onnx.checker`.

Why strip stack traces: the dynamo exporter records each node's Python stack (absolute paths of the
checkout and the venv) in node metadata, so the same model exported from two checkouts differs byte for
byte and the file leaks the build machine's layout. Without them the export is reproducible.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

import onnx
import torch
from torch import nn
from torch.export import ExportedProgram

from depaudit.port.probe import is_static, is_user_file, quiet, source_line, user_input_shapes
from depaudit.rules.subjects import EXPORT_REFUSED, Hazard

TORCHSCRIPT_MAX_OPSET = 20  # the newest symbolic_opsetN module the TorchScript exporter ships in torch 2.13
_PATH_KEYS = ("pkg.torch.onnx.stack_trace",)


@dataclass
class Exported:
    """A checked ONNX model and how it was made (`exporter`: 'dynamo' or 'torchscript')."""

    model: onnx.ModelProto
    exporter: str
    opset: int


def export_dynamo(
    program: ExportedProgram,
    args: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    opset: int,
) -> onnx.ModelProto:
    """ONNX from a torch.export ExportedProgram with the dynamo exporter. Raises what torch raises."""
    with quiet(), torch.no_grad():
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
) -> onnx.ModelProto:
    """ONNX from the TorchScript (tracing) exporter. Raises what torch raises."""
    fd, tmp = tempfile.mkstemp(suffix=".onnx")
    os.close(fd)
    try:
        with quiet(), torch.no_grad():
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


def refused_op(exc: BaseException, program: ExportedProgram | None) -> Hazard | None:
    """The op a failed dynamo conversion names, at the user's line from the node's stack trace."""
    chain, node_name = [], None
    current: BaseException | None = exc
    while current is not None:
        chain.append(current)
        match = re.search(r"translating node %(\w+)", str(current))
        node_name = node_name or (match.group(1) if match else None)
        current = current.__cause__
    reason = str(chain[-1]).strip().splitlines()[0] if str(chain[-1]).strip() else type(chain[-1]).__name__
    if node_name is None or program is None:
        return None
    node = next((n for n in program.graph.nodes if n.name == node_name), None)
    if node is None:
        return None
    path, line = _user_frame(node.meta.get("stack_trace") or "")
    return Hazard(
        EXPORT_REFUSED,
        path,
        line,
        source_line(path, line) or str(node.target),
        f"the dynamo exporter has no ONNX translation for {node.target}: {reason[:160]}",
        "torch.onnx.export (dynamo)",
        fix="register a translation with custom_translation_table, "
        "or rewrite the op with supported ones; depaudit tried the TorchScript exporter",
    )


def _user_frame(stack: str) -> tuple[str, int]:
    frames = re.findall(r'File "([^"]+)", line (\d+)', stack)
    user = [(f, int(n)) for f, n in frames if is_user_file(f)]
    return user[-1] if user else ("<unknown>", 0)


def finish(model: onnx.ModelProto, dim_names: dict[str, str]) -> onnx.ModelProto:
    """Rename torch's dynamic-dimension symbols to the names asked for, drop path-bearing node
    metadata, and run onnx.checker (full check with shape inference). Raises onnx's ValidationError."""
    _rename_dims(model, dim_names)
    for node in model.graph.node:
        kept = [p for p in node.metadata_props if p.key not in _PATH_KEYS]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    onnx.checker.check_model(model, full_check=True)
    return model


def _rename_dims(model: onnx.ModelProto, names: dict[str, str]) -> None:
    if not names:
        return
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)) + r")\b")
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: names[m.group(1)], dim.dim_param)


def symbol_names(program: ExportedProgram, input_names: list[str], axes: dict[tuple[int, int], str]) -> dict[str, str]:
    """torch's symbol for each dynamic (input, axis) in `program` -> the name asked for it."""
    shapes = user_input_shapes(program)
    out: dict[str, str] = {}
    for (index, axis), name in axes.items():
        if index < len(shapes) and not is_static(shapes[index][axis]):
            out[str(shapes[index][axis].node.expr)] = name
    return out
