"""ONNX export of GMNet (dev step, needs torch + onnxscript): ``python -m reference_service.export``.

Writes ``reference_service/assets/gmnet.onnx`` with inputs ``image`` (1, 3, H, W) and ``thumbnail``
(1, 3, 256, 256), outputs ``gain_map`` (1, 1, H, W) and ``qmax`` (1, 1, 1, 1); H and W are dynamic.

Choices (the warnings each one answers are listed in ``reference_service/README.md``):

* The dynamo exporter (``torch.onnx.export(..., dynamo=True)``) at opset 18. The legacy TorchScript
  exporter refuses ``AdaptiveAvgPool2d`` 64->3 because 64 is not a multiple of 3.
* Before export, each ``AdaptiveAvgPool2d`` is replaced by :class:`ExplicitAdaptivePool`, which slices
  PyTorch's overlapping bins (start = floor(i*in/out), end = ceil((i+1)*in/out)) and averages them. The
  thumbnail is always 256x256, so the pooled features are always 64x64 and the bins are static.
  This keeps the graph free of an exporter-specific decomposition and is checked against torch.
* The export wrapper returns ``qmax`` itself (not ``qmax * gain_map``) so clients get the scalar;
  ``qmax * gain_map`` is one multiply on their side.
* Batch is fixed at 1: the per-image depthwise convolution is a grouped conv with groups = N*64, and
  ONNX's ``group`` attribute must be static.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from reference_service.model_torch import GMNet, load_model

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_ONNX = ASSETS / "gmnet.onnx"
OPSET = 18


def adaptive_bins(in_size: int, out_size: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling bins: [(floor(i*in/out), ceil((i+1)*in/out)) for i in range(out)]."""
    return [((i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)) for i in range(out_size)]


class ExplicitAdaptivePool(nn.Module):
    """AdaptiveAvgPool2d as explicit slice-and-mean over PyTorch's (possibly overlapping) bins.

    Needs the input's spatial size at trace time; in GMNet it is always 64x64 (the thumbnail branch).
    """

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        h, w = int(x.shape[-2]), int(x.shape[-1])
        rows = []
        for r0, r1 in adaptive_bins(h, self.output_size):
            cols = [x[:, :, r0:r1, c0:c1].mean(dim=(2, 3), keepdim=True) for c0, c1 in adaptive_bins(w, self.output_size)]
            rows.append(torch.cat(cols, dim=3) if len(cols) > 1 else cols[0])
        return torch.cat(rows, dim=2) if len(rows) > 1 else rows[0]


class ExportWrapper(nn.Module):
    """(image, thumbnail) -> (gain_map, qmax), with explicit adaptive pooling."""

    def __init__(self, model: GMNet) -> None:
        super().__init__()
        self.model = model
        for sq in (model.sq_ker, model.sq_chn, model.sq_qmax):
            size = sq.pool.output_size
            sq.pool = ExplicitAdaptivePool(size if isinstance(size, int) else size[0])

    def forward(self, image: torch.Tensor, thumbnail: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        return self.model.predict(image, thumbnail)


def export_onnx(output: Path = DEFAULT_ONNX, checkpoint: Path | None = None) -> list[str]:
    """Export GMNet to ``output`` (atomic write); returns the warning messages the exporter emitted."""
    model = ExportWrapper(load_model(str(checkpoint) if checkpoint else None)).eval()
    image = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    thumb = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    height, width = torch.export.Dim("height_half", min=8, max=8192), torch.export.Dim("width_half", min=8, max=8192)
    dynamic_shapes = {"image": {2: 2 * height, 3: 2 * width}, "thumbnail": None}
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=output.name, suffix=".tmp", dir=output.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(record=True) as caught, torch.no_grad():
            warnings.simplefilter("always")
            program = torch.onnx.export(
                model, (image, thumb), dynamo=True, opset_version=OPSET, dynamic_shapes=dynamic_shapes,
                input_names=["image", "thumbnail"], output_names=["gain_map", "qmax"], external_data=False,
                optimize=True, verify=False,
            )
            program.save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: export and print any exporter warnings."""
    parser = argparse.ArgumentParser(description="Export GMNet to ONNX (dev step; needs torch and onnxscript).")
    parser.add_argument("--output", type=Path, default=DEFAULT_ONNX)
    parser.add_argument("--checkpoint", type=Path, default=None)
    args = parser.parse_args(argv)
    messages = export_onnx(args.output, args.checkpoint)
    for message in messages:
        print(f"exporter warning: {message}")
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes, opset {OPSET}, {len(messages)} warnings)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

