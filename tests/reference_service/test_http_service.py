"""The HTTP service end to end: the real server in a subprocess on 127.0.0.1, the real ONNX Runtime
backend, a real HTTP client.

A fault-injecting launcher (gmnet_fault_launcher.py: a slow loader, a backend that raises for one
image width) is used only where the real backend cannot produce the fault on demand; each such
test says so. Queue-full (429) is produced for real, by concurrent 384x384 requests.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from gmnet_server_fixtures import (
    REPO,
    bomb_png,
    jpeg_bytes,
    metric,
    png_bytes,
    rgb_array,
    start_service,
    truncated,
    vm_hwm_kib,
)
from PIL import Image

from reference_service.imaging import decode_gain_map_png, decode_image

LAUNCHER = Path(__file__).with_name("gmnet_fault_launcher.py")
MAX_BODY = 2_000_000
MAX_PIXELS = 1024 * 1024
PNG = {"content-type": "image/png"}


@pytest.fixture(scope="module")
def server():
    with start_service(
        GMNET_MAX_BODY_BYTES=str(MAX_BODY), GMNET_MAX_PIXELS=str(MAX_PIXELS), GMNET_QUEUE_SIZE="8"
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def reference_predict():
    from reference_service.backends import load_backend
    from reference_service.server import make_predict

    return make_predict(load_backend("onnxruntime"))


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert body["status"] == response.status_code and body["message"]
    return body["error"]


# -- the happy path ---------------------------------------------------------------------------
def test_healthz_is_ready_with_the_onnxruntime_backend(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["backend"] == "onnxruntime"


def test_gainmap_png_matches_the_backend_called_directly(client, reference_predict):
    data = png_bytes(rgb_array(64, 48))
    response = client.post("/v1/gainmap", content=data, headers=PNG)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    gain_png, qmax_png = decode_gain_map_png(response.content)
    assert gain_png.shape == (48, 64)
    expected_gain, expected_qmax = reference_predict(decode_image(data, MAX_PIXELS))
    assert float(response.headers["x-gainmap-qmax"]) == pytest.approx(expected_qmax, rel=1e-5)
    assert qmax_png == pytest.approx(expected_qmax, rel=1e-5)
    np.testing.assert_allclose(gain_png, np.clip(expected_gain, 0, 1), atol=1 / 65535)
    # the lossless variant carries the float map itself
    raw = client.post("/v1/gainmap?format=npy", content=data, headers=PNG)
    assert raw.status_code == 200
    served = np.load(io.BytesIO(raw.content), allow_pickle=False)
    assert served.dtype == np.float32 and served.shape == (48, 64)
    np.testing.assert_allclose(served, expected_gain, rtol=1e-4, atol=1e-4 * float(np.abs(expected_gain).max()))
    assert float(raw.headers["x-gainmap-min"]) == pytest.approx(float(served.min()), rel=1e-6)


@pytest.mark.parametrize("how", ["query", "accept"])
def test_json_variant(client, how):
    data = png_bytes(rgb_array(40, 32, seed=5))
    if how == "query":
        response = client.post("/v1/gainmap?format=json", content=data, headers=PNG)
    else:
        response = client.post("/v1/gainmap", content=data, headers={**PNG, "accept": "application/json"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["width"], body["height"], body["bits"], body["backend"]) == (40, 32, 16, "onnxruntime")
    gain, qmax = decode_gain_map_png(base64.b64decode(body["png_base64"]))
    assert gain.shape == (32, 40) and qmax == pytest.approx(body["qmax"])
    assert body["gain_min"] <= body["gain_max"]


def test_eight_bit_output(client):
    response = client.post("/v1/gainmap?bits=8", content=png_bytes(rgb_array(32, 32)), headers=PNG)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "L" and image.size == (32, 32)
    assert response.headers["x-gainmap-bits"] == "8"


def test_odd_sizes_come_back_at_their_own_size(client):
    response = client.post("/v1/gainmap", content=png_bytes(rgb_array(33, 47)), headers=PNG)
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (33, 47)


def test_jpeg_and_grayscale_and_rgba_are_accepted(client):
    gray = rgb_array(24, 20)[:, :, 0]
    rgba = np.dstack([rgb_array(20, 24), np.full((24, 20), 128, np.uint8)])
    for data, size in [
        (jpeg_bytes(rgb_array(48, 32)), (48, 32)),
        (png_bytes(gray), (24, 20)),
        (png_bytes(rgba), (20, 24)),
    ]:
        response = client.post("/v1/gainmap", content=data, headers={"content-type": "application/octet-stream"})
        assert response.status_code == 200, response.text
        assert Image.open(io.BytesIO(response.content)).size == size


# -- hostile and invalid requests --------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["/v1/gainmap", "/v1/jobs"])
@pytest.mark.parametrize(
    "body,headers,status,code",
    [
        (b"", PNG, 400, "empty_body"),
        (b"this is not an image", {"content-type": "application/octet-stream"}, 415, "unsupported_image_type"),
        (png_bytes(rgb_array(32, 32)), {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (truncated(png_bytes(rgb_array(64, 64))), PNG, 400, "corrupt_image"),
        (truncated(jpeg_bytes(rgb_array(64, 64))), {"content-type": "image/jpeg"}, 400, "corrupt_image"),
        (bomb_png(30000, 30000), PNG, 413, "image_too_large"),
        (bomb_png(1025, 1024), PNG, 413, "image_too_large"),
        (png_bytes(rgb_array(8, 40)), PNG, 422, "image_too_small"),
        (b"\0" * (MAX_BODY + 1), PNG, 413, "body_too_large"),
    ],
)
def test_bad_uploads_get_a_clear_4xx(client, endpoint, body, headers, status, code):
    response = client.post(endpoint, content=body, headers=headers)
    assert response.status_code == status
    assert error_of(response) == code


def test_chunked_body_over_the_limit_is_413(client):
    def chunks():  # no Content-Length: the server has to count
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"\0" * 65536

    response = client.post("/v1/gainmap", content=chunks(), headers=PNG)
    assert response.status_code == 413 and error_of(response) == "body_too_large"


def test_decompression_bomb_costs_no_memory(server, client):
    before = vm_hwm_kib(server.proc.pid)
    for _ in range(3):
        assert client.post("/v1/gainmap", content=bomb_png(30000, 30000), headers=PNG).status_code == 413
    assert vm_hwm_kib(server.proc.pid) - before < 100 * 1024  # a decode would be 2.7 GB


@pytest.mark.parametrize("query", ["format=gif", "bits=12", "bits=abc"])
def test_bad_parameters_are_400(client, query):
    response = client.post(f"/v1/gainmap?{query}", content=png_bytes(rgb_array(32, 32)), headers=PNG)
    assert response.status_code == 400 and error_of(response) == "bad_parameter"


def test_unknown_route_and_wrong_method(client):
    assert client.get("/nope").status_code == 404
    response = client.get("/v1/gainmap")
    assert response.status_code == 405 and error_of(response) == "method_not_allowed"


# -- async jobs -------------------------------------------------------------------------------
def poll(client: httpx.Client, href: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(href).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{href} not finished after {timeout} s")


def test_job_flow(client, reference_predict):
    data = png_bytes(rgb_array(256, 256, seed=9))
    response = client.post("/v1/jobs?bits=8", content=data, headers=PNG)
    assert response.status_code == 202
    created = response.json()
    href = created["href"]
    assert response.headers["location"] == href and created["status"] in ("queued", "running")
    early = client.get(href + "/result")  # 256x256 takes hundreds of ms: not done yet
    assert early.status_code == 409 and error_of(early) == "job_not_done"
    body = poll(client, href)
    assert body["status"] == "done"
    assert (body["width"], body["height"], body["bits"]) == (256, 256, 8)
    assert body["started"] >= body["created"] and body["finished"] >= body["started"]
    result = client.get(href + "/result")
    assert result.status_code == 200 and result.headers["content-type"] == "image/png"
    assert base64.b64decode(body["result"]["png_base64"]) == result.content
    raw = client.get(href + "/result?format=npy")
    served = np.load(io.BytesIO(raw.content), allow_pickle=False)
    expected, qmax = reference_predict(decode_image(data, MAX_PIXELS))
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))
    assert body["qmax"] == pytest.approx(qmax, rel=1e-5)


def test_unknown_job_is_404(client):
    for href in ("/v1/jobs/0123456789abcdef", "/v1/jobs/0123456789abcdef/result"):
        response = client.get(href)
        assert response.status_code == 404 and error_of(response) == "job_not_found"


# -- metrics ----------------------------------------------------------------------------------
def test_metrics_count_requests_errors_and_latency(client):
    before = client.get("/metrics").text
    client.post("/v1/gainmap", content=png_bytes(rgb_array(32, 32)), headers=PNG)
    client.post("/v1/gainmap", content=b"", headers=PNG)
    client.post("/v1/gainmap", content=bomb_png(), headers=PNG)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = response.text
    route = {"route": "/v1/gainmap", "method": "POST"}

    def delta(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("gmnet_http_requests_total", **route, status="200") == 1
    assert delta("gmnet_http_requests_total", **route, status="400") == 1
    assert delta("gmnet_http_requests_total", **route, status="413") == 1
    assert delta("gmnet_errors_total", code="empty_body") == 1
    assert delta("gmnet_errors_total", code="image_too_large") == 1
    assert delta("gmnet_jobs_total", outcome="completed") == 1
    assert delta("gmnet_http_request_duration_seconds_count", route="/v1/gainmap") == 3
    assert delta("gmnet_inference_duration_seconds_count", backend="onnxruntime") == 1
    assert metric(after, "gmnet_http_request_duration_seconds_bucket", route="/v1/gainmap", le="+Inf") == metric(
        after, "gmnet_http_request_duration_seconds_count", route="/v1/gainmap"
    )
    for gauge in ("gmnet_queue_depth", "gmnet_jobs_in_progress", "gmnet_ready", "gmnet_queue_capacity"):
        assert re.search(rf"^{gauge} \d+$", after, re.M), gauge
    assert metric(after, "gmnet_ready") == 1 and metric(after, "gmnet_queue_capacity") == 8


# -- queue full, shutdown, faults, deployment conditions ---------------------------------------
def test_full_queue_answers_429_and_every_accepted_request_completes():
    data = png_bytes(rgb_array(384, 384, seed=1))
    with start_service(GMNET_QUEUE_SIZE="1", GMNET_WORKERS="1") as srv:

        def post(_):
            return httpx.post(srv.url + "/v1/gainmap", content=data, headers=PNG, timeout=120)

        with ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(post, range(6)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) == {200, 429} and 1 <= codes.count(200) <= 3, codes
        rejected = [r for r in responses if r.status_code == 429]
        assert all(error_of(r) == "queue_full" and r.headers["retry-after"] for r in rejected)
        text = httpx.get(srv.url + "/metrics").text
        assert metric(text, "gmnet_jobs_total", outcome="rejected_queue_full") == len(rejected)
        assert metric(text, "gmnet_jobs_total", outcome="completed") == codes.count(200)
        assert httpx.get(srv.url + "/healthz").status_code == 200


def test_results_not_yet_collected_are_never_evicted():
    with (
        start_service(GMNET_QUEUE_SIZE="1", GMNET_WORKERS="1", GMNET_MAX_JOBS="2") as srv,
        httpx.Client(base_url=srv.url, timeout=120) as c,
    ):
        data = png_bytes(rgb_array(32, 32))
        hrefs = []
        for _ in range(2):
            hrefs.append(c.post("/v1/jobs", content=data, headers=PNG).json()["href"])
            deadline = time.monotonic() + 60  # wait via /metrics: a GET would collect it
            while metric(c.get("/metrics").text, "gmnet_jobs_total", outcome="completed") < len(hrefs):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        refused = c.post("/v1/jobs", content=data, headers=PNG)
        assert refused.status_code == 429 and error_of(refused) == "job_store_full"
        assert c.post("/v1/gainmap", content=data, headers=PNG).status_code == 200
        assert poll(c, hrefs[0])["status"] == "done"  # collecting one frees its slot
        accepted = c.post("/v1/jobs", content=data, headers=PNG)
        assert accepted.status_code == 202
        assert c.get(hrefs[0]).status_code == 404  # the collected one made room
        assert poll(c, hrefs[1])["status"] == "done"
        assert poll(c, accepted.json()["href"])["status"] == "done"


def test_sigterm_stops_accepting_and_finishes_accepted_jobs():
    data = png_bytes(rgb_array(320, 320, seed=2))
    srv = start_service(GMNET_QUEUE_SIZE="8")
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            ids = [c.post("/v1/jobs", content=data, headers=PNG).json()["id"] for _ in range(3)]
        sync_result: dict = {}

        def sync_request():
            sync_result["response"] = httpx.post(srv.url + "/v1/gainmap", content=data, headers=PNG, timeout=120)

        waiter = threading.Thread(target=sync_request)
        waiter.start()
        deadline = time.monotonic() + 60  # wait until the synchronous request is admitted too
        while metric(httpx.get(srv.url + "/metrics").text, "gmnet_jobs_total", outcome="accepted") < 4:
            assert time.monotonic() < deadline, "the synchronous request was never admitted"
            time.sleep(0.05)
        srv.proc.send_signal(15)
        time.sleep(0.5)
        assert srv.proc.poll() is None, "exited before finishing the accepted work"
        with pytest.raises(httpx.TransportError):  # the listening socket is closed
            httpx.get(srv.url + "/healthz", timeout=2)
        waiter.join(timeout=120)
        assert sync_result["response"].status_code == 200
        assert srv.proc.wait(timeout=120) == 0
        log = srv.log()
        for job_id in ids:
            assert f"job {job_id} done" in log
        assert "all accepted jobs finished" in log
        assert "Traceback" not in log
    finally:
        srv.stop()


def test_a_backend_exception_fails_one_request_not_the_service():
    # Fault injection: the real backend cannot be made to raise; the launcher wraps it so that
    # images exactly 24 pixels wide raise, and everything else runs on real ONNX Runtime.
    with (
        start_service(launcher=LAUNCHER, GMNET_FAULT_RAISE_WIDTH="24") as srv,
        httpx.Client(base_url=srv.url, timeout=120) as c,
    ):
        bad = png_bytes(rgb_array(24, 32))
        response = c.post("/v1/gainmap", content=bad, headers=PNG)
        assert response.status_code == 500 and error_of(response) == "inference_failed"
        assert "injected fault" in response.json()["message"]
        job = c.post("/v1/jobs", content=bad, headers=PNG).json()
        body = poll(c, job["href"])
        assert body["status"] == "failed" and "injected fault" in body["error"]
        assert c.get(job["href"] + "/result").status_code == 409
        assert c.post("/v1/gainmap", content=png_bytes(rgb_array(32, 32)), headers=PNG).status_code == 200
        text = c.get("/metrics").text
        assert metric(text, "gmnet_jobs_total", outcome="failed") == 2
        assert metric(text, "gmnet_errors_total", code="inference_failed") >= 2


def test_healthz_is_503_until_the_backend_is_loaded():
    # Fault injection: the real ORT load takes ~0.3 s, too short to observe; the launcher delays
    # the (real) load by 3 s.
    srv = start_service(launcher=LAUNCHER, ready=False, GMNET_FAULT_LOAD_DELAY="3")
    try:
        deadline = time.monotonic() + 30
        seen_503 = False
        while time.monotonic() < deadline:
            try:
                response = httpx.get(srv.url + "/healthz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code == 503 and not seen_503:
                seen_503 = True  # first answer: the 3 s load delay has barely started
                assert response.json()["status"] == "loading"
                early = httpx.post(srv.url + "/v1/gainmap", content=png_bytes(rgb_array(32, 32)), headers=PNG)
                assert early.status_code == 503 and error_of(early) == "not_ready"
            elif response.status_code == 200:
                break
            time.sleep(0.1)
        assert seen_503 and response.status_code == 200
    finally:
        assert srv.stop() == 0


def test_sigterm_while_the_backend_loads_exits_0():
    # Fault injection: a 2 s delay before the real load gives a window to signal "mid-load".
    srv = start_service(launcher=LAUNCHER, ready=False, GMNET_FAULT_LOAD_DELAY="2")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(srv.url + "/healthz", timeout=2).status_code == 503:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        srv.proc.send_signal(15)
        assert srv.proc.wait(timeout=60) == 0, srv.log()
        assert "terminate called" not in srv.log()
    finally:
        srv.stop()


def test_an_unloadable_model_exits_3(tmp_path: Path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"definitely not an onnx protobuf")
    srv = start_service(ready=False, GMNET_ONNX=str(broken))
    try:
        assert srv.proc.wait(timeout=60) == 3
        assert "backend onnxruntime failed to load" in srv.log()
    finally:
        srv.stop()


def test_a_busy_port_exits_4_and_logs_only_to_stderr():
    from gmnet_server_fixtures import service_env

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "reference_service"],
            cwd=REPO,
            env=service_env(port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 4
    assert proc.stdout == ""
    assert "address already in use" in proc.stderr.lower()
    assert f"server could not start on 127.0.0.1:{port}" in proc.stderr


READONLY_RUN = Path(__file__).with_name("gmnet_readonly_run.py")
NAMESPACE = ["unshare", "--mount", "--propagation", "private", "--"]


def _readonly_unavailable() -> str | None:
    """Why the read-only, non-root run cannot be staged here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root to create a mount namespace and switch to user nobody"
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return "needs util-linux unshare and setpriv"
    if subprocess.run([*NAMESPACE, "true"], capture_output=True).returncode != 0:
        return "mount namespaces are not permitted here (unshare --mount failed)"
    return None


@pytest.mark.skipif(_readonly_unavailable() is not None, reason=str(_readonly_unavailable()))
def test_runs_as_nobody_on_a_read_only_filesystem(tmp_path: Path):
    # Every mount is read-only inside the server's mount namespace, with a tmpfs on /tmp (the
    # docker run --read-only --tmpfs /tmp situation); the model is a root-owned 0444 copy in a
    # 0555 directory that is also HOME and the working directory.
    from reference_service.backends import DEFAULT_ONNX

    models = tmp_path / "models"
    models.mkdir()
    model = models / "gmnet.onnx"
    shutil.copy(DEFAULT_ONNX, model)
    model.chmod(0o444)
    models.chmod(0o555)
    # A checkout or venv under /tmp (CI clones land anywhere) would vanish under the new tmpfs: expose it.
    exposed = [models] + [
        p for p in (Path(__file__).resolve().parents[2], Path(sys.prefix).resolve()) if str(p).startswith("/tmp/")
    ]
    flags = [arg for path in exposed for arg in ("--expose", str(path))]
    prefix = [*NAMESPACE, sys.executable, str(READONLY_RUN), *flags, "--"]
    srv = start_service(prefix=prefix, cwd=models, GMNET_ONNX=str(model), HOME=str(models))
    try:
        status = Path(f"/proc/{srv.proc.pid}/status").read_text()
        assert re.search(r"^Uid:\s+65534\s", status, re.M), "server is not running as nobody"
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            response = c.post("/v1/gainmap", content=png_bytes(rgb_array(64, 64)), headers=PNG)
            assert response.status_code == 200
            job = c.post("/v1/jobs", content=png_bytes(rgb_array(32, 32)), headers=PNG).json()
            assert poll(c, job["href"])["status"] == "done"
    finally:
        code = srv.stop()
        models.chmod(0o755)
    log = srv.log()
    assert code == 0, log
    assert sorted(p.name for p in models.iterdir()) == ["gmnet.onnx"]
    for symptom in ("Read-only file system", "Permission denied", "Failed to persist", "Traceback"):
        assert symptom not in log, log


def test_tinygrad_serves_from_two_worker_threads():
    # tinygrad keeps its kernel cache in one SQLite connection that only the thread that opened it may use;
    # the server loads the backend on one thread and predicts on its workers. Once the bundled BEAM table
    # was loaded at start-up, every request failed with 500 ("SQLite objects created in a thread can only
    # be used in that same thread"); the backend now makes every tinygrad call on one thread of its own.
    with start_service(GMNET_BACKEND="tinygrad", GMNET_WORKERS="2") as srv:
        bodies = [png_bytes(rgb_array(64, 48, seed)) for seed in (1, 2, 3)]
        with ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(
                    lambda body: httpx.post(
                        srv.url + "/v1/gainmap", content=body, headers={"Content-Type": "image/png"}, timeout=300
                    ),
                    bodies,
                )
            )
        assert [a.status_code for a in answers] == [200, 200, 200], srv.log()[-3000:]
        assert all(a.headers["content-type"] == "image/png" for a in answers)
