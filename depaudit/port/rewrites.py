"""depaudit's own rewrites for ops an exporter refuses.

Adaptive average pooling to a size that does not divide the input (GMNet's 64 -> 3): the TorchScript
exporter refuses it ("output size that are not factor of input size"), and a reshape-and-mean gives
different numbers, because PyTorch's bins start at floor(i*in/out), end at ceil((i+1)*in/out) and overlap
(64 -> 3: [0:22], [21:43], [42:64]). The rewrite slices those exact bins and averages each, which every
exporter and opset accepts. It needs the pooled input's spatial size to be static, which the pipeline
checks by running the model at the example size and at other sizes of the dynamic axes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from depaudit.port.probe import is_user_file, source_line
from depaudit.rules.subjects import EXPORT_REFUSED, Hazard

_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_RANKS: dict[type[nn.Module], int] = {nn.AdaptiveAvgPool1d: 1, nn.AdaptiveAvgPool2d: 2, nn.AdaptiveAvgPool3d: 3}


def adaptive_bins(in_size: int, out_size: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling bins: [(floor(i*in/out), ceil((i+1)*in/out)) for i in range(out)]."""
    return [((i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)) for i in range(out_size)]


class ExplicitAdaptiveAvgPool(nn.Module):
    """AdaptiveAvgPool{1,2,3}d as explicit slice-and-mean over PyTorch's (possibly overlapping) bins,
    for a pooled input whose spatial size is fixed (`in_sizes`)."""

    def __init__(self, in_sizes: tuple[int, ...], out_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.in_sizes = in_sizes
        self.out_sizes = out_sizes
        self.bins = [adaptive_bins(i, o) for i, o in zip(in_sizes, out_sizes, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = x.dim() - len(self.bins)
        return self._level(x, first, tuple(range(first, x.dim())), ())

    def _level(
        self, x: torch.Tensor, first: int, dims: tuple[int, ...], chosen: tuple[tuple[int, int], ...]
    ) -> torch.Tensor:
        if len(chosen) == len(self.bins):
            index = (slice(None),) * first + tuple(slice(a, b) for a, b in chosen)
            return x[index].mean(dim=dims, keepdim=True)
        parts = [self._level(x, first, dims, (*chosen, b)) for b in self.bins[len(chosen)]]
        return torch.cat(parts, dim=first + len(chosen)) if len(parts) > 1 else parts[0]


@dataclass
class PoolUse:
    """What the pipeline saw of one adaptive pool: its input spatial sizes and the user's call site."""

    name: str
    module: nn.Module
    sizes: set[tuple[int, ...]] = field(default_factory=set)
    site: tuple[str, int] | None = None


class PoolWatch:
    """Forward pre-hooks on every adaptive average pool, recording input sizes and the call site."""

    def __init__(self, model: nn.Module) -> None:
        self.uses = {name: PoolUse(name, m) for name, m in model.named_modules() if isinstance(m, _POOLS)}
        self._handles = [use.module.register_forward_pre_hook(self._hook(use)) for use in self.uses.values()]

    def _hook(self, use: PoolUse) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], None]:
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            x = inputs[0]
            rank = _RANKS[type(module)]
            use.sizes.add(tuple(int(s) for s in x.shape[-rank:]))
            if use.site is None:
                frames = [f for f in traceback.extract_stack() if is_user_file(f.filename)]
                use.site = (frames[-1].filename, frames[-1].lineno or 0) if frames else None

        return record

    def close(self) -> None:
        """Remove the hooks."""
        for handle in self._handles:
            handle.remove()


def _out_sizes(module: nn.Module, in_sizes: tuple[int, ...]) -> tuple[int, ...]:
    size: Any = getattr(module, "output_size")  # noqa: B009 - typed as Tensor | Module by nn.Module's __getattr__
    sizes = (size,) * len(in_sizes) if isinstance(size, int) or size is None else tuple(size)
    return tuple(i if o is None else int(o) for i, o in zip(in_sizes, sizes, strict=True))


def divides(module: nn.Module, in_sizes: tuple[int, ...]) -> bool:
    """True when every pooled size is a multiple of the pool's output size (global pooling always is)."""
    return all(i % o == 0 for i, o in zip(in_sizes, _out_sizes(module, in_sizes), strict=True))


def needs_rewrite(watch: PoolWatch) -> bool:
    """True when some pool will be replaced (it does not divide evenly at the one size it saw)."""
    return any(len(u.sizes) == 1 and not divides(u.module, next(iter(u.sizes))) for u in watch.uses.values())


def rewrite_pools(model: nn.Module, watch: PoolWatch) -> list[Hazard]:
    """Replace each adaptive average pool that does not divide evenly and whose input size never changed
    with ExplicitAdaptiveAvgPool; a finding per such pool (fixed, or left for the dynamo exporter when
    its size follows a dynamic axis). Pools that divide evenly at every size seen are left alone."""
    hazards = []
    for use in watch.uses.values():
        if not use.sizes or all(divides(use.module, size) for size in use.sizes):
            continue
        in_sizes = next(s for s in sorted(use.sizes) if not divides(use.module, s))
        out_sizes = _out_sizes(use.module, in_sizes)
        path, line = use.site or ("<unknown>", 0)
        code = source_line(path, line) or use.name
        what = f"{type(use.module).__name__} {'x'.join(map(str, in_sizes))} -> {'x'.join(map(str, out_sizes))} ({use.name})"
        if len(use.sizes) > 1:
            hazards.append(
                Hazard(
                    EXPORT_REFUSED,
                    path,
                    line,
                    code,
                    f"{what} does not divide evenly and the pooled size follows a dynamic axis",
                    "forward hooks at several input sizes",
                    fix="keep the dynamo exporter (it decomposes the pool); the TorchScript exporter refuses "
                    "output sizes that do not divide the input",
                )
            )
            continue
        _replace(model, use.name, ExplicitAdaptiveAvgPool(in_sizes, out_sizes))
        hazards.append(
            Hazard(
                EXPORT_REFUSED,
                path,
                line,
                code,
                f"{what} does not divide evenly; the TorchScript exporter refuses it",
                "forward hooks",
                fix="rewritten as explicit overlapping bins (slice + mean)",
                fixed=True,
            )
        )
    return hazards


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)
