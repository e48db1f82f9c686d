"""A bounded job queue served by inference worker threads, plus the store of async jobs.

Both the synchronous endpoint and ``POST /v1/jobs`` go through the same queue, so the number of
images held in memory and the work admitted are bounded by ``queue_size + workers``. A full queue
raises :class:`QueueFull` (HTTP 429). :meth:`JobRunner.close_and_drain` stops admission and waits
for every accepted job to finish: the SIGTERM path.
"""

from __future__ import annotations

import io
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .imaging import encode_gain_map

log = logging.getLogger("reference_service.jobs")

Predict = Callable[[np.ndarray], tuple[np.ndarray, float]]


class QueueFull(Exception):
    """The bounded queue has no free slot."""


class StoreFull(Exception):
    """Every async-job slot holds a result nobody has collected yet (GET /v1/jobs/{id})."""


class NotAccepting(Exception):
    """The runner is shutting down (or not started) and takes no new jobs."""


@dataclass(frozen=True)
class GainMapResult:
    """A finished inference: the encoded PNG and facts about the float gain map."""

    png: bytes
    gain: np.ndarray  # the float32 map, read-only; .npy bytes are made on request
    qmax: float
    width: int
    height: int
    bits: int
    gain_min: float
    gain_max: float
    clipped_fraction: float
    inference_seconds: float

    @property
    def npy(self) -> bytes:
        """The float32 gain map as a NumPy .npy file."""
        out = io.BytesIO()
        np.save(out, self.gain, allow_pickle=False)
        return out.getvalue()


@dataclass
class Job:
    """One unit of work. ``state`` moves queued -> running -> done | failed."""

    id: str
    image: np.ndarray | None
    bits: int
    created: float = field(default_factory=time.time)
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    result: GainMapResult | None = None
    error: str | None = None
    fetched: bool = False  # the finished job's status/result was returned to a client
    _callbacks: list[Callable[[Job], None]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_done_callback(self, callback: Callable[[Job], None]) -> None:
        """Call ``callback(job)`` once the job is done or failed (at once if it already is)."""
        with self._lock:
            if self.state not in ("done", "failed"):
                self._callbacks.append(callback)
                return
        callback(self)

    def _settle(self, result: GainMapResult | None, error: str | None) -> list[Callable[[Job], None]]:
        """Record the outcome; return the waiters to wake (see :meth:`_notify`)."""
        with self._lock:
            self.result, self.error = result, error
            self.state = "done" if error is None else "failed"
            self.finished = time.time()
            self.image = None  # release the decoded input
            callbacks, self._callbacks = self._callbacks, []
        return callbacks

    def _notify(self, callbacks: list[Callable[[Job], None]]) -> None:
        for callback in callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("job %s: done-callback failed", self.id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready status (without the PNG bytes)."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.state,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }
        if self.result is not None:
            r = self.result
            out.update(
                qmax=r.qmax,
                width=r.width,
                height=r.height,
                bits=r.bits,
                gain_min=r.gain_min,
                gain_max=r.gain_max,
                clipped_fraction=r.clipped_fraction,
                inference_seconds=r.inference_seconds,
            )
        if self.error is not None:
            out["error"] = self.error
        return out


def run_inference(predict: Predict, image: np.ndarray, bits: int) -> GainMapResult:
    """Run ``predict`` on a float image and encode its gain map; raise on a malformed result."""
    height, width = image.shape[:2]
    start = time.perf_counter()
    gain, qmax = predict(image)
    seconds = time.perf_counter() - start
    gain = np.asarray(gain, dtype=np.float32)
    if gain.shape != (height, width):
        raise ValueError(f"backend returned a gain map of shape {gain.shape}, expected {(height, width)}")
    qmax = float(qmax)
    if not np.isfinite(qmax) or not np.all(np.isfinite(gain)):
        raise ValueError("backend returned non-finite values")
    png = encode_gain_map(gain, qmax=qmax, bits=bits)
    gain = np.ascontiguousarray(gain)
    gain.flags.writeable = False
    clipped = float(np.count_nonzero((gain < 0.0) | (gain > 1.0))) / gain.size
    return GainMapResult(
        png=png,
        gain=gain,
        qmax=qmax,
        width=width,
        height=height,
        bits=bits,
        gain_min=float(gain.min()),
        gain_max=float(gain.max()),
        clipped_fraction=clipped,
        inference_seconds=seconds,
    )


class JobRunner:
    """Worker threads over a bounded queue, and an id -> Job store for async jobs."""

    def __init__(
        self,
        predict: Predict,
        *,
        workers: int,
        queue_size: int,
        max_jobs: int,
        job_ttl_seconds: float,
        on_finish: Callable[[Job, float], None] | None = None,
    ) -> None:
        self._predict = predict
        self._workers = workers
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._max_jobs, self._ttl = max_jobs, job_ttl_seconds
        self._on_finish = on_finish
        self._store: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unfinished = 0
        self._running = 0
        self._accepting = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker threads and begin accepting jobs."""
        for i in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"gmnet-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        with self._lock:
            self._accepting = True

    def close_and_drain(self, timeout: float) -> bool:
        """Stop accepting, wait up to ``timeout`` s for accepted jobs, stop the workers.

        Returns True when every accepted job finished.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._accepting = False
            while self._unfinished and time.monotonic() < deadline:
                self._idle.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            drained = self._unfinished == 0
        for _ in self._threads:
            try:
                self._queue.put(None, timeout=1.0)
            except queue.Full:
                break
        for thread in self._threads:
            thread.join(timeout=1.0 if drained else 0.1)
        return drained

    # -- admission -------------------------------------------------------------------------
    def submit(self, image: np.ndarray, bits: int, *, keep: bool) -> Job:
        """Queue ``image``; with ``keep`` the job is stored for GET /v1/jobs/{id}.

        Raises QueueFull, StoreFull (only with ``keep``) or NotAccepting.
        """
        job = Job(id=secrets.token_hex(16), image=image, bits=bits)
        with self._lock:
            if not self._accepting:
                raise NotAccepting("the service is shutting down")
            if keep:
                self._evict_locked(room=1)
                if len(self._store) >= self._max_jobs:
                    raise StoreFull(
                        f"all {self._max_jobs} job slots hold results not yet "
                        "collected; fetch them (GET /v1/jobs/{id}) or wait for "
                        "them to expire"
                    )
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull(f"the job queue is full ({self._queue.maxsize} waiting)") from None
            self._unfinished += 1
            if keep:
                self._store[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        """Return the stored async job, or None if unknown or expired."""
        with self._lock:
            self._evict_locked()
            return self._store.get(job_id)

    def _evict_locked(self, room: int = 0) -> None:
        """Drop expired finished jobs, then the oldest finished *and collected* ones beyond
        max_jobs - room. A result nobody has collected yet is only dropped by the TTL."""
        now = time.time()
        finished = [j for j in self._store.values() if j.finished is not None]
        for job in finished:
            if now - job.finished > self._ttl:  # type: ignore[operator]
                del self._store[job.id]
        excess = len(self._store) - (self._max_jobs - room)
        if excess > 0:
            collected = sorted(
                (j for j in self._store.values() if j.finished is not None and j.fetched),
                key=lambda j: j.finished or 0.0,  # never None here: filtered above
            )
            for job in collected[:excess]:
                del self._store[job.id]

    # -- gauges ----------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def in_progress(self) -> int:
        with self._lock:
            return self._running

    @property
    def unfinished(self) -> int:
        with self._lock:
            return self._unfinished

    # -- workers ---------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                self._running += 1
            job.state, job.started = "running", time.time()
            result, error = None, None
            try:
                assert job.image is not None
                result = run_inference(self._predict, job.image, job.bits)
            except Exception as exc:
                log.exception("job %s failed", job.id)
                error = f"inference failed: {type(exc).__name__}: {exc}"
            waiters = job._settle(result, error)
            if result is not None:
                log.info("job %s done: %dx%d in %.3f s", job.id, result.width, result.height, result.inference_seconds)
            # Count the outcome before waking the waiters: a waiter answers the client, who may
            # read /metrics at once and must already see this job counted.
            if self._on_finish is not None:
                try:
                    self._on_finish(job, result.inference_seconds if result else 0.0)
                except Exception:
                    log.exception("job %s: on_finish hook failed", job.id)
            job._notify(waiters)
            with self._lock:
                self._running -= 1
                self._unfinished -= 1
                self._idle.notify_all()
