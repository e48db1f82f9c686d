"""One Backend protocol, three implementations: ``onnxruntime``, ``tinygrad`` and ``torch``.

This module is the contract the HTTP server codes against::

    backend = load_backend("onnxruntime")          # loads the model once
    gain_map, qmax = backend.predict(image, thumbnail)

``image`` is float32 (H, W, 3) in [0, 1] with even H and W (see ``preprocess.pad_to_even``);
``thumbnail`` is float32 (256, 256, 3) in [0, 1] (see ``preprocess.to_thumbnail``). ``predict`` returns the
gain map as float32 (H, W) and ``qmax`` as a Python float.

Runtimes are imported lazily inside each backend's constructor, so importing this module needs only numpy.
Thread safety: the ONNX Runtime and torch backends may be called from several threads (both runtimes allow
concurrent ``run``/forward on one loaded model, each call then competes for the same cores). The tinygrad
backend is NOT thread-safe (tinygrad keeps global scheduler state); it serialises calls with a lock.
The server should still run one inference at a time per backend instance: on 2 cores, concurrency only adds
contention.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_CHECKPOINT = ASSETS / "gmnet_synthetic.pth"
DEFAULT_ONNX = ASSETS / "gmnet.onnx"
DEFAULT_INT8_ONNX = ASSETS / "gmnet_int8.onnx"
BACKENDS = ("onnxruntime", "tinygrad", "torch")  # the exact backends: each reproduces the torch goldens
# Opt-in: ONNX Runtime on the statically quantised model (training/quantize_int8.py); faster, not exact.
INT8_BACKEND = "onnxruntime-int8"
THUMBNAIL_SHAPE = (256, 256, 3)


@runtime_checkable
class Backend(Protocol):
    """A loaded GMNet ready to predict."""

    name: str

    def predict(self, image: np.ndarray, thumbnail: np.ndarray) -> tuple[np.ndarray, float]:
        """image float32 (H, W, 3) in [0,1], H and W even; thumbnail float32 (256, 256, 3) in [0,1].
        Returns (gain_map float32 (H, W), qmax float)."""
        ...


def check_inputs(image: np.ndarray, thumbnail: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``image`` is (H, W, 3) with even H, W >= 16 and ``thumbnail`` is (256, 256, 3)."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an (H, W, 3) array, got shape {getattr(image, 'shape', None)}")
    h, w = image.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"image height and width must be even (pad with preprocess.pad_to_even), got {h}x{w}")
    if h < 16 or w < 16:
        raise ValueError(f"image must be at least 16x16, got {h}x{w}")
    if not isinstance(thumbnail, np.ndarray) or thumbnail.shape != THUMBNAIL_SHAPE:
        raise ValueError(f"thumbnail must have shape {THUMBNAIL_SHAPE}, got {getattr(thumbnail, 'shape', None)}")


def to_nchw(array: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> contiguous float32 (1, 3, H, W)."""
    return np.ascontiguousarray(np.asarray(array, dtype=np.float32).transpose(2, 0, 1)[None])


def physical_cores() -> int:
    """Number of physical cores usable by this process (distinct (package, core) pairs; falls back to CPU count)."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores: set[tuple[str, str]] = set()
    try:
        for cpu in allowed:
            topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
            cores.add(((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip()))
    except OSError:
        return max(1, len(allowed))
    return max(1, len(cores))


class OnnxRuntimeBackend:
    """GMNet exported to ONNX (``export.py``), run by ONNX Runtime's CPU provider with a tuned session."""

    name = "onnxruntime"

    def __init__(self, onnx_path: Path | None = None, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(onnx_path or DEFAULT_ONNX)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: ONNX model not found (run python -m reference_service.export)")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads or physical_cores()
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = True
        options.enable_mem_pattern = True
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=["CPUExecutionProvider"])
        # The CPU arena grows to a run's peak and keeps it for the life of the session (3.3 GB after
        # one 2048x2048 run, 6.3 GB after a second one, when the memory pattern adds its own block).
        # Shrinking it at the end of every run returns that memory to the system; the next run maps
        # it again (page faults: small next to a run of that size). See SERVER.md, "Memory".
        self._run_options = ort.RunOptions()
        self._run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def predict(self, image: np.ndarray, thumbnail: np.ndarray) -> tuple[np.ndarray, float]:
        check_inputs(image, thumbnail)
        gain_map, qmax = self.session.run(
            ["gain_map", "qmax"], {"image": to_nchw(image), "thumbnail": to_nchw(thumbnail)}, self._run_options
        )
        return np.ascontiguousarray(gain_map[0, 0], dtype=np.float32), float(qmax.reshape(-1)[0])


class TorchBackend:
    """The PyTorch reference (dev dependency), eager mode, no autograd."""

    name = "torch"

    def __init__(self, checkpoint: Path | None = None, *, threads: int | None = None) -> None:
        import torch

        from reference_service.model_torch import load_model

        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        self.model = load_model(str(checkpoint or DEFAULT_CHECKPOINT))

    def predict(self, image: np.ndarray, thumbnail: np.ndarray) -> tuple[np.ndarray, float]:
        check_inputs(image, thumbnail)
        torch = self._torch
        with torch.inference_mode():
            gain_map, qmax = self.model.predict(torch.from_numpy(to_nchw(image)), torch.from_numpy(to_nchw(thumbnail)))
        return gain_map[0, 0].numpy().astype(np.float32, copy=True), float(qmax.reshape(-1)[0])


DEFAULT_BEAM_TABLE = ASSETS / "tinygrad_beam.json"


def beam_table_setting(environ: Mapping[str, str] | None = None) -> Path | None:
    """The BEAM table the tinygrad backend applies: ``GMNET_TINYGRAD_BEAM`` (a path, or ``off``), else the
    bundled ``assets/tinygrad_beam.json`` when it exists."""
    env = os.environ if environ is None else environ
    raw = env.get("GMNET_TINYGRAD_BEAM", "").strip()
    if raw.lower() == "off":
        return None
    if raw:
        if not Path(raw).is_file():
            raise FileNotFoundError(f"GMNET_TINYGRAD_BEAM={raw}: no such file (give a BEAM table's path, or off)")
        return Path(raw)
    return DEFAULT_BEAM_TABLE if DEFAULT_BEAM_TABLE.is_file() else None


class TinygradBackend:
    """The tinygrad port (``model_tinygrad.py``), loading the .pth checkpoint directly. Not thread-safe: locked.

    Kernel schedules searched offline (``benchmarks/tinygrad_beam.py``) are applied when a BEAM table is
    found (:func:`beam_table_setting`); ``beam_table=None`` skips it.
    """

    name = "tinygrad"

    def __init__(self, checkpoint: Path | None = None, beam_table: Path | str | None = "auto") -> None:
        ensure_tinygrad_cache_usable()
        share_tinygrad_cache_connection()
        table = beam_table_setting() if beam_table == "auto" else beam_table
        self.beam_kernels = 0
        if table is not None:
            from reference_service.tinygrad_beam import install

            try:
                self.beam_kernels = install(Path(table))
            except ValueError as exc:
                # The bundled table fits one tinygrad version; with another, tinygrad's heuristics still give
                # the same results, only slower. A table named in GMNET_TINYGRAD_BEAM must load.
                if Path(table) != DEFAULT_BEAM_TABLE:
                    raise
                log.warning("%s; using tinygrad's heuristic kernel schedules", exc)
        from reference_service.model_tinygrad import TinyGMNet

        self.model = TinyGMNet.from_checkpoint(Path(checkpoint or DEFAULT_CHECKPOINT))
        self._lock = threading.Lock()

    def predict(self, image: np.ndarray, thumbnail: np.ndarray) -> tuple[np.ndarray, float]:
        check_inputs(image, thumbnail)
        with self._lock:
            gain_map, qmax = self.model.predict_numpy(to_nchw(image), to_nchw(thumbnail))
        return np.ascontiguousarray(gain_map[0, 0], dtype=np.float32), float(qmax.reshape(-1)[0])


def share_tinygrad_cache_connection() -> bool:
    """Let every thread use tinygrad's kernel cache. Returns True when the connection was (re)opened.

    tinygrad keeps compiled kernels in one process-wide SQLite connection (``tinygrad.helpers._db_connection``),
    which sqlite3 binds to the thread that opened it. The server loads the backend on one thread and predicts
    on its workers: once loading touched the cache (applying the BEAM table does), every request failed with
    "SQLite objects created in a thread can only be used in that same thread". This opens the connection as
    tinygrad does, with ``check_same_thread=False``; the backend's lock serialises its use. A tinygrad without
    that internal, or with the cache off, is left alone.
    """
    from tinygrad import helpers

    cachelevel = getattr(helpers, "CACHELEVEL", None)
    if not hasattr(helpers, "_db_connection") or cachelevel is None or cachelevel.value < 1:
        return False
    path = str(helpers.CACHEDB)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    connection = sqlite3.connect(path, timeout=60, isolation_level="IMMEDIATE", check_same_thread=False)
    with contextlib.suppress(sqlite3.OperationalError):  # another process holds the lock while it sets WAL
        connection.execute("PRAGMA journal_mode=WAL").fetchone()
    connection.execute("PRAGMA synchronous=NORMAL")
    helpers._db_connection = connection
    return True


def ensure_tinygrad_cache_usable(environ: MutableMapping[str, str] | None = None) -> bool:
    """Turn tinygrad's on-disk kernel cache off (``CACHELEVEL=0``) when its folder cannot be written.

    tinygrad keeps compiled kernels in ``$XDG_CACHE_HOME/tinygrad/cache.db`` (default ``~/.cache``) and would
    fail on first use on a read-only filesystem. Must run before tinygrad is imported (it reads the
    environment at import). Respects an explicit ``CACHEDB`` or ``CACHELEVEL``. Returns True if the cache
    stays on.
    """
    env = os.environ if environ is None else environ
    if "CACHEDB" in env or "CACHELEVEL" in env:
        return env.get("CACHELEVEL", "1") != "0"
    folder = Path(env.get("XDG_CACHE_HOME") or Path(env.get("HOME") or Path.home()) / ".cache") / "tinygrad"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        env["CACHELEVEL"] = "0"
        return False
    return True


def load_backend(name: str, *, checkpoint: Path | None = None, onnx_path: Path | None = None) -> Backend:
    """Build the backend called ``name`` (one of :data:`BACKENDS`), loading its model once.

    ``checkpoint`` (a GMNet .pth) is used by ``torch`` and ``tinygrad``; ``onnx_path`` by ``onnxruntime`` and
    ``onnxruntime-int8`` (default: the bundled ``gmnet_int8.onnx``).
    Raises ``ValueError`` for an unknown name, ``FileNotFoundError`` for a missing model file and
    ``ImportError`` when the backend's runtime is not installed.
    """
    if name == "onnxruntime":
        return OnnxRuntimeBackend(onnx_path)
    if name == INT8_BACKEND:
        backend = OnnxRuntimeBackend(onnx_path or DEFAULT_INT8_ONNX)
        backend.name = INT8_BACKEND
        return backend
    if name == "tinygrad":
        return TinygradBackend(checkpoint)
    if name == "torch":
        return TorchBackend(checkpoint)
    raise ValueError(f"unknown backend {name!r}; valid backends: {', '.join((*BACKENDS, INT8_BACKEND))}")


def available_backends() -> list[str]:
    """Names from :data:`BACKENDS` whose runtime can be imported here (without importing it)."""
    modules = {"onnxruntime": "onnxruntime", "tinygrad": "tinygrad", "torch": "torch"}
    return [name for name in BACKENDS if importlib.util.find_spec(modules[name]) is not None]
