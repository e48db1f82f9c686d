"""Static INT8 quantisation of the ONNX model, calibrated on procedural scenes (dev step).

    python -m training.quantize_int8           # reference_service/assets/gmnet.onnx -> gmnet_int8.onnx

ONNX Runtime's ``quantize_static`` in QDQ form: weights signed 8-bit per output channel, activations
unsigned 8-bit per tensor (the u8s8 combination x86 VNNI kernels run fastest), ranges from the MinMax of
``--calibration`` procedural scenes (seeds 8,000,000 + i: neither training nor held-out seeds) at 256 x 256,
each with the service's own thumbnail. The model first goes through ``quant_pre_process`` (shape inference
and graph optimisation), as ONNX Runtime recommends. Whether the result is worth shipping is measured by
``benchmarks/backend_latency.py`` (latency next to FP32, PSNR and max error against torch).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from reference_service import scenes
from reference_service.backends import DEFAULT_ONNX, to_nchw
from reference_service.preprocess import to_thumbnail

CALIBRATION_SEED_BASE = 8_000_000
DEFAULT_INT8 = DEFAULT_ONNX.with_name("gmnet_int8.onnx")


class SceneCalibration:
    """ONNX Runtime CalibrationDataReader over procedural scenes (image + thumbnail feeds)."""

    def __init__(self, count: int, size: int = 256) -> None:
        self._feeds = iter([self._feed(CALIBRATION_SEED_BASE + i, size) for i in range(count)])

    @staticmethod
    def _feed(seed: int, size: int) -> dict[str, np.ndarray]:
        sdr = scenes.make_pair(seed, size, size).sdr
        return {"image": to_nchw(sdr), "thumbnail": to_nchw(to_thumbnail(sdr))}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize(source: Path, target: Path, calibration: int) -> None:
    """Write the statically quantised model to ``target`` (atomically)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=False)
        out = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(out),
            SceneCalibration(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
        )
        os.chmod(out, 0o644)
        os.replace(out, target)


def main(argv: list[str] | None = None) -> int:
    """CLI: quantise and print the sizes."""
    parser = argparse.ArgumentParser(prog="python -m training.quantize_int8", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_ONNX)
    parser.add_argument("--output", type=Path, default=DEFAULT_INT8)
    parser.add_argument("--calibration", type=int, default=32, help="procedural scenes to calibrate on")
    args = parser.parse_args(argv)
    quantize(args.source, args.output, args.calibration)
    print(
        f"wrote {args.output} ({args.output.stat().st_size:,} bytes; FP32 {args.source.stat().st_size:,})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
