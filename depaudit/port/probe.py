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
import ctypes
import inspect
import io
import logging
import os
import re
import sys
import sysconfig
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.export import Dim

from depaudit.port.messages import ExportLog, exception_text, root_cause, strip_ansi, usual_fix
from depaudit.rules.subjects import (
    EXPORT_REFUSED,
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


@dataclass
class Printed:
    """What torch printed and warned inside `quiet()`: Python-level and file-descriptor-level output
    (the TorchScript exporter's C++ graph dumps bypass sys.stdout), filled in when the block ends."""

    warnings: list[warnings.WarningMessage] = field(default_factory=list)
    text: str = ""


def _flush_c_stdio() -> None:
    with contextlib.suppress(Exception):  # no libc (Windows): C-level output is not captured there
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _fds_to(sink: int) -> Iterator[None]:
    """Point file descriptors 1 and 2 at `sink` for the block (nothing when they cannot be duplicated)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        yield
        return
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    try:
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


@contextlib.contextmanager
def quiet(log: ExportLog | None = None, title: str = "torch") -> Iterator[Printed]:
    """Silence torch's prints, log lines and C++ dumps while exporting; yield what it printed and
    warned (`Printed`), and add the printed text to `log` under `title`."""
    loggers = [
        logging.getLogger(n) for n in ("torch", "torch.export", "torch.fx", "torch._dynamo", "torch.onnx", "onnxscript")
    ]
    levels = [lg.level for lg in loggers]
    printed = Printed()
    sink = io.StringIO()
    with tempfile.TemporaryFile() as fd_sink:
        try:
            for lg in loggers:
                lg.setLevel(logging.CRITICAL)
            with (
                _fds_to(fd_sink.fileno()),
                warnings.catch_warnings(record=True) as caught,
                contextlib.redirect_stdout(sink),
                contextlib.redirect_stderr(sink),
            ):
                warnings.simplefilter("always")
                printed.warnings = caught
                yield printed
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)
            fd_sink.seek(0)
            printed.text = sink.getvalue() + fd_sink.read().decode("utf-8", "replace")
            if log is not None:
                log.add(title, printed.text)


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


Axes = dict[tuple[int, int], tuple[int | None, int | None]]
"""Dynamic axes by (input index, axis), each with its (min, max) size (None: open)."""


@dataclass
class Capture:
    """The outcome of capturing the model with torch.export: the program (None when it cannot be
    captured soundly), the hazards found, and the axes that had to be exported static."""

    program: Any = None
    hazards: list[Hazard] = field(default_factory=list)
    static_axes: list[tuple[int, int]] = field(default_factory=list)
    error: str = ""


def dynamic_shapes(model: nn.Module, args: tuple[torch.Tensor, ...], axes: Axes, hint: Any = Dim.DYNAMIC) -> Any:
    """torch.export's positional dynamic_shapes: `hint` (with the axis's range, when it has one) on
    each (input index, axis), None elsewhere. Dim.DYNAMIC lets torch find ties between axes itself.
    A forward taking `*args` gets them as one tuple (torch matches dynamic_shapes to the signature)."""
    if not axes:
        return None

    def bounded(low: int | None, high: int | None) -> Any:
        return hint if low is None and high is None else hint(min=low, max=high)

    shapes = tuple({a: bounded(*span) for (i2, a), span in axes.items() if i2 == i} or None for i in range(len(args)))
    return (shapes,) if _takes_varargs(model) else shapes


def _takes_varargs(model: nn.Module) -> bool:
    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)


def capture(model: nn.Module, args: tuple[torch.Tensor, ...], axes: Axes, log: ExportLog | None = None) -> Capture:
    """Export `model` with torch.export; on failure list every hazard with draft_export and retry with
    the specialised axes static. Never raises for a model problem (it is data in the Capture)."""
    result = Capture()
    try:
        with quiet(log, "torch.export"), torch.no_grad():
            result.program = torch.export.export(
                model, args, dynamic_shapes=dynamic_shapes(model, args, axes), strict=False
            )
    except Exception as exc:  # torch raises many types here; each is a finding, not a crash
        result.error = exception_text(exc)
        if log is not None:
            log.add("torch.export failed", "".join(traceback.format_exception(exc)))
        result.hazards = draft_hazards(model, args, axes, log) or _traceback_hazards(exc)
        if axes and not any(h.kind in (VALUE_BRANCH, TENSOR_TO_PYTHON, TENSOR_ASSERT) for h in result.hazards):
            result.program, result.static_axes = _export_auto(model, args, axes, log)
        return result
    result.hazards = guard_hazards(result.program)
    return result


def _export_auto(
    model: nn.Module, args: tuple[torch.Tensor, ...], axes: Axes, log: ExportLog | None
) -> tuple[Any, list[tuple[int, int]]]:
    """Export with Dim.AUTO (torch specialises what the code forces static); return the program and
    the requested axes that ended up static. (None, []) when even that fails."""
    try:
        with quiet(log, "torch.export (Dim.AUTO)"), torch.no_grad():
            program = torch.export.export(
                model, args, dynamic_shapes=dynamic_shapes(model, args, axes, Dim.AUTO), strict=False
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


def draft_hazards(
    model: nn.Module, args: tuple[torch.Tensor, ...], axes: Axes, log: ExportLog | None = None
) -> list[Hazard]:
    """Every failure draft_export reports, as hazards at the user's frame ([] when it cannot run)."""
    try:
        with quiet(log, "torch.export.draft_export"), torch.no_grad():
            program = torch.export.draft_export(model, args, dynamic_shapes=dynamic_shapes(model, args, axes))
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


def user_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost frame of the model's own code in `exc`'s traceback (or in a cause's)."""
    current: BaseException | None = exc
    while current is not None:
        frames = [f for f in traceback.extract_tb(current.__traceback__) if is_user_file(f.filename)]
        if frames:
            return frames[-1].filename, frames[-1].lineno or 0
        current = current.__cause__ or current.__context__
    return None


def _traceback_hazards(exc: BaseException) -> list[Hazard]:
    """The user's frame in a failed export's traceback: a data-dependent expression classified like a
    draft_export failure, anything else an op or construct torch.export cannot capture (DA407)."""
    frame = user_frame(exc)
    if frame is None:
        return []
    path, line = frame
    code = source_line(path, line)
    if "data-dependent" in str(exc):
        kind = {"assert": TENSOR_ASSERT, "branch": VALUE_BRANCH}.get(statement_kind(path, line), TENSOR_TO_PYTHON)
        return [Hazard(kind, path, line, code, _first_line(exc)[:160], "torch.export")]
    reason = exception_text(root_cause(exc), 400)
    return [
        Hazard(
            EXPORT_REFUSED,
            path,
            line,
            code,
            f"torch.export cannot capture it: {reason}",
            "torch.export",
            fix=usual_fix(f"{code} {reason}", "torch.export"),
        )
    ]


def tracer_hazards(model: nn.Module, args: tuple[torch.Tensor, ...], only_constants: bool) -> list[Hazard]:
    """Hazards from `torch.jit.trace`'s TracerWarnings at the user's frames. With `only_constants`,
    only tensors recorded as constants (DA405); otherwise conversions and branches too."""
    # a trace that fails is not reported here: the exporter's own attempt reports the failure
    with quiet() as printed, torch.no_grad(), contextlib.suppress(Exception):
        torch.jit.trace(model, args, check_trace=False, strict=False)  # type: ignore[no-untyped-call]
    hazards: list[Hazard] = []
    for warning in printed.warnings:
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
    text = strip_ansi(str(exc)).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def merge(*groups: list[Hazard]) -> list[Hazard]:
    """Hazards from several probes, the first report of each (path, line) kept."""
    merged: list[Hazard] = []
    for group in groups:
        for hazard in group:
            if all((h.path, h.line) != (hazard.path, hazard.line) for h in merged):
                merged.append(hazard)
    return merged
