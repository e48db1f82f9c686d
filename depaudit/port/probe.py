"""Find what stops a model from exporting soundly, with torch's own machinery, at the user's file:line.

* `torch.export.export` (non-strict, the dynamo exporter's first strategy) with the requested dynamic
  axes as `Dim.DYNAMIC`. On success, the ShapeEnv's guards whose frame is the user's code are Python
  conditions on a dynamic shape (DA406).
* On failure, `torch.export.draft_export` lists every data-dependent expression (a branch, a conversion,
  an assert: DA401/DA402/DA404, told apart by the statement at that line) and every added guard (a
  specialised dynamic axis: DA403), each with the user's stack and the value it had on the example.
* The TorchScript tracer's warnings (`TracerWarning`, with the user's frame) where the traced exporter
  is used or axes are dynamic: tensors built from Python numbers become constants (DA405).
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import os
import re
import sysconfig
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.export import Dim

from depaudit.rules.subjects import (
    SHAPE_GUARD,
    SHAPE_SPECIALISED,
    TENSOR_ASSERT,
    TENSOR_FROM_SHAPE,
    TENSOR_TO_PYTHON,
    VALUE_BRANCH,
    Hazard,
)

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_PORT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
_SPECIALISED = re.compile(r"^Eq\((\w+), (-?\d+)\)$")


def is_user_file(filename: str | None) -> bool:
    """True for the model's own code: not torch, not depaudit's port package, not the standard library."""
    if not filename or filename.startswith("<"):
        return False
    path = os.path.abspath(filename)
    return not path.startswith((_TORCH_DIR, _PORT_DIR, _STDLIB))


@contextlib.contextmanager
def quiet() -> Iterator[list[warnings.WarningMessage]]:
    """Silence torch's prints and log lines while exporting; yield the warnings it raised."""
    loggers = [
        logging.getLogger(n) for n in ("torch", "torch.export", "torch.fx", "torch._dynamo", "torch.onnx", "onnxscript")
    ]
    levels = [lg.level for lg in loggers]
    sink = io.StringIO()
    try:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            warnings.simplefilter("always")
            yield caught
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _tree(path: str) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def source_line(path: str, line: int | None) -> str:
    """The stripped text of `path:line` ('' when unreadable)."""
    if not line:
        return ""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def statement_kind(path: str, line: int) -> str:
    """'assert' when `line` is inside an assert, 'branch' when it is in the test of an if/while/ternary,
    'other' otherwise (a conversion such as int(t) or t.item())."""
    tree = _tree(path)
    if tree is None:
        return "other"
    kind = "other"
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return "assert"
        if isinstance(node, (ast.If, ast.While, ast.IfExp)):
            test = node.test
            if test.lineno <= line <= (test.end_lineno or test.lineno):
                kind = "branch"
    return kind


@dataclass
class Capture:
    """The outcome of capturing the model with torch.export: the program (None when it cannot be
    captured soundly), the hazards found, and the axes that had to be exported static."""

    program: Any = None
    hazards: list[Hazard] = field(default_factory=list)
    static_axes: list[tuple[int, int]] = field(default_factory=list)
    error: str = ""


def dynamic_shapes(
    args: tuple[torch.Tensor, ...], axes: list[tuple[int, int]], hint: Any = Dim.DYNAMIC
) -> tuple[dict[int, Any] | None, ...] | None:
    """torch.export's positional dynamic_shapes: `hint` on each (input index, axis), None elsewhere."""
    if not axes:
        return None
    return tuple({a: hint for i2, a in axes if i2 == i} or None for i in range(len(args)))


def capture(model: nn.Module, args: tuple[torch.Tensor, ...], axes: list[tuple[int, int]]) -> Capture:
    """Export `model` with torch.export; on failure list every hazard with draft_export and retry with
    the specialised axes static. Never raises for a model problem (it is data in the Capture)."""
    result = Capture()
    try:
        with quiet(), torch.no_grad():
            result.program = torch.export.export(model, args, dynamic_shapes=dynamic_shapes(args, axes), strict=False)
    except Exception as exc:  # torch raises many types here; each is a finding, not a crash
        result.error = _first_line(exc)
        result.hazards = draft_hazards(model, args, axes) or _traceback_hazards(exc)
        if axes and not any(h.kind in (VALUE_BRANCH, TENSOR_TO_PYTHON, TENSOR_ASSERT) for h in result.hazards):
            result.program, result.static_axes = _export_auto(model, args, axes)
        return result
    result.hazards = guard_hazards(result.program)
    return result


def _export_auto(
    model: nn.Module, args: tuple[torch.Tensor, ...], axes: list[tuple[int, int]]
) -> tuple[Any, list[tuple[int, int]]]:
    """Export with Dim.AUTO (torch specialises what the code forces static); return the program and
    the requested axes that ended up static. (None, []) when even that fails."""
    try:
        with quiet(), torch.no_grad():
            program = torch.export.export(
                model, args, dynamic_shapes=dynamic_shapes(args, axes, Dim.AUTO), strict=False
            )
    except Exception:
        return None, []
    shapes = user_input_shapes(program)
    static = [(i, a) for i, a in axes if i < len(shapes) and is_static(shapes[i][a])]
    return program, static


def is_static(size: Any) -> bool:
    """True for a plain int or a SymInt torch specialised to a number."""
    return isinstance(size, int) or bool(
        getattr(getattr(size, "node", None), "expr", None) is not None and size.node.expr.is_number
    )


def user_input_shapes(program: Any) -> list[Any]:
    """The example shapes of the program's user inputs, in order (symbolic sizes stay SymInts)."""
    users = set(program.graph_signature.user_inputs)
    return [n.meta["val"].shape for n in program.graph.nodes if n.op == "placeholder" and n.name in users]


def guard_hazards(program: Any) -> list[Hazard]:
    """Shape guards raised directly by the user's Python code (not inside a torch op): a condition on a
    dynamic shape that the export decided once with the example input."""
    env = _shape_env(program)
    if env is None:
        return []
    hazards, seen = [], set()
    for guard in getattr(env, "guards", []):
        frame = getattr(guard.sloc, "framework_loc", None)
        filename, line = getattr(frame, "filename", None), getattr(frame, "lineno", None)
        if filename is None or not is_user_file(filename) or (filename, line) in seen:
            continue
        seen.add((filename, line))
        code = source_line(filename, line)
        hazards.append(
            Hazard(
                SHAPE_GUARD,
                filename,
                line,
                code,
                f"guard {guard.expr} holds for the example input",
                "torch.export (ShapeEnv guard)",
            )
        )
    return hazards


def _shape_env(program: Any) -> Any:
    for node in program.graph.nodes:
        val = node.meta.get("val")
        mode = getattr(val, "fake_mode", None)
        if mode is not None and mode.shape_env is not None:
            return mode.shape_env
    return None


def draft_hazards(model: nn.Module, args: tuple[torch.Tensor, ...], axes: list[tuple[int, int]]) -> list[Hazard]:
    """Every failure draft_export reports, as hazards at the user's frame ([] when it cannot run)."""
    try:
        with quiet(), torch.no_grad():
            program = torch.export.draft_export(model, args, dynamic_shapes=dynamic_shapes(args, axes))
    except Exception:
        return []
    report = getattr(program, "_report", None)
    if report is None:
        return []
    # torch interns each file name once per process and logs it only the first time, so a second
    # draft_export's own table lacks names it already saw: merge in the process-wide table. A private
    # torch module: imported here, so a torch without it fails this merge only, not every port.
    from torch._logging.structured import INTERN_TABLE

    names = {**{index: name for name, index in INTERN_TABLE.items()}, **report.str_to_filename}
    hazards: list[Hazard] = []
    for failure in report.failures:
        hazard = _failure_hazard(failure.failure_type.name, failure.data, names)
        if hazard is not None and all(
            (h.path, h.line, h.kind) != (hazard.path, hazard.line, hazard.kind) for h in hazards
        ):
            hazards.append(hazard)
    return hazards


def _failure_hazard(kind: str, data: dict[str, Any], names: dict[int, str]) -> Hazard | None:
    frames = [(names.get(f["filename"], ""), f["line"]) for f in data.get("user_stack") or []]
    user = [(f, n) for f, n in frames if is_user_file(f)]
    if not user:
        return None
    path, line = user[-1]
    code = source_line(path, line)
    expr = str(data.get("expr", ""))
    if kind == "DATA_DEPENDENT_ERROR":
        value = data.get("result")
        statement = statement_kind(path, line)
        if statement == "assert":
            return Hazard(
                TENSOR_ASSERT, path, line, code, f"it held ({value}) for the example input", "torch.export.draft_export"
            )
        if statement == "branch":
            return Hazard(
                VALUE_BRANCH, path, line, code, f"the example input took the {value} side", "torch.export.draft_export"
            )
        return Hazard(
            TENSOR_TO_PYTHON, path, line, code, f"value {value} on the example input", "torch.export.draft_export"
        )
    if kind == "GUARD_ADDED":
        match = _SPECIALISED.match(expr)
        if match:
            return Hazard(
                SHAPE_SPECIALISED,
                path,
                line,
                code,
                f"the axis became {match.group(2)}",
                "torch.export.draft_export",
                fix="depaudit exported that axis static",
            )
        if statement_kind(path, line) == "branch" or _guard_at_user_line(data, names):
            return Hazard(
                SHAPE_GUARD, path, line, code, f"guard {expr} holds for the example input", "torch.export.draft_export"
            )
    return None


def _guard_at_user_line(data: dict[str, Any], names: dict[int, str]) -> bool:
    stack = data.get("stack") or []
    return bool(stack) and is_user_file(names.get(stack[-1]["filename"], ""))


def _traceback_hazards(exc: BaseException) -> list[Hazard]:
    """The user's frame in a failed export's traceback, classified like a draft_export failure."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
    if not frames or "data-dependent" not in str(exc):
        return []
    path, line = frames[-1].filename, frames[-1].lineno or 0
    statement = statement_kind(path, line)
    kind = {"assert": TENSOR_ASSERT, "branch": VALUE_BRANCH}.get(statement, TENSOR_TO_PYTHON)
    return [Hazard(kind, path, line, source_line(path, line), _first_line(exc)[:160], "torch.export")]


def tracer_hazards(model: nn.Module, args: tuple[torch.Tensor, ...], only_constants: bool) -> list[Hazard]:
    """Hazards from `torch.jit.trace`'s TracerWarnings at the user's frames. With `only_constants`,
    only tensors recorded as constants (DA405); otherwise conversions and branches too."""
    # a trace that fails is not reported here: the exporter's own attempt reports the failure
    with quiet() as caught, torch.no_grad(), contextlib.suppress(Exception):
        torch.jit.trace(model, args, check_trace=False, strict=False)  # type: ignore[no-untyped-call]
    hazards: list[Hazard] = []
    for warning in caught:
        if warning.category.__name__ != "TracerWarning" or not is_user_file(warning.filename):
            continue
        text = str(warning.message)
        path, line = warning.filename, warning.lineno
        kind = _tracer_kind(text, path, line)
        if kind is None or (only_constants and kind != TENSOR_FROM_SHAPE):
            continue
        if any((h.path, h.line, h.kind) == (path, line, kind) for h in hazards):
            continue
        hazards.append(
            Hazard(kind, path, line, source_line(path, line), text.split(". ")[0], "torch.jit.trace (TracerWarning)")
        )
    return hazards


def _tracer_kind(text: str, path: str, line: int) -> str | None:
    if "registered as constants" in text:
        return TENSOR_FROM_SHAPE
    if "Python boolean" in text:
        return {"assert": TENSOR_ASSERT, "branch": VALUE_BRANCH}.get(statement_kind(path, line), TENSOR_TO_PYTHON)
    if "Converting a tensor to a Python" in text or "Converting a tensor to a NumPy" in text:
        return TENSOR_TO_PYTHON
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def merge(*groups: list[Hazard]) -> list[Hazard]:
    """Hazards from several probes, the first report of each (path, line) kept."""
    merged: list[Hazard] = []
    for group in groups:
        for hazard in group:
            if all((h.path, h.line) != (hazard.path, hazard.line) for h in merged):
                merged.append(hazard)
    return merged
