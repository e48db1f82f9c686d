"""A vocoder-style source module that adds noise inside forward (kokoro's decoder does this with
`torch.randn_like`): torch gives another output on every call, so no export can be shown to match.
`depaudit port` says so before comparing, and names the line (DA408). `SineSourceNoiseInput` takes the
noise as an input instead, and accumulates the phase in float64: torch's CPU cumsum adds float32 values
in float64, ONNX Runtime's CumSum in the input's type, so with a float32 cumsum the exported model is
25 dB further from the true phase than torch on port's checkerboard and +/-1e3 cases (port fails it).

    depaudit port examples/port/noisy.py:SineSource --input f0=1x1x64
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SineSource(nn.Module):
    """f0 (batch, 1, frames) in Hz -> a 4-harmonic excitation upsampled x8, with noise."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.merge = nn.Linear(4, 1)

    def forward(self, f0: torch.Tensor) -> torch.Tensor:
        f0 = nn.functional.interpolate(200.0 * f0, scale_factor=8.0, mode="nearest").transpose(1, 2)
        harmonics = f0 * torch.arange(1, 5, dtype=f0.dtype)
        phase = 2 * math.pi * torch.cumsum(harmonics / 16000.0, dim=1)
        noise = 0.003 * torch.randn_like(phase)  # <- DA408
        return torch.tanh(self.merge(torch.sin(phase) * 0.1 + noise)).transpose(1, 2)


class SineSourceNoiseInput(SineSource):
    """The same module with the noise passed in by the caller and the phase summed in float64."""

    def forward(self, f0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        f0 = nn.functional.interpolate(200.0 * f0, scale_factor=8.0, mode="nearest").transpose(1, 2)
        harmonics = f0 * torch.arange(1, 5, dtype=f0.dtype)
        phase = (2 * math.pi * torch.cumsum(harmonics.double() / 16000.0, dim=1)).to(f0.dtype)
        return torch.tanh(self.merge(torch.sin(phase) * 0.1 + 0.003 * noise)).transpose(1, 2)
