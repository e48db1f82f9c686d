"""Running the cases: eager torch (the goldens, with the value every tensor-to-Python conversion took at
each user line) and ONNX Runtime on the same inputs. A model's outputs may be a tensor or any nesting
of tuples, lists, dicts and dataclasses of tensors; they are compared leaf by leaf, in order."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from depaudit.port.cases import Case
from depaudit.port.messages import exception_text
from depaudit.port.probe import is_user_file, user_frame

_CONVERSIONS = {"__bool__", "__int__", "__float__", "__index__", "item", "tolist"}


class ConversionRecorder(TorchFunctionMode):
    """Records, per user `(absolute path, line)`, the Python value each tensor conversion (bool/int/float/item)
    produced: on which side of a value-dependent branch an input went."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, int], list[Any]] = {}

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        if getattr(func, "__name__", "") in _CONVERSIONS:
            frame: FrameType | None = sys._getframe(1)
            while frame is not None and not is_user_file(frame.f_code.co_filename):
                frame = frame.f_back
            if frame is not None:
                key = (os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
                self.values.setdefault(key, []).append(_plain(out))
        return out


def _plain(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float)) else repr(value)[:40]


class OutputError(ValueError):
    """forward returned something that is not tensors in tuples, lists, dicts or dataclasses."""


def flatten_outputs(result: Any, path: str = "") -> list[tuple[str, torch.Tensor]]:
    """(path, tensor) for every tensor in `result`, depth first in order (dict insertion order,
    dataclass field order); None leaves are skipped. Raises OutputError for any other leaf."""
    if isinstance(result, torch.Tensor):
        return [(path, result)]
    if result is None:
        return []
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        items = [(f.name, getattr(result, f.name)) for f in dataclasses.fields(result)]
    elif isinstance(result, dict):
        items = [(str(k), v) for k, v in result.items()]
    elif isinstance(result, (tuple, list)):
        items = [(str(getattr(result, "_fields", range(len(result)))[i]), v) for i, v in enumerate(result)]
    else:
        raise OutputError(f"{path or 'the output'} is a {type(result).__name__}")
    return [leaf for key, value in items for leaf in flatten_outputs(value, f"{path}_{key}" if path else key)]


def is_flat(result: Any) -> bool:
    """True for a tensor or a plain tuple/list of tensors (what every exporter takes as it is)."""
    if isinstance(result, torch.Tensor):
        return True
    return type(result) in (tuple, list) and all(isinstance(t, torch.Tensor) for t in result)


def output_names(result: Any, count: int) -> list[str]:
    """Default output names: output_0, ... for a tensor or a flat tuple/list; the keys and fields
    (joined by `_`) for dicts and dataclasses."""
    if is_flat(result):
        return [f"output_{i}" for i in range(count)]
    names: list[str] = []
    for path, _ in flatten_outputs(result):
        name = re.sub(r"\W", "_", path) or "output"
        name = f"output_{name}" if name[0].isdigit() else name
        while name in names:
            name += "_"
        names.append(name)
    return names


class FlatOutputs(nn.Module):
    """The model with its outputs flattened to a tuple of tensors (dicts and dataclasses exported
    as plain outputs, in the order flatten_outputs gives)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t for _, t in flatten_outputs(self.model(*args)))


@dataclass
class EagerRun:
    """One case through eager torch: the outputs (None when torch raised) and the conversions seen."""

    case: Case
    outputs: list[np.ndarray] | None
    conversions: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    error: str = ""
    structure: Any = None  # what forward returned, kept for naming the outputs
    site: tuple[str, int] | None = None  # the model's line that raised, when torch raised


def to_tensors(case: Case) -> tuple[torch.Tensor, ...]:
    """The case's arrays as torch tensors (copies, so the model cannot alter the stored inputs)."""
    return tuple(torch.from_numpy(np.array(a, copy=True)) for a in case.arrays)


def run_eager(model: nn.Module, case: Case) -> EagerRun:
    """Run `model` on `case` under no_grad, recording conversions. A raising model gives `error`."""
    recorder = ConversionRecorder()
    try:
        with torch.no_grad(), recorder:
            result = model(*to_tensors(case))
        leaves = flatten_outputs(result)
    except OutputError as exc:
        message = f"forward must return tensors (alone, or in tuples, lists, dicts or dataclasses): {exc}"
        return EagerRun(case, None, recorder.values, message)
    except Exception as exc:  # the user's model raised (e.g. an assert on the input): data, not a crash
        return EagerRun(case, None, recorder.values, exception_text(exc, 300), site=user_frame(exc))
    if not leaves:
        return EagerRun(case, None, recorder.values, "forward returned no tensor")
    return EagerRun(case, [_numpy(t) for _, t in leaves], recorder.values, structure=result)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        tensor = tensor.float()
    return tensor.numpy()


def run_onnxruntime(session: Any, names: list[str], case: Case) -> tuple[list[np.ndarray] | None, str]:
    """Outputs of an onnxruntime InferenceSession on `case` ((None, error) when the runtime raised).
    The error keeps every line ONNX Runtime wrote (a shape error names the axis on the second)."""
    # the exporter may drop an input the graph never reads: ORT then names fewer inputs
    feeds = {name: np.ascontiguousarray(a) for name, a in zip(names, case.arrays, strict=False)}
    try:
        return [np.asarray(o) for o in session.run(None, feeds)], ""
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidArgument types
        return None, f"ONNX Runtime: {exception_text(exc)}"
