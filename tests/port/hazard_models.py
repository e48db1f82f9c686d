"""Small models, one per export hazard (DA401-DA407), each with a twin that does the same job without
the hazard. Lines that a finding must name carry a `# <- DA4NN` marker; tests look the line up by it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


class ValueBranch(nn.Module):
    """DA401: Python `if` on a tensor's value."""

    def forward(self, x):
        if x.mean() > 0.5:  # <- DA401
            return x * 2
        return x - 1


class WhereBranch(nn.Module):
    """DA401 twin: the same choice as a tensor op."""

    def forward(self, x):
        return torch.where(x.mean() > 0.5, x * 2, x - 1)


class IgnoredBranch(nn.Module):
    """DA401 silenced by an inline ignore on the line above."""

    def forward(self, x):
        # depaudit: ignore=DA401 (this model is only ever fed bright images)
        if x.mean() > 0.5:  # <- DA401-ignored
            return x * 2
        return x - 1


class ToPython(nn.Module):
    """DA402: a tensor turned into a Python float that scales the output."""

    def forward(self, x):
        peak = float(x.max())  # <- DA402
        return x / peak


class KeepTensor(nn.Module):
    """DA402 twin: the peak stays a tensor."""

    def forward(self, x):
        return x / x.amax(dim=(1, 2, 3), keepdim=True)


class SqrtTokens(nn.Module):
    """DA403: the token count unpacked into Python numbers (side = sqrt(n)) fixes the token axis."""

    def forward(self, x):
        b, n, c = x.shape
        side = int(math.sqrt(n))  # <- DA403
        return x.reshape(b, side, side, c).mean(dim=1)


class ReshapeTokens(nn.Module):
    """DA403 twin: shape values used directly in ops stay symbolic."""

    def forward(self, x):
        b, n, c = x.shape
        return x.reshape(b, n * c).softmax(dim=-1).reshape(b, n, c)


class AssertPositive(nn.Module):
    """DA404: assert on a tensor's values."""

    def forward(self, x):
        assert (x >= 0).all(), "expects non-negative input"  # <- DA404
        return x.sqrt()


class AssertRank(nn.Module):
    """DA404 twin: assert on the rank (a Python int, no tensor value)."""

    def forward(self, x):
        assert x.dim() == 4, "expects NCHW"
        return x.abs().sqrt()


class TensorFromShape(nn.Module):
    """DA405: a tensor built from a shape value inside forward."""

    def forward(self, x):
        width = torch.tensor(x.shape[-1], dtype=x.dtype)  # <- DA405
        return x / width


class ArangeFromShape(nn.Module):
    """DA405 twin: arange over the size is traced as an op, not a constant."""

    def forward(self, x):
        return x + torch.arange(x.shape[-1], dtype=x.dtype) / 100.0


class OddPad(nn.Module):
    """DA406: pads odd widths; the example width is even, so the export has no pad."""

    def forward(self, x):
        if x.shape[-1] % 2 == 1:  # <- DA406
            x = F.pad(x, (0, 1))
        return F.avg_pool2d(x, (1, 2))


class EvenOnly(nn.Module):
    """DA406 twin: no Python condition on the shape."""

    def forward(self, x):
        return F.avg_pool2d(x, (1, 2), ceil_mode=True)


class UnevenPool(nn.Module):
    """DA407: adaptive average pooling 64 -> 3 (does not divide; overlapping bins)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(3)

    def forward(self, x):
        return self.pool(x)  # <- DA407


class EvenPool(nn.Module):
    """DA407 twin: 64 -> 4 divides evenly; every exporter accepts it."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)

    def forward(self, x):
        return self.pool(x)


class TwoOutputs(nn.Module):
    """A clean model with weights and two outputs, for checkpoints and hand-over files."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y, y.mean(dim=(2, 3))


def build_two_outputs() -> nn.Module:
    """A function returning a module (the `file.py:function` form)."""
    torch.manual_seed(0)
    return TwoOutputs()


class NanOutput(nn.Module):
    """Every output value is NaN (in torch and in ONNX Runtime alike): must never pass."""

    def forward(self, x):
        return torch.log(-x.abs() - 1.0)


class NoisyForward(nn.Module):
    """DA408: noise drawn inside forward."""

    def forward(self, x):
        return x + 0.1 * torch.randn_like(x)  # <- DA408


class NoiseAsInput(nn.Module):
    """DA408 twin: the caller passes the noise in."""

    def forward(self, x, noise):
        return x + 0.1 * noise


class RotaryCeilPool(nn.Module):
    """DA409: pooling with ceil_mode=True whose last window starts in the padding (torch: 5 -> 3, ONNX's
    shape inference: 5 -> 4) after a rotation in complex numbers (llama-style rotary embedding), which
    the TorchScript exporter refuses: the dynamo export is the only one, and onnx.checker rejects it."""

    def forward(self, x):
        pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
        turn = torch.polar(torch.ones(pairs.shape[-1]), 0.5 * torch.arange(pairs.shape[-1], dtype=x.dtype))
        rotated = torch.view_as_real(pairs * turn).flatten(-2)
        return F.max_pool2d(rotated, 2, 2, 1, ceil_mode=True)  # <- DA409


class RotaryPool(RotaryCeilPool):
    """DA409 twin: the same without ceil_mode (both say 5 -> 3)."""

    def forward(self, x):
        pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
        turn = torch.polar(torch.ones(pairs.shape[-1]), 0.5 * torch.arange(pairs.shape[-1], dtype=x.dtype))
        rotated = torch.view_as_real(pairs * turn).flatten(-2)
        return F.max_pool2d(rotated, 2, 2, 1)


class CumulativeMax(nn.Module):
    """DA407: an op neither exporter translates (aten.cummax)."""

    def forward(self, x):
        return torch.cummax(x, dim=-1).values * 2  # <- DA407-cummax


class GlobalPool(nn.Module):
    """DA407 twin: global pooling divides every size (dynamic height and width included)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(x).flatten(1)


class FixedBatch(nn.Module):
    """DA403: a reshape with the batch written as 1, run with a dynamic batch from a batch-1 example."""

    def forward(self, x):
        return x.reshape(1, 3, 4).softmax(-1)  # <- DA403-batch


class AnyBatch(nn.Module):
    """DA403 twin: the reshape keeps the batch."""

    def forward(self, x):
        return x.reshape(x.shape[0], 3, 4).softmax(-1)


@dataclass
class Heads:
    """A dataclass of outputs (the kind of object Hugging Face models return)."""

    logits: torch.Tensor
    features: torch.Tensor


class DataclassOutputs(nn.Module):
    """Returns a dataclass of tensors and a dict inside nothing: outputs named by their fields."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        features = self.conv(x)
        return Heads(features.mean(dim=(2, 3)), features)


class UpsampledSum(nn.Module):
    """Two inputs whose lengths are tied: f0 has twice mel's frames (a vocoder's F0 and mel)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.proj = nn.Conv1d(8, 1, 1)

    def forward(self, mel, f0):
        return F.interpolate(self.proj(mel), scale_factor=2.0, mode="nearest") + f0
