"""Running the cases: eager torch (the goldens, with the value every tensor-to-Python conversion took at
each user line) and ONNX Runtime on the same inputs."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from depaudit.port.cases import Case
from depaudit.port.probe import is_user_file

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


@dataclass
class EagerRun:
    """One case through eager torch: the outputs (None when torch raised) and the conversions seen."""

    case: Case
    outputs: list[np.ndarray] | None
    conversions: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    error: str = ""


def to_tensors(case: Case) -> tuple[torch.Tensor, ...]:
    """The case's arrays as torch tensors (copies, so the model cannot alter the stored inputs)."""
    return tuple(torch.from_numpy(np.array(a, copy=True)) for a in case.arrays)


def run_eager(model: nn.Module, case: Case) -> EagerRun:
    """Run `model` on `case` under no_grad, recording conversions. A raising model gives `error`."""
    recorder = ConversionRecorder()
    try:
        with torch.no_grad(), recorder:
            result = model(*to_tensors(case))
    except Exception as exc:  # the user's model raised (e.g. an assert on the input): data, not a crash
        return EagerRun(
            case, None, recorder.values, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        )
    leaves, _ = tree_flatten(result)
    if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
        return EagerRun(case, None, recorder.values, "forward must return a tensor or a tuple/list/dict of tensors")
    return EagerRun(case, [t.detach().cpu().numpy() for t in leaves], recorder.values)


def run_onnxruntime(session: Any, names: list[str], case: Case) -> tuple[list[np.ndarray] | None, str]:
    """Outputs of an onnxruntime InferenceSession on `case` ((None, error) when the runtime raised)."""
    # the exporter may drop an input the graph never reads: ORT then names fewer inputs
    feeds = {name: np.ascontiguousarray(a) for name, a in zip(names, case.arrays, strict=False)}
    try:
        return [np.asarray(o) for o in session.run(None, feeds)], ""
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidArgument types
        return None, f"ONNX Runtime: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
