"""GMNet in PyTorch: the reference every other backend is checked against.

torch is a development-only dependency of the project; this module imports it at module level and
must therefore only be imported by dev steps (weights generation, ONNX export, golden regeneration)
and by the optional ``torch`` backend.

Architecture (out_nc=1, nf=64; 1,921,827 parameters):

* global branch on the 256x256 thumbnail ``y``: ``down1`` (3->16), ``down2`` (16->64), ``res_y``
  (5 residual blocks), then three squeeze heads on the 64x64 features: ``sq_ker`` (a per-image
  64x3x3 depthwise kernel), ``sq_chn`` (a 64-channel gate) and ``sq_qmax`` (a scalar).
* local branch on the full image ``x``: ``down_x`` (3->64), ``res1``, depthwise 3x3 convolution with
  the per-image kernel, ``mask_est`` spatial mask, ``res2``, channel gate, ``res3``, ``upconv`` +
  PixelShuffle(2) + ReLU, ``HRconv`` + ReLU, ``conv_last`` (64->1).

Returns ``(gain_map, qmax * gain_map)``; ``qmax`` itself is available from :meth:`GMNet.qmax`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from reference_service.weights import DEFAULT_CHECKPOINT, load_state_dict

NF = 64
OUT_NC = 1
RES_BLOCKS = 5


class DownConv(nn.Module):
    """conv3x3 stride 2 -> ReLU -> conv3x3 -> ReLU -> conv3x3 -> ReLU (convs at 0, 2, 4 of ``conv``)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1),
            nn.ReLU(inplace=False),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
            nn.ReLU(inplace=False),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
            nn.ReLU(inplace=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ResidualBlock(nn.Module):
    """x + conv2(relu(conv1(x))), no normalisation."""

    def __init__(self, nf: int = NF) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv2 = nn.Conv2d(nf, nf, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class SQ(nn.Module):
    """AdaptiveAvgPool2d(size) -> 1x1 64->128 -> ReLU -> 1x1 128->64 -> ReLU -> 1x1 64->out."""

    def __init__(self, size: int, out_ch: int, nf: int = NF) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(size)
        self.conv = nn.Sequential(
            nn.Conv2d(nf, nf * 2, 1),
            nn.ReLU(inplace=False),
            nn.Conv2d(nf * 2, nf, 1),
            nn.ReLU(inplace=False),
            nn.Conv2d(nf, out_ch, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pool(x))


def residual_stack(blocks: int = RES_BLOCKS, nf: int = NF) -> nn.Sequential:
    """A Sequential of ``blocks`` residual blocks (keys ``<name>.<i>.conv1.weight``)."""
    return nn.Sequential(*[ResidualBlock(nf) for _ in range(blocks)])


def dynamic_depthwise(features: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Depthwise 3x3 conv (padding 1) of ``features`` (N,C,H,W) with per-image ``kernel`` (N,C,3,3).

    The kernel is data, so the batch is folded into channels: one grouped conv with groups = N*C.
    """
    n, c, h, w = features.shape
    out = F.conv2d(features.reshape(1, n * c, h, w), kernel.reshape(n * c, 1, 3, 3), padding=1, groups=n * c)
    return out.reshape(n, c, h, w)


class GMNet(nn.Module):
    """The dual-branch gain-map network. ``forward(x, y) -> (gain_map, qmax * gain_map)``."""

    def __init__(self, out_nc: int = OUT_NC, nf: int = NF) -> None:
        super().__init__()
        self.down1 = DownConv(3, 16)
        self.down2 = DownConv(16, nf)
        self.res_y = residual_stack(RES_BLOCKS, nf)
        self.sq_ker = SQ(3, nf, nf)
        self.sq_chn = SQ(1, nf, nf)
        self.sq_qmax = SQ(1, 1, nf)

        self.down_x = DownConv(3, nf)
        self.res1 = residual_stack(RES_BLOCKS, nf)
        self.mask_est = nn.Sequential(
            nn.Conv2d(nf, nf, 3, padding=1),
            nn.ReLU(inplace=False),
            nn.Conv2d(nf, 1, 3, padding=1),
            nn.Sigmoid(),
        )
        self.res2 = residual_stack(RES_BLOCKS, nf)
        self.res3 = residual_stack(RES_BLOCKS, nf)
        self.upconv = nn.Conv2d(nf, nf * 4, 3, padding=1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.HRconv = nn.Conv2d(nf, nf, 3, padding=1)
        self.conv_last = nn.Conv2d(nf, out_nc, 3, padding=1)

    def global_branch(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Thumbnail -> (kernel (N,64,3,3), channel vector (N,64,1,1), qmax (N,1,1,1))."""
        fy = self.res_y(self.down2(self.down1(y)))
        return self.sq_ker(fy), self.sq_chn(fy), self.sq_qmax(fy)

    def local_branch(self, x: torch.Tensor, kernel: torch.Tensor, chn: torch.Tensor) -> torch.Tensor:
        """Full-resolution image (N,3,H,W) + the global branch's kernel and channel vector -> gain map (N,1,H,W)."""
        fx = self.res1(self.down_x(x))
        fx = dynamic_depthwise(fx, kernel)
        fx = fx * self.mask_est(fx)
        fx = self.res2(fx)
        fx = fx * torch.sigmoid(chn)
        fx = self.res3(fx)
        fx = F.relu(self.pixel_shuffle(self.upconv(fx)))
        fx = F.relu(self.HRconv(fx))
        return self.conv_last(fx)

    def predict(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (N,3,H,W) in [0,1], H and W even; y: (N,3,256,256). Returns (gain_map (N,1,H,W), qmax (N,1,1,1))."""
        kernel, chn, qmax = self.global_branch(y)
        return self.local_branch(x, kernel, chn), qmax

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """As in the original: returns (gain_map, qmax * gain_map)."""
        gain_map, qmax = self.predict(x, y)
        return gain_map, qmax * gain_map


def count_parameters(model: nn.Module) -> int:
    """Total number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def load_model(checkpoint: str | None = None) -> GMNet:
    """Build GMNet in eval mode with weights from ``checkpoint`` (default: the bundled trained checkpoint).

    Raises ``RuntimeError`` (from torch) when the checkpoint's keys or shapes do not match.
    """
    model = GMNet()
    model.load_state_dict(load_state_dict(checkpoint or DEFAULT_CHECKPOINT), strict=True)
    return model.eval()
