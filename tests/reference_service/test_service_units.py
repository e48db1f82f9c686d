"""Service building blocks: settings from the environment, the metrics text, the job runner.

The job runner is exercised with the real ONNX Runtime backend; only the "backend raises" and
"backend returns a malformed result" cases use a stand-in predict function, because the real
backend cannot be made to fail on demand.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from gmnet_server_fixtures import REPO, rgb_array, service_env

from reference_service import config as cfg
from reference_service.jobs import JobRunner, NotAccepting, QueueFull, StoreFull, run_inference
from reference_service.metrics import Counter, Histogram, Registry


# -- settings ---------------------------------------------------------------------------------
def test_defaults():
    s = cfg.load_settings({})
    assert (s.backend, s.port, s.host, s.workers, s.queue_size) == ("onnxruntime", 8000, "127.0.0.1", 1, 16)
    assert s.max_pixels == 2048 * 2048 and s.max_body_bytes == 25 * 1024 * 1024
    assert s.checkpoint is None and s.onnx_path is None


def test_every_setting_is_read(tmp_path: Path):
    ckpt, onnx = tmp_path / "g.pth", tmp_path / "g.onnx"
    ckpt.write_bytes(b"x")
    onnx.write_bytes(b"y")
    s = cfg.load_settings(
        {
            "GMNET_BACKEND": "TinyGrad",
            "GMNET_CHECKPOINT": str(ckpt),
            "GMNET_ONNX": str(onnx),
            "PORT": "9001",
            "HOST": "0.0.0.0",
            "GMNET_WORKERS": "2",
            "GMNET_QUEUE_SIZE": "3",
            "GMNET_MAX_BODY_BYTES": "1_000",
            "GMNET_MAX_PIXELS": "640000",
            "GMNET_JOB_TTL": "1.5",
            "GMNET_MAX_JOBS": "9",
            "GMNET_DRAIN_TIMEOUT": "7",
            "GMNET_LOG_LEVEL": "DEBUG",
            "GMNET_MAX_CONNECTIONS": "5",
            "GMNET_MAX_UPLOADS": "4",
            "GMNET_HEADER_TIMEOUT": "2.5",
            "GMNET_BODY_TIMEOUT": "9",
            "GMNET_MAX_HEADER_BYTES": "4096",
        }
    )
    assert s == cfg.Settings(
        backend="tinygrad",
        checkpoint=ckpt,
        onnx_path=onnx,
        host="0.0.0.0",
        port=9001,
        workers=2,
        queue_size=3,
        max_body_bytes=1000,
        max_pixels=640000,
        job_ttl_seconds=1.5,
        max_jobs=9,
        drain_timeout_seconds=7.0,
        log_level="debug",
        max_connections=5,
        max_uploads=4,
        header_timeout_seconds=2.5,
        body_timeout_seconds=9.0,
        max_header_bytes=4096,
    )


@pytest.mark.parametrize(
    "env,needle",
    [
        ({"PORT": "eighty"}, "PORT='eighty': not an integer"),
        ({"PORT": "70000"}, "PORT='70000': must be between 1 and 65535"),
        ({"GMNET_WORKERS": "0"}, "GMNET_WORKERS='0'"),
        ({"GMNET_QUEUE_SIZE": "-1"}, "GMNET_QUEUE_SIZE"),
        ({"GMNET_MAX_BODY_BYTES": "1e6"}, "GMNET_MAX_BODY_BYTES='1e6': not an integer"),
        ({"GMNET_MAX_PIXELS": "0"}, "GMNET_MAX_PIXELS"),
        ({"GMNET_JOB_TTL": "nan"}, "GMNET_JOB_TTL"),
        ({"GMNET_DRAIN_TIMEOUT": "soon"}, "GMNET_DRAIN_TIMEOUT='soon': not a number"),
        ({"GMNET_BACKEND": "tensorrt"}, "must be one of onnxruntime, onnxruntime-int8, tinygrad, torch"),
        ({"GMNET_CHECKPOINT": "/nonexistent/G.pth"}, "GMNET_CHECKPOINT='/nonexistent/G.pth': no such"),
        ({"GMNET_ONNX": "/nonexistent/g.onnx"}, "GMNET_ONNX"),
        ({"GMNET_QUEUE_SIZE": "10", "GMNET_MAX_JOBS": "5"}, "GMNET_MAX_JOBS=5: must be at least"),
        ({"GMNET_LOG_LEVEL": "loud"}, "GMNET_LOG_LEVEL"),
        ({"HOST": "local host"}, "HOST"),
        ({"GMNET_MAX_CONNECTIONS": "0"}, "GMNET_MAX_CONNECTIONS"),
        ({"GMNET_MAX_UPLOADS": "0"}, "GMNET_MAX_UPLOADS"),
        ({"GMNET_HEADER_TIMEOUT": "0"}, "GMNET_HEADER_TIMEOUT"),
        ({"GMNET_BODY_TIMEOUT": "forever"}, "GMNET_BODY_TIMEOUT='forever': not a number"),
        ({"GMNET_MAX_HEADER_BYTES": "100"}, "GMNET_MAX_HEADER_BYTES"),
    ],
)
def test_invalid_values_name_the_variable(env, needle):
    with pytest.raises(cfg.ConfigError) as info:
        cfg.load_settings(env)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    "env,argv", [({"GMNET_WORKERS": "many"}, []), ({"GMNET_ONNX": "/nonexistent.onnx"}, []), ({}, ["--port", "1"])]
)
def test_bad_configuration_exits_2_with_one_line_and_no_traceback(env, argv):
    proc = subprocess.run(
        [sys.executable, "-m", "reference_service", *argv],
        env=service_env(8000, **env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reference_service:")


# -- metrics ----------------------------------------------------------------------------------
def test_counter_and_histogram_text_format():
    registry = Registry()
    counter = registry.add(Counter("c_total", "help c", ("route",)))
    hist = registry.add(Histogram("h_seconds", "help h", ("route",), buckets=(0.1, 1.0)))
    counter.inc(route='/a"b')
    counter.inc(2, route="/x")
    for value in (0.05, 0.5, 5.0):
        hist.observe(value, route="/x")
    text = registry.render()
    assert "# TYPE c_total counter" in text and "# TYPE h_seconds histogram" in text
    assert 'c_total{route="/a\\"b"} 1' in text and 'c_total{route="/x"} 2' in text
    assert 'h_seconds_bucket{route="/x",le="0.1"} 1' in text
    assert 'h_seconds_bucket{route="/x",le="1"} 2' in text
    assert 'h_seconds_bucket{route="/x",le="+Inf"} 3' in text
    assert 'h_seconds_count{route="/x"} 3' in text and 'h_seconds_sum{route="/x"} 5.55' in text


def test_labels_must_match_the_declaration():
    with pytest.raises(ValueError):
        Counter("c", "h", ("route",)).inc(path="/")


# -- job runner (real ONNX Runtime) -----------------------------------------------------------
@pytest.fixture(scope="module")
def ort_predict():
    from reference_service.backends import load_backend
    from reference_service.server import make_predict

    return make_predict(load_backend("onnxruntime"))


def image(width: int, height: int, seed: int = 0) -> np.ndarray:
    return rgb_array(width, height, seed).astype(np.float32) / 255.0


def wait_done(runner: JobRunner, job_id: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = runner.get(job_id)
        if job is not None and job.state in ("done", "failed"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} not finished in {timeout} s")


def test_odd_sizes_are_padded_and_cropped_back(ort_predict):
    from reference_service.backends import load_backend
    from reference_service.preprocess import to_thumbnail

    odd = image(33, 47)
    gain, qmax = ort_predict(odd)
    assert gain.shape == (47, 33)
    padded = np.pad(odd, ((0, 1), (0, 1), (0, 0)), mode="edge")
    ref_gain, ref_qmax = load_backend("onnxruntime").predict(padded, to_thumbnail(odd))
    np.testing.assert_allclose(gain, ref_gain[:47, :33], rtol=1e-5, atol=1e-30)
    assert qmax == pytest.approx(ref_qmax, rel=1e-5, abs=1e-30)


def test_runner_completes_jobs_and_keeps_them_for_lookup(ort_predict):
    runner = JobRunner(ort_predict, workers=1, queue_size=4, max_jobs=8, job_ttl_seconds=60)
    runner.start()
    try:
        jobs = [runner.submit(image(32, 32, seed), 16, keep=True) for seed in range(3)]
        finished = [wait_done(runner, job.id) for job in jobs]
        assert [job.state for job in finished] == ["done"] * 3
        assert all(job.result.width == 32 and job.result.png.startswith(b"\x89PNG") for job in finished)
        assert runner.get("no-such-id") is None
    finally:
        assert runner.close_and_drain(30)


def test_the_outcome_is_counted_before_the_waiter_is_woken(ort_predict):
    # The synchronous endpoint answers the client from the done-callback; a client that reads
    # /metrics right after its answer must find its job counted. on_finish (the metrics hook)
    # therefore has to run before any waiter is woken. It used to run after: the cause of the
    # flaky test_metrics_count_requests_errors_and_latency (completed == 0 under load).
    order: list[str] = []
    finished = threading.Event()

    def on_finish(job, seconds):
        time.sleep(0.2)  # widen the window the old order lost the race in
        order.append("counted")

    runner = JobRunner(ort_predict, workers=1, queue_size=2, max_jobs=4, job_ttl_seconds=60, on_finish=on_finish)
    runner.start()
    try:
        job = runner.submit(image(32, 32), 16, keep=False)
        job.add_done_callback(lambda j: (order.append("woken"), finished.set()))
        assert finished.wait(60)
        assert order == ["counted", "woken"]
    finally:
        assert runner.close_and_drain(30)


def test_a_full_queue_raises_queue_full(ort_predict):
    runner = JobRunner(ort_predict, workers=1, queue_size=1, max_jobs=4, job_ttl_seconds=60)
    runner.start()
    try:
        accepted, refused = [], 0
        for seed in range(4):  # each 256x256 inference takes far longer than this loop
            try:
                accepted.append(runner.submit(image(256, 256, seed), 16, keep=True))
            except QueueFull:
                refused += 1
        assert 1 <= len(accepted) <= 2 and refused == 4 - len(accepted)
    finally:
        assert runner.close_and_drain(60)
    assert all(job.state == "done" for job in accepted)  # every accepted job still finished


def test_drain_finishes_accepted_jobs_then_refuses_new_ones(ort_predict):
    runner = JobRunner(ort_predict, workers=1, queue_size=3, max_jobs=8, job_ttl_seconds=60)
    runner.start()
    jobs = [runner.submit(image(128, 128, seed), 8, keep=False) for seed in range(3)]
    assert runner.close_and_drain(60) is True
    assert [job.state for job in jobs] == ["done"] * 3
    assert runner.unfinished == 0
    with pytest.raises(NotAccepting):
        runner.submit(image(32, 32), 16, keep=True)


def test_finished_jobs_expire_after_the_ttl(ort_predict):
    runner = JobRunner(ort_predict, workers=1, queue_size=2, max_jobs=4, job_ttl_seconds=0.2)
    runner.start()
    try:
        job = runner.submit(image(32, 32), 16, keep=True)
        assert wait_done(runner, job.id).state == "done"
        time.sleep(0.3)
        assert runner.get(job.id) is None
    finally:
        runner.close_and_drain(10)


def test_oldest_collected_jobs_are_evicted_beyond_max_jobs(ort_predict):
    runner = JobRunner(ort_predict, workers=1, queue_size=1, max_jobs=2, job_ttl_seconds=600)
    runner.start()
    try:
        ids = []
        for seed in range(3):
            job = runner.submit(image(32, 32, seed), 16, keep=True)
            wait_done(runner, job.id).fetched = True  # what GET /v1/jobs/{id} does
            ids.append(job.id)
        assert runner.get(ids[0]) is None
        assert runner.get(ids[1]) is not None and runner.get(ids[2]) is not None
    finally:
        runner.close_and_drain(10)


def test_uncollected_results_are_kept_and_new_jobs_refused(ort_predict):
    runner = JobRunner(ort_predict, workers=1, queue_size=1, max_jobs=2, job_ttl_seconds=600)
    runner.start()
    try:
        first = runner.submit(image(32, 32, 1), 16, keep=True)
        wait_done(runner, first.id)
        second = runner.submit(image(32, 32, 2), 16, keep=True)
        wait_done(runner, second.id)
        with pytest.raises(StoreFull):
            runner.submit(image(32, 32, 3), 16, keep=True)
        assert runner.get(first.id) is first and runner.get(second.id) is second
        first.fetched = True
        third = runner.submit(image(32, 32, 3), 16, keep=True)  # room made by evicting `first`
        assert runner.get(first.id) is None and wait_done(runner, third.id).state == "done"
        # synchronous requests are not stored, so a full store does not block them
        runner.submit(image(32, 32, 4), 16, keep=False)
    finally:
        assert runner.close_and_drain(30)


def test_a_raising_backend_fails_the_job_not_the_worker():
    # Stand-in predict: the real backend cannot be made to raise on demand.
    calls = []

    def flaky(img):
        calls.append(img.shape)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return np.zeros(img.shape[:2], np.float32), 1.0

    runner = JobRunner(flaky, workers=1, queue_size=2, max_jobs=4, job_ttl_seconds=60)
    runner.start()
    try:
        first = runner.submit(image(16, 16), 16, keep=True)
        second = runner.submit(image(16, 16), 16, keep=True)
        assert wait_done(runner, first.id).state == "failed"
        assert "RuntimeError: boom" in first.error
        assert wait_done(runner, second.id).state == "done"
    finally:
        runner.close_and_drain(10)


@pytest.mark.parametrize(
    "result",
    [
        (np.zeros((3, 3), np.float32), 1.0),
        (np.full((4, 4), np.nan, np.float32), 1.0),
        (np.zeros((4, 4), np.float32), float("inf")),
    ],
)
def test_malformed_backend_results_are_refused(result):
    # Stand-in predict returning what a broken backend might: wrong shape, NaN, infinite qmax.
    with pytest.raises(ValueError):
        run_inference(lambda img: result, image(4, 4), 16)


def test_help_names_the_settings_and_exits_0():
    proc = subprocess.run(
        [sys.executable, "-m", "reference_service", "--help"],
        env=service_env(8000),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    for name in ("PORT", "GMNET_BACKEND", "GMNET_ONNX", "SERVER.md"):
        assert name in proc.stdout
