"""Is the model deterministic? Run torch twice on the same input before comparing anything, and record
where each aten op was first called from the model's own code: the random ones (torch.rand*, randn*,
dropout in train mode, bernoulli, multinomial, ...) become DA408 findings at that line, and an op an
exporter refuses can be named at the line that called it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from depaudit.port.metrics import agreement
from depaudit.port.probe import is_user_file, source_line
from depaudit.port.runner import EagerRun, run_eager
from depaudit.rules.subjects import RANDOM_OP, Hazard

RANDOM_OPS = frozenset(
    "rand rand_like randn randn_like randint randint_like randperm bernoulli bernoulli_ multinomial normal "
    "normal_ uniform_ exponential_ geometric_ cauchy_ log_normal_ random_ poisson binomial native_dropout "
    "_fused_dropout rrelu_with_noise _standard_gamma _sample_dirichlet".split()
)
SELF_AGREEMENT_DB = 100.0  # two runs further apart than this disagree (bitwise noise from threads is far above it)


class OpSites(TorchDispatchMode):  # type: ignore[no-untyped-call]  # torch leaves the mode untyped
    """The first user `(path, line)` that called each aten op (by name, e.g. `aten.cummax`)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.sites: dict[str, tuple[str, int]] = {}

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        name = str(getattr(func, "overloadpacket", func))
        if name not in self.sites:
            frame: FrameType | None = sys._getframe(1)
            while frame is not None and not is_user_file(frame.f_code.co_filename):
                frame = frame.f_back
            if frame is not None:
                self.sites[name] = (os.path.abspath(frame.f_code.co_filename), frame.f_lineno)
        return func(*args, **(kwargs or {}))

    def site(self, op: str) -> tuple[str, int] | None:
        """Where `op` (`aten.x`, `aten::x` or `x`) was first called from the model's code."""
        name = op.replace("::", ".")
        return self.sites.get(name if "." in name else f"aten.{name}")


@dataclass
class Determinism:
    """Two eager runs of one input: how far apart they are and the random ops seen at user lines."""

    psnr_db: float
    agrees: bool
    random_ops: list[Hazard] = field(default_factory=list)
    sites: OpSites = field(default_factory=OpSites)

    def to_json(self) -> dict[str, Any]:
        """The `determinism` entry of port.json."""
        return {
            "deterministic": self.agrees,
            "self_psnr_db": None if not np.isfinite(self.psnr_db) else round(float(self.psnr_db), 1),
            "random_ops": [f"{h.path}:{h.line}" for h in self.random_ops],
        }


def check_determinism(model: nn.Module, first: EagerRun) -> Determinism:
    """Run `first.case` again, recording op sites, and compare with `first`'s outputs."""
    sites = OpSites()
    with sites:
        second = run_eager(model, first.case)
    psnr = _self_psnr(first, second)
    return Determinism(psnr, psnr >= SELF_AGREEMENT_DB, random_hazards(sites), sites)


def _self_psnr(first: EagerRun, second: EagerRun) -> float:
    if first.outputs is None or second.outputs is None or len(first.outputs) != len(second.outputs):
        return -np.inf
    worst = np.inf
    for a, b in zip(first.outputs, second.outputs, strict=True):
        if a.shape != b.shape:
            return -np.inf
        if np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            continue
        worst = min(worst, agreement(a, b).psnr_db)
    return worst


def random_hazards(sites: OpSites) -> list[Hazard]:
    """A DA408 hazard per user line that called a random op."""
    hazards: list[Hazard] = []
    for op, (path, line) in sites.sites.items():
        if op.rpartition(".")[2] not in RANDOM_OPS or any((h.path, h.line) == (path, line) for h in hazards):
            continue
        hazards.append(
            Hazard(RANDOM_OP, path, line, source_line(path, line) or op, op, "eager torch, at the aten dispatch")
        )
    return hazards
