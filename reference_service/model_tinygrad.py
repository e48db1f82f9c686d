"""GMNet ported to tinygrad, loading the PyTorch ``.pth`` checkpoint directly (no export step, no torch).

Port notes (each one is checked against torch in ``tests/reference_service``):

* Adaptive average pooling is explicit slice-and-mean over PyTorch's bins
  (start = floor(i*in/out), end = ceil((i+1)*in/out)); for 64->3 they overlap by one row/column, so a
  reshape-and-mean would be wrong.
* PixelShuffle(2) uses PyTorch's channel-row-column (CRD) order: input channel ``c*4 + i*2 + j`` goes to
  output channel ``c`` at offset (i, j).
* Sequential containers are Python lists with ``None`` in the parameter-free slots (ReLU, Sigmoid), so
  ``get_state_dict`` yields exactly the original keys (``down1.conv.0.weight``, ``mask_est.2.bias``...).
* The per-image depthwise kernel from ``sq_ker`` is ``realize()``d before the grouped convolution, so
  the kernel is a buffer and not a sub-graph fused into (and recomputed by) every output pixel.
* The checkpoint is read with ordinary read-only file I/O and handed to ``torch_load`` as an in-memory
  tensor: tinygrad's disk device opens files ``O_RDWR|O_CREAT`` and would fail on a root-owned file in
  an image run by another user.

tinygrad's CPU device compiles kernels with ``clang`` at run time; without it tinygrad reports
"no usable devices". Kernels are cached by tinygrad on disk (``CACHELEVEL``, default on), so a second
process with the same shapes skips most compilation. ``BEAM=n`` in the environment enables tinygrad's
kernel search (slow first run, cached afterwards).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from tinygrad import Tensor, TinyJit, dtypes
from tinygrad.nn.state import get_state_dict, torch_load

NF = 64
RES_BLOCKS = 5
JIT_SHAPES = 4  # input shapes whose captured kernel sequence (TinyJit) is kept


def adaptive_bins(in_size: int, out_size: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling bins: [(floor(i*in/out), ceil((i+1)*in/out)) for i in range(out)]."""
    return [((i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)) for i in range(out_size)]


def adaptive_avg_pool2d(x: Tensor, size: int) -> Tensor:
    """Adaptive average pooling of (N, C, H, W) to (N, C, size, size) by explicit slice-and-mean."""
    h, w = x.shape[-2], x.shape[-1]
    rows = []
    for r0, r1 in adaptive_bins(h, size):
        cols = [x[:, :, r0:r1, c0:c1].mean(axis=(2, 3), keepdim=True) for c0, c1 in adaptive_bins(w, size)]
        rows.append(cols[0].cat(*cols[1:], dim=3) if len(cols) > 1 else cols[0])
    return rows[0].cat(*rows[1:], dim=2) if len(rows) > 1 else rows[0]


def pixel_shuffle(x: Tensor, r: int) -> Tensor:
    """PyTorch's PixelShuffle: (N, C*r*r, H, W) -> (N, C, H*r, W*r), channel index c*r*r + i*r + j -> (c, i, j)."""
    n, crr, h, w = x.shape
    c = crr // (r * r)
    return x.reshape(n, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)


class Conv:
    """A 2-D convolution with bias; weights come from the checkpoint (placeholders until loaded)."""

    def __init__(self, in_ch: int, out_ch: int, k: int, stride: int = 1) -> None:
        self.weight = Tensor.empty(out_ch, in_ch, k, k, dtype=dtypes.float32)
        self.bias = Tensor.empty(out_ch, dtype=dtypes.float32)
        self.stride, self.padding = stride, k // 2

    def __call__(self, x: Tensor) -> Tensor:
        return x.conv2d(self.weight, self.bias, stride=self.stride, padding=self.padding)


class DownConv:
    """conv3x3/2 -> ReLU -> conv3x3 -> ReLU -> conv3x3 -> ReLU, stored as ``conv`` = [Conv, None, Conv, None, Conv, None]."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        self.conv: list[Any] = [  # None slots keep torch's indexes (conv.0, conv.2, ...)
            Conv(in_ch, out_ch, 3, stride=2),
            None,
            Conv(out_ch, out_ch, 3),
            None,
            Conv(out_ch, out_ch, 3),
            None,
        ]

    def __call__(self, x: Tensor) -> Tensor:
        for conv in self.conv[0::2]:
            x = conv(x).relu()
        return x


class ResidualBlock:
    """x + conv2(relu(conv1(x)))."""

    def __init__(self, nf: int = NF) -> None:
        self.conv1, self.conv2 = Conv(nf, nf, 3), Conv(nf, nf, 3)

    def __call__(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.conv1(x).relu())


class SQ:
    """Adaptive pool to ``size`` then 1x1 convs 64->128->64->out, stored as ``conv`` = [Conv, None, Conv, None, Conv]."""

    def __init__(self, size: int, out_ch: int, nf: int = NF) -> None:
        self.size = size
        self.conv: list[Any] = [Conv(nf, nf * 2, 1), None, Conv(nf * 2, nf, 1), None, Conv(nf, out_ch, 1)]

    def __call__(self, x: Tensor) -> Tensor:
        x = adaptive_avg_pool2d(x, self.size)
        x = self.conv[2](self.conv[0](x).relu()).relu()
        return self.conv[4](x)


def run_stack(blocks: list[ResidualBlock], x: Tensor) -> Tensor:
    """Apply residual blocks in order."""
    for block in blocks:
        x = block(x)
    return x


class TinyGMNet:
    """GMNet for tinygrad; attribute names mirror the PyTorch state_dict keys exactly."""

    def __init__(self, nf: int = NF, out_nc: int = 1) -> None:
        self.down1, self.down2 = DownConv(3, 16), DownConv(16, nf)
        self.res_y = [ResidualBlock(nf) for _ in range(RES_BLOCKS)]
        self.sq_ker, self.sq_chn, self.sq_qmax = SQ(3, nf, nf), SQ(1, nf, nf), SQ(1, 1, nf)
        self.down_x = DownConv(3, nf)
        self.res1 = [ResidualBlock(nf) for _ in range(RES_BLOCKS)]
        self.mask_est: list[Any] = [Conv(nf, nf, 3), None, Conv(nf, 1, 3), None]  # torch's indexes
        self.res2 = [ResidualBlock(nf) for _ in range(RES_BLOCKS)]
        self.res3 = [ResidualBlock(nf) for _ in range(RES_BLOCKS)]
        self.upconv = Conv(nf, nf * 4, 3)
        self.HRconv = Conv(nf, nf, 3)
        self.conv_last = Conv(nf, out_nc, 3)
        self._jits: OrderedDict[tuple[tuple[int, ...], tuple[int, ...]], TinyJit] = OrderedDict()

    @classmethod
    def from_checkpoint(cls, path: Path) -> TinyGMNet:
        """Build the model and load ``path`` (a torch .pth state_dict). Raises ``ValueError`` on key/shape mismatch."""
        model = cls()
        model.load(read_checkpoint(path))
        return model

    def load(self, state_dict: dict[str, Tensor]) -> None:
        """Copy ``state_dict`` into the model; keys and shapes must match exactly."""
        own = get_state_dict(self)
        missing, unexpected = sorted(own.keys() - state_dict.keys()), sorted(state_dict.keys() - own.keys())
        if missing or unexpected:
            raise ValueError(f"checkpoint keys do not match GMNet: missing {missing[:5]}, unexpected {unexpected[:5]}")
        for key, param in own.items():
            value = state_dict[key]
            if tuple(value.shape) != tuple(param.shape):
                raise ValueError(
                    f"checkpoint tensor {key} has shape {tuple(value.shape)}, expected {tuple(param.shape)}"
                )
            param.replace(value.to(param.device).cast(dtypes.float32).contiguous())
        Tensor.realize(*own.values())

    def global_branch(self, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Thumbnail (N,3,256,256) -> realised (kernel (N,64,3,3), channel gate pre-sigmoid (N,64,1,1), qmax (N,1,1,1))."""
        fy = run_stack(self.res_y, self.down2(self.down1(y)))
        kernel, chn, qmax = self.sq_ker(fy), self.sq_chn(fy), self.sq_qmax(fy)
        Tensor.realize(kernel, chn, qmax)
        return kernel, chn, qmax

    def predict(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """x (N,3,H,W) with even H, W; y (N,3,256,256). Returns realised (gain_map (N,1,H,W), qmax (N,1,1,1))."""
        kernel, chn, qmax = self.global_branch(y)
        n = x.shape[0]
        fx = run_stack(self.res1, self.down_x(x))
        _, c, h, w = fx.shape
        fx = (
            fx.reshape(1, n * c, h, w)
            .conv2d(kernel.reshape(n * c, 1, 3, 3), groups=n * c, padding=1)
            .reshape(n, c, h, w)
        )
        mask = self.mask_est[2](self.mask_est[0](fx).relu()).sigmoid()
        fx = run_stack(self.res2, fx * mask)
        fx = run_stack(self.res3, fx * chn.sigmoid())
        fx = pixel_shuffle(self.upconv(fx), 2).relu()
        fx = self.HRconv(fx).relu()
        return self.conv_last(fx).realize(), qmax

    def predict_numpy(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """numpy (N,3,H,W), (N,3,256,256) float32 -> numpy (gain_map, qmax), copies owned by the caller.

        Calls go through one ``TinyJit`` per input shape (the last :data:`JIT_SHAPES` shapes are kept): the
        first two calls at a shape schedule normally, later calls replay the captured kernels without
        Python-side scheduling. Not thread-safe.
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        key = (x.shape, y.shape)
        jit = self._jits.pop(key, None) or TinyJit(self.predict)
        self._jits[key] = jit
        while len(self._jits) > JIT_SHAPES:
            self._jits.popitem(last=False)
        gain_map, qmax = jit(Tensor(x).realize(), Tensor(y).realize())
        return gain_map.numpy().copy(), qmax.numpy().copy()


def read_checkpoint(path: Path) -> dict[str, Tensor]:
    """Read a torch .pth with read-only I/O and parse it with tinygrad's ``torch_load`` (no torch needed).

    Raises ``FileNotFoundError``/``PermissionError`` from ``open`` and ``ValueError`` for a file that is not a
    torch checkpoint holding a state_dict.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        loaded = torch_load(Tensor(data, device="CPU"))
    except Exception as exc:  # tinygrad raises assorted errors for non-checkpoints
        raise ValueError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "params"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise ValueError(f"{path}: checkpoint does not hold a state_dict of tensors")
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in loaded.items()}
