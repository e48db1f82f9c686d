"""The files `depaudit port` hands over (torch-free): model.onnx, goldens.npz, port.json, a runtime.py
loader for ONNX Runtime (numpy in, numpy out) and a test that re-checks ONNX Runtime against the
goldens with only onnxruntime, numpy and pytest installed. Every file is written atomically."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from depaudit.errors import InputError
from depaudit.fileio import atomic_write_bytes, atomic_write_text
from depaudit.port.metrics import Bars

RUNTIME_TEMPLATE = '''"""ONNX Runtime loader for {name} (written by `depaudit port`; needs onnxruntime and numpy only).

    from runtime import load
    model = load()
    outputs = model({call})   # numpy arrays in, a list of numpy arrays out: {outputs_doc}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

MODEL = Path(__file__).resolve().with_name("model.onnx")
INPUTS = {inputs!r}
OUTPUTS = {outputs!r}
DTYPES = {dtypes!r}


class Model:
    """One InferenceSession; call it with the inputs in order (or by name)."""

    def __init__(self, path: Path = MODEL, providers: list[str] | None = None) -> None:
        self.session = ort.InferenceSession(str(path), providers=providers or ["CPUExecutionProvider"])

    def __call__(self, *args: np.ndarray, **kwargs: np.ndarray) -> list[np.ndarray]:
        feeds = dict(zip(INPUTS, args))
        feeds.update(kwargs)
        missing = [n for n in INPUTS if n not in feeds]
        if missing:
            raise TypeError(f"missing inputs: {{missing}}")
        arrays = {{n: np.ascontiguousarray(feeds[n], dtype=DTYPES[n]) for n in INPUTS}}
        return self.session.run(None, arrays)


def load(path: Path = MODEL) -> Model:
    """The model at `path` (default: model.onnx beside this file) on the CPU."""
    return Model(path)
'''

TEST_TEMPLATE = '''"""Re-check ONNX Runtime against the torch goldens for {name} (written by `depaudit port`).

Needs only onnxruntime, numpy and pytest: `python -m pytest {filename}`. Bars, as `depaudit port`
judged: every output finite (no NaN/inf in torch or ONNX Runtime), same shape, and PSNR >= {min_psnr} dB
against torch float32 with the golden's own scale as the peak (max of its peak-to-peak range and its
largest magnitude); {relative_doc}
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
MIN_PSNR_DB = {min_psnr!r}
RELATIVE = {relative!r}  # below MIN_PSNR_DB, judge against the float64 reference where goldens hold one
MARGIN_DB = {margin!r}
FLOOR_DB = float("{floor}")  # this close to float64 passes whatever torch float32's own distance
CASES = {cases!r}
PORT_PROBLEMS = {problems!r}  # why `depaudit port` did not pass (empty when it passed)


def _runtime():
    spec = importlib.util.spec_from_file_location("_port_runtime_{ident}", HERE / "runtime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RUNTIME = _runtime()
MODEL = RUNTIME.load()
GOLDENS = dict(np.load(HERE / "goldens.npz", allow_pickle=False))


def psnr(golden: np.ndarray, test: np.ndarray) -> float:
    ref, out = golden.astype(np.float64), test.astype(np.float64)
    peak = max(float(np.ptp(ref)), float(np.max(np.abs(ref)))) or 1.0
    mse = float(np.mean((ref - out) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def test_port_passed():
    assert not PORT_PROBLEMS, "depaudit port did not pass: " + " | ".join(PORT_PROBLEMS)


@pytest.mark.parametrize("case", CASES)
def test_onnxruntime_matches_torch(case):
    inputs = [GOLDENS[f"{{case}}.in.{{name}}"] for name in RUNTIME.INPUTS]
    outputs = MODEL(*inputs)
    assert len(outputs) == len(RUNTIME.OUTPUTS)
    for name, got in zip(RUNTIME.OUTPUTS, outputs):
        want = GOLDENS[f"{{case}}.out.{{name}}"]
        assert got.shape == want.shape, f"{{case}}/{{name}}: shape {{got.shape}} != {{want.shape}}"
        if want.dtype.kind in "fc" or got.dtype.kind in "fc":
            bad = int((~np.isfinite(want)).sum()), int((~np.isfinite(got)).sum())
            assert bad == (0, 0), f"{{case}}/{{name}}: NaN/inf values: {{bad[0]}} in torch, {{bad[1]}} in ONNX Runtime"
        value = psnr(want, got)
        reference = GOLDENS.get(f"{{case}}.ref.{{name}}")
        if value < MIN_PSNR_DB and RELATIVE and reference is not None:
            torch_db, ort_db = psnr(reference, want), psnr(reference, got)
            assert ort_db >= min(torch_db - MARGIN_DB, FLOOR_DB), (
                f"{{case}}/{{name}}: from float64, ONNX Runtime {{ort_db:.1f}} dB, torch float32 {{torch_db:.1f}} dB"
            )
        else:
            assert value >= MIN_PSNR_DB, f"{{case}}/{{name}}: PSNR {{value:.1f}} dB < {{MIN_PSNR_DB}}"
'''


def safe_name(name: str) -> str:
    """A lowercase identifier for file names (`test_<name>_onnx.py`)."""
    cleaned = re.sub(r"[^0-9a-zA-Z]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).strip("_").lower()
    return cleaned or "model"


def prepare_dir(out: Path) -> Path:
    """Create `out` (and parents). Raises InputError when it exists and is not a directory."""
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"cannot create the output directory ({exc.strerror})") from exc
    return out


def goldens_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The goldens as one compressed .npz (no pickles)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # the stub reads **arrays as allow_pickle
    return buffer.getvalue()


def write_handover(
    out: Path,
    name: str,
    onnx_bytes: bytes | None,
    goldens: dict[str, np.ndarray],
    inputs: list[dict[str, Any]],
    output_names: list[str],
    cases: list[str],
    bars: Bars,
    problems: list[str],
) -> list[Path]:
    """Write model.onnx (when exported), goldens.npz, runtime.py and test_<name>_onnx.py; return the paths.
    `problems` (why port did not pass) go into the test as a failing check, so a port that did not
    pass never hands over a green test. port.json is written last by the caller."""
    written = []
    if onnx_bytes is not None:
        atomic_write_bytes(out / "model.onnx", onnx_bytes)
        written.append(out / "model.onnx")
    atomic_write_bytes(out / "goldens.npz", goldens_bytes(goldens))
    written.append(out / "goldens.npz")
    if onnx_bytes is not None:
        test_name = f"test_{safe_name(name)}_onnx.py"
        atomic_write_text(out / "runtime.py", _runtime_source(name, inputs, output_names))
        atomic_write_text(out / test_name, _test_source(name, test_name, cases, bars, problems))
        written += [out / "runtime.py", out / test_name]
    for path in written:
        _readable(path)
    return written


def _runtime_source(name: str, inputs: list[dict[str, Any]], output_names: list[str]) -> str:
    names = [i["name"] for i in inputs]
    return RUNTIME_TEMPLATE.format(
        name=name,
        call=", ".join(names),
        outputs_doc=", ".join(output_names),
        inputs=names,
        outputs=list(output_names),
        dtypes={i["name"]: i["dtype"] for i in inputs},
    )


def _test_source(name: str, filename: str, cases: list[str], bars: Bars, problems: list[str]) -> str:
    return TEST_TEMPLATE.format(
        name=name,
        filename=filename,
        min_psnr=bars.bar,
        relative=bars.relative,
        margin=bars.margin,
        floor=str(bars.floor),
        relative_doc=_relative_doc(bars),
        cases=cases,
        ident=safe_name(name),
        problems=problems,
    )


def _relative_doc(bars: Bars) -> str:
    if not bars.relative:
        return "that bar is absolute (--min-psnr)."
    return (
        f"below it, ONNX Runtime passes when it is no more than {bars.margin:g} dB further from the float64\n"
        f"torch reference (`<case>.ref.<output>` in goldens.npz) than torch float32 is, or within {bars.floor:g} dB of it."
    )


def write_log(path: Path, text: str) -> Path:
    """Write export.log (what torch printed, full error texts)."""
    atomic_write_text(path, text)
    _readable(path)
    return path


def _readable(path: Path) -> None:
    """New files from a temp file are 0600; hand-over files are for the team: 0644 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o644 & ~umask)


def write_report(out: Path, document: dict[str, Any]) -> Path:
    """Write port.json (sorted keys are not used: the order is the schema's)."""
    path = out / "port.json"
    atomic_write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n")
    _readable(path)
    return path
