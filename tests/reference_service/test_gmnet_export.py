"""GMNet, the reference service's model, through `depaudit port` (its first customer): every case at
>= 130 dB on the gain map, and the committed gmnet.onnx reproduced from the committed checkpoint."""

from __future__ import annotations

import hashlib

import numpy as np
import onnxruntime as ort
import pytest

from reference_service.export import DEFAULT_ONNX, export_onnx
from reference_service.verify import CASES, load_golden

pytestmark = pytest.mark.slow  # GMNet (1.9 M params) through torch and ONNX Runtime on 9 cases: 30-60 s


@pytest.fixture(scope="module")
def gmnet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gmnet")
    report = export_onnx(folder / "gmnet.onnx", handover=folder / "handover")
    return report, folder


def test_every_case_at_130_db(gmnet):
    report, _ = gmnet
    assert report.passed and report.exporter == "dynamo" and report.opset == 18
    assert len(report.cases) == 9  # 7 patterns + two other image sizes (H and W are dynamic)
    for case in report.cases:
        gain, qmax = case.outputs
        assert gain.psnr_db >= 130, (case.name, gain.psnr_db)
        assert gain.ssim is not None and gain.ssim >= 0.9999
        assert qmax.psnr_db >= 120, (case.name, qmax.psnr_db)  # a scalar: 120 dB = 1e-6 relative
    assert [f.rule for f in report.findings] == ["DA407"]  # the 64->3 pool, rewritten as overlapping bins


def test_export_is_deterministic(gmnet, tmp_path):
    report, folder = gmnet
    again = export_onnx(tmp_path / "again.onnx")
    assert (tmp_path / "again.onnx").read_bytes() == (folder / "gmnet.onnx").read_bytes()
    assert again.onnx_sha256 == report.onnx_sha256


def test_committed_onnx_is_reproduced(gmnet):
    """Byte-identical when the committed file was made by this path (python -m reference_service.export);
    a file made by the first, hand-made export differs in node metadata (its stack traces hold the
    absolute paths of the checkout it was made in), so then ONNX Runtime must give bit-identical outputs
    on the service's golden inputs."""
    _, folder = gmnet
    fresh, committed = (folder / "gmnet.onnx").read_bytes(), DEFAULT_ONNX.read_bytes()
    if fresh == committed:
        return
    sessions = [ort.InferenceSession(blob, providers=["CPUExecutionProvider"]) for blob in (fresh, committed)]
    for case in CASES:
        golden = load_golden(case)
        feeds = {
            k: np.ascontiguousarray(golden[k].transpose(2, 0, 1)[None]) for k in ("image", "thumbnail")
        }  # HWC -> NCHW
        (new_gain, new_q), (old_gain, old_q) = (s.run(None, feeds) for s in sessions)
        assert np.array_equal(new_gain, old_gain), (case, hashlib.sha256(committed).hexdigest())
        assert np.array_equal(new_q, old_q), case
