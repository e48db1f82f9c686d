"""The GMNet HTTP service: Starlette routes on uvicorn (h11), inference in worker threads.

Endpoints (details and limits in ``reference_service/SERVER.md``):

- ``POST /v1/gainmap``: PNG/JPEG body in, gain-map PNG out (``X-Gainmap-Qmax`` header), or JSON
  with the PNG base64-encoded when ``?format=json`` or ``Accept: application/json``.
- ``POST /v1/jobs``: 202 with a job id; ``GET /v1/jobs/{id}`` status and result (JSON);
  ``GET /v1/jobs/{id}/result``: the finished gain-map PNG.
- ``GET /healthz``: 200 once the backend is loaded, 503 before.
- ``GET /metrics``: Prometheus text.

The event loop only parses requests and answers; decoding runs in a bounded thread pool and
inference in the :class:`~reference_service.jobs.JobRunner` worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics as metrics_mod
from .backends import load_backend
from .config import Settings
from .http_protocol import guarded_protocol
from .imaging import GAIN_MAP_BITS, ImageError, check_body_size, check_content_type, decode_image
from .jobs import GainMapResult, Job, JobRunner, NotAccepting, Predict, QueueFull, StoreFull
from .preprocess import crop_to, pad_to_even, to_thumbnail

log = logging.getLogger("reference_service.server")

# GMNet's backends need at least 16 x 16 pixels (two stride-2 stages plus 3x3 convolutions).
MIN_SIDE = 16
PILLOW_DEFAULT_MAX_PIXELS = 89_478_485
# nginx's code for "client closed the request": the client went away before the answer was ready.
# Counted like any status so dropped uploads show in the metrics and never as a 5xx.
CLIENT_CLOSED = 499
# png: the quantised gain map; json: the same PNG base64-encoded plus facts; npy: the float32 gain
# map losslessly, as a NumPy .npy file (what a client needs to compare backends exactly).
FORMATS = ("png", "json", "npy")

BackendLoader = Callable[[Settings], Any]


def load_configured_backend(settings: Settings) -> Any:
    """Load the backend named in ``settings`` (`load_backend` imports the runtime then)."""
    return load_backend(settings.backend, checkpoint=settings.checkpoint, onnx_path=settings.onnx_path)


def make_predict(backend: Any) -> Predict:
    """Wrap ``backend.predict`` with the model-side preprocessing: thumbnail, even padding, crop."""

    def predict(image: np.ndarray) -> tuple[np.ndarray, float]:
        thumbnail = to_thumbnail(image)
        padded, size = pad_to_even(image)
        gain_map, qmax = backend.predict(padded, thumbnail)
        return np.ascontiguousarray(crop_to(gain_map, size)), qmax

    return predict


class ServiceState:
    """Everything the routes share: settings, the runner once loaded, metrics."""

    def __init__(self, settings: Settings, loader: BackendLoader) -> None:
        self.settings = settings
        self.loader = loader
        self.backend_name = settings.backend
        self.runner: JobRunner | None = None
        self.ready = threading.Event()
        self.load_error: str | None = None
        self.drain_incomplete = False
        self.on_fatal: Callable[[], None] = lambda: None
        self.loader_thread: threading.Thread | None = None
        self.decode_limiter = anyio.CapacityLimiter(max(2, settings.workers + 1))
        self.metrics = metrics_mod.ServiceMetrics(
            queue_depth=lambda: self.runner.queue_depth if self.runner else 0,
            in_progress=lambda: self.runner.in_progress if self.runner else 0,
            ready=lambda: 1.0 if self.ready.is_set() else 0.0,
        )
        self.metrics.queue_capacity.set(settings.queue_size)
        self.metrics.workers.set(settings.workers)

    def load(self) -> None:
        """Load the backend and start the workers (runs in a background thread)."""
        started = time.perf_counter()
        try:
            backend = self.loader(self.settings)
            self.backend_name = getattr(backend, "name", self.settings.backend)
            runner = JobRunner(
                make_predict(backend),
                workers=self.settings.workers,
                queue_size=self.settings.queue_size,
                max_jobs=self.settings.max_jobs,
                job_ttl_seconds=self.settings.job_ttl_seconds,
                on_finish=self._job_finished,
            )
            runner.start()
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("backend %s failed to load: %s", self.settings.backend, self.load_error)
            self.on_fatal()
            return
        self.runner = runner
        self.ready.set()
        log.info(
            "backend %s loaded in %.2f s; %d worker(s), queue of %d; ready",
            self.backend_name,
            time.perf_counter() - started,
            self.settings.workers,
            self.settings.queue_size,
        )

    def _job_finished(self, job: Job, seconds: float) -> None:
        if job.state == "done":
            self.metrics.jobs.inc(outcome="completed")
            self.metrics.inference.observe(seconds, backend=self.backend_name)
        else:
            self.metrics.jobs.inc(outcome="failed")
            self.metrics.errors.inc(code="inference_failed")


# -- responses --------------------------------------------------------------------------------
def error_response(
    state: ServiceState, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error body ``{"error", "message", "status"}``, counted in gmnet_errors_total."""
    state.metrics.errors.inc(code=code)
    return JSONResponse({"error": code, "message": message, "status": status}, status_code=status, headers=headers)


def _result_headers(result: GainMapResult, backend: str) -> dict[str, str]:
    return {
        "X-Gainmap-Qmax": repr(result.qmax),
        "X-Gainmap-Min": repr(result.gain_min),
        "X-Gainmap-Max": repr(result.gain_max),
        "X-Gainmap-Bits": str(result.bits),
        "X-Inference-Seconds": f"{result.inference_seconds:.4f}",
        "X-Backend": backend,
    }


def _result_json(result: GainMapResult, backend: str) -> dict[str, Any]:
    return {
        "qmax": result.qmax,
        "width": result.width,
        "height": result.height,
        "bits": result.bits,
        "gain_min": result.gain_min,
        "gain_max": result.gain_max,
        "clipped_fraction": result.clipped_fraction,
        "inference_seconds": result.inference_seconds,
        "backend": backend,
        "png_base64": base64.b64encode(result.png).decode("ascii"),
    }


# -- request parsing ------------------------------------------------------------------------
class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _options(request: Request) -> tuple[str, int]:
    """Return (format, bits) from the query and Accept header; raise BadRequest."""
    fmt = request.query_params.get("format")
    if fmt is None:
        accept = request.headers.get("accept", "")
        fmt = "json" if "application/json" in accept and "image/png" not in accept else "png"
    if fmt not in FORMATS:
        raise BadRequest(400, "bad_parameter", f"format={fmt!r}: use one of {', '.join(FORMATS)}")
    raw_bits = request.query_params.get("bits", "16")
    if raw_bits not in {str(b) for b in GAIN_MAP_BITS}:
        raise BadRequest(400, "bad_parameter", f"bits={raw_bits!r}: use 8 or 16")
    return fmt, int(raw_bits)


class ClientGone(Exception):
    """The client closed the connection before the answer was ready (answered 499)."""


async def _read_body(request: Request, max_bytes: int, idle_timeout: float) -> bytes:
    """Read the body, refusing (413) by Content-Length first and by counted bytes second.

    Raises BadRequest(408) when no body bytes arrive for ``idle_timeout`` seconds and
    :class:`ClientGone` when the client disconnects mid-upload.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        check_body_size(int(declared), max_bytes)
    chunks: list[bytes] = []
    total = 0
    stream = request.stream()
    try:
        while True:
            with anyio.fail_after(idle_timeout):
                chunk = await anext(stream, None)
            if chunk is None:
                break
            total += len(chunk)
            check_body_size(total, max_bytes)  # chunked uploads have no Content-Length
            chunks.append(chunk)
    except TimeoutError:
        raise BadRequest(408, "body_timeout", f"no request body bytes for {idle_timeout:g} s") from None
    except ClientDisconnect:
        raise ClientGone() from None
    return b"".join(chunks)


async def _accept_image(request: Request, state: ServiceState, *, keep: bool) -> Job:
    """Validate, read and decode the upload, then queue it. Raises ImageError/BadRequest."""
    if not state.ready.is_set() or state.runner is None:
        raise BadRequest(503, "not_ready", "the backend is still loading; retry shortly")
    check_content_type(request.headers.get("content-type"))
    body = await _read_body(request, state.settings.max_body_bytes, state.settings.body_timeout_seconds)
    image = await anyio.to_thread.run_sync(decode_image, body, state.settings.max_pixels, limiter=state.decode_limiter)
    height, width = image.shape[:2]
    if height < MIN_SIDE or width < MIN_SIDE:
        raise ImageError(422, "image_too_small", f"image is {width}x{height}; both sides must be at least {MIN_SIDE}")
    _, bits = _options(request)
    try:
        job = state.runner.submit(image, bits, keep=keep)
    except QueueFull as exc:
        state.metrics.jobs.inc(outcome="rejected_queue_full")
        raise BadRequest(429, "queue_full", str(exc)) from None
    except StoreFull as exc:
        state.metrics.jobs.inc(outcome="rejected_store_full")
        raise BadRequest(429, "job_store_full", str(exc)) from None
    except NotAccepting as exc:
        raise BadRequest(503, "shutting_down", str(exc)) from None
    state.metrics.jobs.inc(outcome="accepted")
    return job


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


# -- routes -----------------------------------------------------------------------------------
def _refusal(state: ServiceState, exc: ImageError | BadRequest) -> JSONResponse:
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    if exc.status == 408:
        headers = {"Connection": "close"}  # the rest of the body is not worth waiting for
    return error_response(state, exc.status, exc.code, exc.message, headers)


def _client_gone(state: ServiceState, request: Request, when: str) -> Response:
    log.info("%s %s: client disconnected %s", request.method, request.url.path, when)
    return error_response(state, CLIENT_CLOSED, "client_disconnected", f"client disconnected {when}")


async def _until_disconnected(request: Request) -> None:
    """Return once the client has closed the connection (the body is already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _finished_or_gone(request: Request, job: Job) -> bool:
    """Wait for ``job``; True when it finished, False when the client disconnected first (the job
    still runs to completion: a running inference cannot be interrupted)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Job] = loop.create_future()

    def finish(j: Job) -> None:
        if not done.done():
            done.set_result(j)

    def on_done(j: Job) -> None:  # runs on the worker thread
        loop.call_soon_threadsafe(finish, j)

    job.add_done_callback(on_done)
    gone: asyncio.Future[None] = asyncio.ensure_future(_until_disconnected(request))
    waiters: set[asyncio.Future[Any]] = {done, gone}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    return done.done()


async def gainmap(request: Request) -> Response:
    """POST /v1/gainmap: synchronous inference."""
    state = _state(request)
    try:
        fmt, _ = _options(request)
        job = await _accept_image(request, state, keep=False)
    except (ImageError, BadRequest) as exc:
        return _refusal(state, exc)
    except ClientGone:
        return _client_gone(state, request, "mid-upload")
    if not await _finished_or_gone(request, job):
        return _client_gone(state, request, "while waiting for inference")
    if job.result is None:
        return error_response(state, 500, "inference_failed", job.error or "inference failed")
    if fmt == "json":
        return JSONResponse(_result_json(job.result, state.backend_name))
    if fmt == "npy":
        return Response(
            job.result.npy, media_type="application/x-npy", headers=_result_headers(job.result, state.backend_name)
        )
    return Response(job.result.png, media_type="image/png", headers=_result_headers(job.result, state.backend_name))


async def create_job(request: Request) -> Response:
    """POST /v1/jobs: queue and answer 202 at once."""
    state = _state(request)
    try:
        _options(request)
        job = await _accept_image(request, state, keep=True)
    except (ImageError, BadRequest) as exc:
        return _refusal(state, exc)
    except ClientGone:
        return _client_gone(state, request, "mid-upload")
    href = f"/v1/jobs/{job.id}"
    return JSONResponse({"id": job.id, "status": job.state, "href": href}, status_code=202, headers={"Location": href})


def _find_job(request: Request) -> tuple[ServiceState, Job | None]:
    state = _state(request)
    job_id = request.path_params["job_id"]
    job = state.runner.get(job_id) if state.runner is not None else None
    return state, job


async def get_job(request: Request) -> Response:
    """GET /v1/jobs/{id}: status, and the result (base64 PNG) once done."""
    state, job = _find_job(request)
    if job is None:
        return error_response(state, 404, "job_not_found", "no such job (unknown id, or expired after GMNET_JOB_TTL)")
    body = job.to_dict()
    if job.state in ("done", "failed"):
        job.fetched = True  # collected: may now be evicted to make room
    if job.result is not None:
        body["result"] = _result_json(job.result, state.backend_name)
        body["result_href"] = f"/v1/jobs/{job.id}/result"
    return JSONResponse(body)


async def get_job_result(request: Request) -> Response:
    """GET /v1/jobs/{id}/result: the gain-map PNG, or ``?format=npy`` float32 (409 if not done)."""
    state, job = _find_job(request)
    fmt = request.query_params.get("format", "png")
    if fmt not in ("png", "npy"):
        return error_response(state, 400, "bad_parameter", f"format={fmt!r}: use png or npy")
    if job is None:
        return error_response(state, 404, "job_not_found", "no such job (unknown id, or expired after GMNET_JOB_TTL)")
    if job.state == "failed":
        return error_response(state, 409, "job_failed", job.error or "inference failed")
    if job.result is None:
        return error_response(state, 409, "job_not_done", f"job is {job.state}", {"Retry-After": "1"})
    job.fetched = True
    if fmt == "npy":
        return Response(
            job.result.npy, media_type="application/x-npy", headers=_result_headers(job.result, state.backend_name)
        )
    return Response(job.result.png, media_type="image/png", headers=_result_headers(job.result, state.backend_name))


async def healthz(request: Request) -> Response:
    """GET /healthz: 200 when the backend is loaded, else 503."""
    state = _state(request)
    if state.ready.is_set() and state.runner is not None:
        return JSONResponse(
            {
                "status": "ok",
                "backend": state.backend_name,
                "queue_depth": state.runner.queue_depth,
                "queue_capacity": state.settings.queue_size,
                "in_progress": state.runner.in_progress,
            }
        )
    status = "failed" if state.load_error else "loading"
    return JSONResponse(
        {"status": status, "backend": state.settings.backend, "error": state.load_error},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def metrics(request: Request) -> Response:
    """GET /metrics: Prometheus text exposition."""
    return Response(_state(request).metrics.render(), media_type=metrics_mod.CONTENT_TYPE)


ROUTES = [
    Route("/v1/gainmap", gainmap, methods=["POST"]),
    Route("/v1/jobs", create_job, methods=["POST"]),
    Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/v1/jobs/{job_id}/result", get_job_result, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]


class MetricsMiddleware:
    """Pure ASGI middleware: per-route request counts, latency and one access-log line.

    The request is counted when its last response byte is handed to the server (before the
    client can read it, so a client that reads /metrics next sees it), or, if no response is
    sent, when the application returns.
    """

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app, self.state = app, state
        self.route_of: dict[object, str] = {route.endpoint: route.path for route in ROUTES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        recorded = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            elapsed = time.perf_counter() - started
            route = self.route_of.get(scope.get("endpoint"), "other")
            m = self.state.metrics
            m.requests.inc(route=route, method=scope["method"], status=str(status["code"]))
            m.latency.observe(elapsed, route=route)
            log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status["code"], elapsed * 1000)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            record()


class AdmissionMiddleware:
    """Bounds uploads in flight (POST requests being read, decoded or waiting for inference).

    Each upload may hold up to GMNET_MAX_BODY_BYTES of body in memory; beyond
    ``settings.max_uploads`` a new POST is answered 503 at once, before its body is read. Other
    requests (/healthz, /metrics, job status) hold no body and are not limited here.
    """

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app, self.state = app, state
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        limit = self.state.settings.max_uploads
        if self.in_flight >= limit:
            self.state.metrics.errors.inc(code="too_many_uploads")
            response = JSONResponse(
                {
                    "error": "too_many_uploads",
                    "status": 503,
                    "message": f"{limit} uploads are already in progress; retry shortly",
                },
                status_code=503,
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _not_found(request: Request, exc: Exception) -> Response:
    code = getattr(exc, "status_code", 404)
    name = "method_not_allowed" if code == 405 else "not_found"
    return error_response(
        _state(request),
        code,
        name,
        f"{request.method} {request.url.path}: {'method not allowed' if code == 405 else 'no such endpoint'}",
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(_state(request), 500, "internal_error", "internal server error")


def create_app(
    settings: Settings, loader: BackendLoader = load_configured_backend
) -> tuple[MetricsMiddleware, ServiceState]:
    """Build the ASGI application; returns (app, state). The backend loads at lifespan start."""
    state = ServiceState(settings, loader)

    @asynccontextmanager
    async def lifespan(_app: Starlette):  # type: ignore[no-untyped-def]
        state.loader_thread = threading.Thread(target=state.load, name="gmnet-backend-loader", daemon=True)
        state.loader_thread.start()
        yield
        runner = state.runner
        if runner is not None:
            pending = runner.unfinished
            log.info("shutting down: finishing %d accepted job(s)", pending)
            drained = await anyio.to_thread.run_sync(runner.close_and_drain, settings.drain_timeout_seconds)
            if not drained:
                state.drain_incomplete = True
                log.error(
                    "shutdown: %d accepted job(s) unfinished after %.0f s",
                    runner.unfinished,
                    settings.drain_timeout_seconds,
                )
            else:
                log.info("shutdown: all accepted jobs finished")

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_found, Exception: _internal_error},
    )
    app.state.service = state
    return MetricsMiddleware(AdmissionMiddleware(app, state), state), state


def _configure_pillow(max_pixels: int) -> None:
    # Our header check (imaging.open_checked) is the limit; keep Pillow's own bomb check from
    # refusing images the operator allowed, and silence its warning for sizes we refuse anyway.
    Image.MAX_IMAGE_PIXELS = max(max_pixels, PILLOW_DEFAULT_MAX_PIXELS)
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)


def _settle_backend(state: ServiceState) -> None:
    """Let a model load that is still running finish before the interpreter exits.

    Exiting while a native runtime is mid-load (e.g. bind failed, or SIGTERM during start-up)
    aborts the process ("terminate called without an active exception") instead of exiting with
    the documented code.
    """
    if state.loader_thread is not None:
        state.loader_thread.join(timeout=300)
    if state.runner is not None and state.runner.unfinished == 0:
        state.runner.close_and_drain(0)


def serve(settings: Settings, loader: BackendLoader = load_configured_backend) -> int:
    """Run the service until SIGTERM/SIGINT; return the process exit code.

    0 clean shutdown (all accepted jobs finished), 1 drain timed out, 3 backend failed to load,
    4 could not bind or serve.
    """
    # onnxruntime >= 1.2x writes a device id and a telemetry store under
    # $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime on import unless this is set; the service
    # must run on a read-only filesystem. An explicit ORT_DISABLE_TELEMETRY=0 still wins.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    _configure_pillow(settings.max_pixels)
    app, state = create_app(settings, loader)
    protocol = guarded_protocol(
        header_timeout=settings.header_timeout_seconds,
        max_connections=settings.max_connections,
        on_drop=lambda reason: state.metrics.dropped.inc(reason=reason),
    )
    # Connection limits live in the protocol (open connections) and AdmissionMiddleware
    # (uploads in flight), not in uvicorn's limit_concurrency, which counts idle and half-open
    # connections too and so lets slow clients starve /healthz.
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_keep_alive=5,
        http=protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    server = uvicorn.Server(config)
    state.on_fatal = lambda: setattr(server, "should_exit", True)
    # uvicorn re-raises the captured signal after a graceful shutdown; with a no-op handler in
    # place that re-raise is harmless and the process exits 0 instead of dying by SIGTERM.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        server.run()
    except SystemExit as exc:
        if exc.code not in (0, None):
            log.error("server could not start on %s:%d", settings.host, settings.port)
            return 4
    finally:
        _settle_backend(state)
    if state.drain_incomplete:
        return 1
    if state.load_error:
        return 3
    return 0
