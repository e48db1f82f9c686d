"""ONNX export of GMNet through `depaudit port` (dev step, needs torch, onnx, onnxscript, onnxruntime):
``python -m reference_service.export`` regenerates ``reference_service/assets/gmnet.onnx`` from the
committed checkpoint.

The same run as the command line (from the repository root)::

    depaudit port reference_service.export:GMNetPredict \\
        --input image=1x3x128x160 --input thumbnail=1x3x256x256 \\
        --dynamic image:2=height --dynamic image:3=width \\
        --output-name gain_map --output-name qmax --out build/gmnet-port

What port does for GMNet (each was a hand-made step of the first export):

* the dynamo exporter at opset 18 (the TorchScript exporter refuses ``AdaptiveAvgPool2d`` 64->3);
* the three 64->3 / 64->1 adaptive pools on the thumbnail branch are rewritten as explicit overlapping
  bins (finding DA407, applied): the thumbnail is always 256x256, so the pooled size is static;
* H and W of ``image`` stay dynamic (named ``height``/``width``); the thumbnail and batch are fixed
  (the per-image depthwise convolution is a grouped conv with groups = N*64, and ONNX's ``group`` is static);
* outputs ``gain_map`` (1, 1, H, W) and ``qmax`` (1, 1, 1, 1): :meth:`GMNet.predict`, so clients get the
  scalar and multiply themselves;
* torch goldens on seven generated cases (plus two other image sizes), ONNX Runtime on the same inputs,
  PSNR/SSIM/max error per case, and a torch-free test in the hand-over folder.

The export is deterministic: the same checkpoint gives the same bytes (port drops the node stack
traces, which hold the checkout's absolute paths).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from depaudit.port import PortRequest, build_request, run_port
from depaudit.port.report import PortReport
from depaudit.port.rewrites import ExplicitAdaptiveAvgPool, adaptive_bins
from reference_service.model_torch import GMNet, load_model

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_ONNX = ASSETS / "gmnet.onnx"
OPSET = 18
INPUTS = ["image=1x3x128x160", "thumbnail=1x3x256x256"]
DYNAMIC = ["image:2=height", "image:3=width"]
OUTPUTS = ("gain_map", "qmax")
__all__ = ["ExplicitAdaptivePool", "GMNetPredict", "adaptive_bins", "export_onnx", "port_request"]
# The bar for every output of every case. gain_map reaches 135-141 dB (as the hand-made export did);
# qmax is one scalar, whose PSNR is -20*log10(relative error): 130 dB would be 2.7 float32 ulps, below
# what a different summation order in the 64x64 mean gives (128.7-144 dB measured), so 120 dB (1e-6).
MIN_PSNR_DB = 120.0


class GMNetPredict(nn.Module):
    """(image, thumbnail) -> (gain_map, qmax): GMNet.predict with the committed checkpoint."""

    def __init__(self, model: GMNet | None = None) -> None:
        super().__init__()
        self.model = model if model is not None else load_model()

    def forward(self, image: torch.Tensor, thumbnail: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.predict(image, thumbnail)


class ExplicitAdaptivePool(nn.Module):
    """The first export's pool (output size only), now port's rewrite built for the input it is given."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ExplicitAdaptiveAvgPool(tuple(int(s) for s in x.shape[-2:]), (self.output_size,) * 2)(x)


def port_request(out: Path) -> PortRequest:
    """The port request that regenerates gmnet.onnx (hand-over files go to `out`)."""
    return build_request(
        "reference_service.export:GMNetPredict",
        INPUTS,
        DYNAMIC,
        out,
        opset=OPSET,
        output_names=OUTPUTS,
        min_psnr=MIN_PSNR_DB,
        name="gmnet",
    )


def export_onnx(
    output: Path = DEFAULT_ONNX, checkpoint: Path | None = None, handover: Path | None = None
) -> PortReport:
    """Port GMNet and copy the checked model to `output`; returns the port report. The hand-over
    folder is `handover` (kept) or a temporary one. Raises RuntimeError when port did not pass."""
    model = GMNetPredict(load_model(str(checkpoint) if checkpoint else None))
    with tempfile.TemporaryDirectory(prefix="gmnet-port-") as scratch:
        folder = handover or Path(scratch)
        report = run_port(port_request(folder), model)
        if not report.passed:
            raise RuntimeError(f"port did not pass for GMNet; see {folder / 'port.json'}")
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(f".{output.name}.tmp")
        shutil.copyfile(folder / "model.onnx", tmp)
        tmp.chmod(0o644)
        tmp.replace(output)
    return report


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: port GMNet, write the ONNX, print the per-case agreement."""
    parser = argparse.ArgumentParser(description="Export GMNet to ONNX through depaudit port (dev step).")
    parser.add_argument("--output", type=Path, default=DEFAULT_ONNX)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--handover", type=Path, default=None, help="keep port's hand-over files here")
    args = parser.parse_args(argv)
    try:
        report = export_onnx(args.output, args.checkpoint, args.handover)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for case in report.cases:
        print(f"{case.name:14s} PSNR {case.psnr_db:7.1f} dB  max|err| {case.max_abs_err:.3g}")
    print(f"wrote {args.output} ({report.onnx_bytes} bytes, {report.exporter} exporter, opset {report.opset})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
