"""The service against slow, oversized and vanishing clients: the real server, real sockets.

Each test starts ``python -m reference_service`` (real ONNX Runtime backend) and talks to it with raw
sockets where a well-behaved client library would not misbehave the way an attacker does.
"""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest
from gmnet_server_fixtures import metric, png_bytes, rgb_array, start_service, vm_rss_kib

PNG = {"content-type": "image/png"}
HALF_HEAD = b"POST /v1/gainmap HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or ``timeout``)."""
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def fivexx(text: str) -> float:
    """5xx answers to uploads (/healthz answers 503 while the model loads, by design)."""
    return sum(
        float(m.group(1))
        for m in re.finditer(r'^gmnet_http_requests_total\{route="/v1/[^}]*status="5\d\d"\} (\S+)$', text, re.M)
    )


def test_half_sent_heads_neither_starve_healthz_nor_stay_open():
    with start_service(GMNET_HEADER_TIMEOUT="3") as srv:
        held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(64)]
        idle = socket.create_connection(("127.0.0.1", srv.port))  # sends nothing at all
        try:
            for sock in held:
                sock.sendall(HALF_HEAD)
            time.sleep(0.3)
            started = time.monotonic()
            while time.monotonic() - started < 2.0:  # while all 64 are open
                assert httpx.get(srv.url + "/healthz", timeout=5).status_code == 200
                time.sleep(0.2)
            answers = [read_all(sock) for sock in held]
            assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[0]
            assert read_all(idle) == b""  # dropped without a word: it never started a request
        finally:
            for sock in [*held, idle]:
                sock.close()
        text = httpx.get(srv.url + "/metrics").text
        assert metric(text, "gmnet_connections_dropped_total", reason="header_timeout") == 65
        assert httpx.get(srv.url + "/healthz").status_code == 200


def test_a_head_that_trickles_in_forever_is_cut_off():
    # Bytes keep arriving (each resets nothing): the limit is on the whole head, not on silence.
    with start_service(GMNET_HEADER_TIMEOUT="2") as srv, socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(b"POST /v1/gainmap HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            while time.monotonic() - started < 6:
                sock.sendall(b"X-Drip: 1\r\n")
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            pass
        elapsed = time.monotonic() - started
        assert elapsed < 4, f"still accepting header bytes after {elapsed:.1f} s"


def test_a_one_megabyte_header_gets_431_not_a_reset():
    with start_service() as srv:
        response = httpx.get(srv.url + "/healthz", headers={"x-big": "a" * 1_000_000}, timeout=30)
        assert response.status_code == 431
        assert "too large" in response.text
        # the same over a raw socket: the whole answer arrives, then an orderly close
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 1_000_000 + b"\r\n\r\n")
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 431 ") and answer.endswith(b"bytes)")
        text = httpx.get(srv.url + "/metrics").text
        assert metric(text, "gmnet_connections_dropped_total", reason="headers_too_large") == 2
        assert httpx.get(srv.url + "/healthz").status_code == 200


def test_a_client_that_drops_mid_upload_is_a_499_without_traceback():
    with start_service() as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(HALF_HEAD + b"Content-Length: 1000000\r\n\r\n" + b"\0" * 5000)
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(srv.url + "/metrics").text
            if (
                metric(text, "gmnet_http_requests_total", route="/v1/gainmap", method="POST", status="499") == 1
                or time.monotonic() > deadline
            ):
                break
            time.sleep(0.1)
        assert metric(text, "gmnet_http_requests_total", route="/v1/gainmap", method="POST", status="499") == 1
        assert metric(text, "gmnet_errors_total", code="client_disconnected") == 1
        assert fivexx(text) == 0
        assert "Traceback" not in srv.log() and "ClientDisconnect" not in srv.log()


def test_a_client_that_leaves_during_inference_is_a_499_and_the_job_still_completes():
    data = png_bytes(rgb_array(768, 768, seed=4))  # about a second of inference or more
    with start_service() as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(HALF_HEAD + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
            deadline = time.monotonic() + 60
            while metric(httpx.get(srv.url + "/metrics").text, "gmnet_jobs_total", outcome="accepted") < 1:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        deadline = time.monotonic() + 120
        while True:
            text = httpx.get(srv.url + "/metrics").text
            if metric(text, "gmnet_jobs_total", outcome="completed") == 1:
                break
            assert time.monotonic() < deadline, "the abandoned job never completed"
            time.sleep(0.1)
        assert metric(text, "gmnet_http_requests_total", route="/v1/gainmap", method="POST", status="499") == 1
        assert fivexx(text) == 0
        assert "while waiting for inference" in srv.log() and "Traceback" not in srv.log()


def test_uploads_beyond_the_limit_get_503_while_healthz_stays_200():
    with start_service(GMNET_MAX_UPLOADS="2") as srv:
        slow = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
        try:
            for sock in slow:  # two uploads in flight: head sent, body trickling
                sock.sendall(HALF_HEAD + b"Content-Length: 100000\r\n\r\n" + b"\0" * 100)
            time.sleep(0.3)
            refused = httpx.post(srv.url + "/v1/gainmap", content=png_bytes(rgb_array(32, 32)), headers=PNG, timeout=10)
            assert refused.status_code == 503 and refused.json()["error"] == "too_many_uploads"
            assert refused.headers["retry-after"] == "1"
            assert httpx.get(srv.url + "/healthz", timeout=5).status_code == 200
        finally:
            for sock in slow:
                sock.close()
        time.sleep(0.3)
        ok = httpx.post(srv.url + "/v1/gainmap", content=png_bytes(rgb_array(32, 32)), headers=PNG, timeout=60)
        assert ok.status_code == 200


def test_a_body_that_stops_arriving_gets_408():
    with start_service(GMNET_BODY_TIMEOUT="1") as srv:
        with socket.create_connection(("127.0.0.1", srv.port)) as sock:
            sock.sendall(HALF_HEAD + b"Content-Length: 100000\r\n\r\n" + b"\0" * 100)
            answer = read_all(sock, timeout=15)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b'"body_timeout"' in answer
        assert fivexx(httpx.get(srv.url + "/metrics").text) == 0


def test_connections_beyond_the_cap_are_closed_at_once():
    with start_service(GMNET_MAX_CONNECTIONS="3") as srv:
        held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(3)]
        try:
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", srv.port)) as extra:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                assert read_all(extra) == b""
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(srv.url + "/healthz").status_code == 200
        text = httpx.get(srv.url + "/metrics").text
        assert metric(text, "gmnet_connections_dropped_total", reason="too_many_connections") >= 1


@pytest.mark.slow  # a 1024x1024 inference: several seconds on 2 vCPUs
def test_memory_of_a_large_request_is_returned():
    # ONNX Runtime's arena would keep the run's peak (about 0.8 GB at 1024x1024) for the life of
    # the process; the backend asks it to shrink after every run.
    data = png_bytes(rgb_array(1024, 1024, seed=6))
    with start_service() as srv:
        before = vm_rss_kib(srv.proc.pid, "VmRSS")
        response = httpx.post(srv.url + "/v1/gainmap", content=data, headers=PNG, timeout=600)
        assert response.status_code == 200
        peak = vm_rss_kib(srv.proc.pid, "VmHWM")
        after = vm_rss_kib(srv.proc.pid, "VmRSS")
    assert peak - before > 400 * 1024, "the request did not use the memory this test expects"
    assert after - before < 0.25 * (peak - before), (before, peak, after)
