"""A speech-activity network in the shape of pyannote's segmentation model: a SincNet front-end on the
raw waveform (band-pass filters computed in forward from learned cut-off frequencies, clamped to
Nyquist, then |x|, max-pool, instance norm, leaky ReLU, and two plain convolutions the same way), a
bidirectional 2-layer LSTM over the frames, linear layers and a log-softmax over classes per frame.
Random init, except the sinc filters' cut-offs, which start mel-spaced as SincNet's do.

    depaudit port examples/port/audio.py:segmentation --input audio=1x1x4000:float32:-1..1 \\
        --dynamic audio:2=samples:2000..32000
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

SAMPLE_RATE = 16000


class SincConv(nn.Module):
    """Band-pass FIR filters (windowed difference of two sincs) whose low cut-off and bandwidth are
    learned; the taps are computed from them on every forward call."""

    def __init__(self, channels: int = 80, taps: int = 251, stride: int = 10, min_hz: float = 50.0) -> None:
        super().__init__()
        self.stride, self.min_hz = stride, min_hz
        mel = torch.linspace(
            2595 * math.log10(1 + 30 / 700), 2595 * math.log10(1 + (SAMPLE_RATE / 2 - 100) / 700), channels + 1
        )
        edges = 700 * (10 ** (mel / 2595) - 1)
        self.low_hz = nn.Parameter(edges[:-1, None])
        self.band_hz = nn.Parameter((edges[1:] - edges[:-1])[:, None])
        half = taps // 2
        self.register_buffer("time", 2 * math.pi * torch.arange(-half, 0, dtype=torch.float32)[None] / SAMPLE_RATE)
        self.register_buffer("window", torch.hamming_window(taps, periodic=False)[:half][None])

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        low = self.min_hz + self.low_hz.abs()
        high = torch.clamp(low + self.min_hz + self.band_hz.abs(), self.min_hz, SAMPLE_RATE / 2)
        band = high - low
        left = (torch.sin(high * self.time) - torch.sin(low * self.time)) / (self.time / 2) * self.window
        filters = torch.cat([left, 2 * band, left.flip(dims=[1])], dim=1) / (2 * band)
        return F.conv1d(waveform, filters[:, None, :], stride=self.stride)


class FrontEnd(nn.Module):
    """Waveform (batch, 1, samples) -> features (batch, 60, frames)."""

    def __init__(self) -> None:
        super().__init__()
        self.norm_in = nn.InstanceNorm1d(1, affine=True)
        self.convs = nn.ModuleList([SincConv(80), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
        self.norms = nn.ModuleList(
            [nn.InstanceNorm1d(80, affine=True), nn.InstanceNorm1d(60, affine=True), nn.InstanceNorm1d(60, affine=True)]
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        x = self.norm_in(waveform)
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = conv(x)
            x = F.max_pool1d(x.abs() if i == 0 else x, 3, stride=3)
            x = F.leaky_relu(norm(x))
        return x


class Segmentation(nn.Module):
    """Waveform -> per-frame log-probabilities of 4 classes (batch, frames, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.front = FrontEnd()
        self.lstm = nn.LSTM(60, 128, num_layers=4, bidirectional=True, batch_first=True)
        self.linear = nn.Sequential(nn.Linear(256, 128), nn.LeakyReLU(), nn.Linear(128, 128), nn.LeakyReLU())
        self.classifier = nn.Linear(128, 7)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        features = self.front(waveform).transpose(1, 2)
        frames, _ = self.lstm(features)
        return F.log_softmax(self.classifier(self.linear(frames)), dim=-1)


def segmentation() -> nn.Module:
    torch.manual_seed(0)
    return Segmentation().eval()
