"""A real HTTPS file server on 127.0.0.1 for index look-up tests, with a throwaway CA made by openssl.

Routes (NAME is a key of ``IndexServer.files``):
  /files/NAME            HEAD and GET with Range (206 + Content-Range), Accept-Ranges: bytes
  /norange/NAME          ignores Range: always 200 with the whole body
  /nolength/NAME         HEAD answers without Content-Length; GET honours Range
  /nohead/NAME           HEAD answers 405; GET honours Range
  /flaky/K/NAME          the first K requests to this path answer 503, then as /files/NAME
  /always503/NAME        always 503
  /ratelimited/K/NAME    the first K requests answer 429 with Retry-After: 0, then as /files/NAME
  /slow/SECONDS/NAME     sleeps SECONDS before answering as /files/NAME
  /redirect/NAME         302 to /files/NAME
  /redirect-http/NAME    302 to http://127.0.0.1:PORT/files/NAME (a downgrade)
  /redirect-localhost/NAME  302 to https://localhost:PORT/files/NAME (another host name)
  /simple/PROJECT/       the PEP 691 JSON project page of ``IndexServer.projects[PROJECT]`` (a list of
                         file entries) when the client accepts JSON, else 406; 404 for an unknown project
  anything else          404
The server counts requests per (method, path), bytes of body sent per path, and the peak number of
requests in flight, so tests can prove caching, bounded retries and concurrency from the server side.
"""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """Create a CA and a server certificate for 127.0.0.1/localhost signed by it (openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl")
    d = Path(directory)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=depaudit test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    )
    return Certificates(d / "ca.pem", d / "server.pem", d / "server.key")


class IndexServer:
    """HTTPS server in a background thread; ``files`` maps NAME to bytes. Use as a context manager."""

    def __init__(self, certs: Certificates) -> None:
        self.files: dict[str, bytes] = {}
        self.projects: dict[str, list[dict[str, object]]] = {}
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()
        self.body_bytes: collections.Counter[str] = collections.Counter()
        self.ranges: list[tuple[str, str]] = []  # (path, Range header) of GETs
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs.cert, certs.key)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        # Handshake lazily in the handler thread, so one bad client cannot stall the accept loop.
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def count(self, path: str, method: str | None = None) -> int:
        """Requests seen for ``path`` (leading slash optional), for one method or all."""
        path = "/" + path.lstrip("/")
        with self._lock:
            return sum(n for (m, p), n in self.requests.items() if p == path and method in (None, m))

    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def __enter__(self) -> IndexServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- called from handler threads --------------------------------------------------------------

    def _enter(self, method: str, path: str, range_header: str | None) -> int:
        with self._lock:
            self.requests[(method, path)] += 1
            if method == "GET":
                self.ranges.append((path, range_header or ""))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return self.requests[("HEAD", path)] + self.requests[("GET", path)]

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _sent(self, path: str, n: int) -> None:
        with self._lock:
            self.body_bytes[path] += n


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return (start, end inclusive) for a single 'bytes=' range, or None when unsatisfiable."""
    spec = header.strip()[len("bytes=") :]
    first, _, last = spec.partition("-")
    if first == "":
        n = int(last)
        if n == 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def _make_handler(server: IndexServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def handle(self) -> None:
            # clients that time out or reject our certificate hang up mid-request
            with contextlib.suppress(OSError, ssl.SSLError):
                super().handle()

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = self.path.split("?", 1)[0]
            nth = server._enter(self.command, path, self.headers.get("Range"))
            try:
                self._route(path, nth, head)
            finally:
                server._leave()

        def _route(self, path: str, nth: int, head: bool) -> None:
            parts = path.strip("/").split("/")
            kind, rest = parts[0], parts[1:]
            if kind == "simple" and len(rest) == 1:
                return self._project_page(rest[0], head)
            if kind == "flaky" and len(rest) == 2:
                if nth <= int(rest[0]):
                    return self._status(503)
                return self._file(path, rest[1], head)
            if kind == "ratelimited" and len(rest) == 2:
                if nth <= int(rest[0]):
                    return self._status(429, retry_after="0")
                return self._file(path, rest[1], head)
            if kind == "slow" and len(rest) == 2:
                time.sleep(float(rest[0]))
                return self._file(path, rest[1], head)
            if kind == "always503" and len(rest) == 1:
                return self._status(503)
            if kind == "redirect" and len(rest) == 1:
                return self._status(302, location=f"/files/{rest[0]}")
            if kind == "redirect-localhost" and len(rest) == 1:
                return self._status(302, location=f"https://localhost:{server.port}/files/{rest[0]}")
            if kind == "redirect-http" and len(rest) == 1:
                return self._status(302, location=f"http://127.0.0.1:{server.port}/files/{rest[0]}")
            if kind == "nohead" and len(rest) == 1 and head:
                return self._status(405)
            if kind in ("files", "norange", "nolength", "nohead") and len(rest) == 1:
                return self._file(path, rest[0], head, ranges=kind != "norange", length=kind != "nolength")
            return self._status(404)

        def _project_page(self, project: str, head: bool) -> None:
            files = server.projects.get(project)
            if files is None:
                return self._status(404)
            if "application/vnd.pypi.simple.v1+json" not in self.headers.get("Accept", ""):
                return self._status(406)
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": files}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _status(self, code: int, location: str | None = None, retry_after: str | None = None) -> None:
            self.send_response(code)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _file(self, path: str, name: str, head: bool, ranges: bool = True, length: bool = True) -> None:
            data = server.files.get(name)
            if data is None:
                return self._status(404)
            wanted = self.headers.get("Range")
            if wanted and ranges and not head:
                span = _parse_range(wanted, len(data))
                if span is None:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end = span
                body = data[start : end + 1]
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                body = data
                self.send_response(200)
            if ranges:
                self.send_header("Accept-Ranges", "bytes")
            if length or not head:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if not head:
                self.wfile.write(body)
                server._sent(path, len(body))

    return Handler
