"""The float64 torch reference: the model and its float inputs in float64 (factory functions too, by
the default dtype), run on a case, to judge how far float32 torch and ONNX Runtime each are from the
true value. Made once, lazily, only for cases where ONNX Runtime is not already within the absolute bar
of torch float32 (a float64 forward of a depthwise-conv network can be 30x slower than float32)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from depaudit.port.cases import Case
from depaudit.port.messages import exception_text
from depaudit.port.runner import flatten_outputs


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


class Reference:
    """A float64 copy of the model; `run` gives float64 outputs or None (with `reason` saying why)."""

    def __init__(self, model: nn.Module) -> None:
        self.reason = ""
        self.model: nn.Module | None = None
        try:
            self.model = copy.deepcopy(model).double().eval()
        except Exception as exc:  # a module that cannot be copied or cast
            self.reason = f"the model cannot be cast to float64 ({exception_text(exc, 300)})"

    def run(self, case: Case) -> list[np.ndarray] | None:
        """The case's outputs in float64, or None when the model does not run in float64 (`reason`)."""
        if self.model is None:
            return None
        args = tuple(
            torch.from_numpy(np.array(a, dtype=np.float64 if a.dtype.kind == "f" else a.dtype, copy=True))
            for a in case.arrays
        )
        try:
            with torch.no_grad(), _default_dtype(torch.float64):
                leaves = flatten_outputs(self.model(*args))
        except Exception as exc:  # the model does not run in float64 (a hard-coded float32 op, a dtype check)
            self.reason = f"the model does not run in float64 ({exception_text(exc, 300)})"
            self.model = None
            return None
        floats = [t for _, t in leaves if t.is_floating_point()]
        if any(t.dtype != torch.float64 for t in floats):
            self.reason = "the model's outputs stay float32 when it runs in float64 (it casts inside)"
            self.model = None
            return None
        return [t.detach().cpu().numpy() for _, t in leaves]
