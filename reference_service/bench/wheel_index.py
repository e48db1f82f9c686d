"""A PEP 503 "simple" index served from folders of wheels on 127.0.0.1.

Machines without access to the PyTorch CPU index build `docker/Dockerfile.torch-cpu` against this
instead (`--build-arg TORCH_INDEX_URL=<url> --network host`): it serves the `+cpu` wheels lying on disk
(pip's `find-links` folder here) under the same project names the real index uses.
"""

from __future__ import annotations

import html
import shutil
import threading
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from depaudit.names import canonical_name

normalise = canonical_name  # PEP 503 names: the one implementation in depaudit.names


def collect_wheels(folders: Iterable[Path]) -> dict[str, dict[str, Path]]:
    """{normalised project: {wheel filename: path}} for every `*.whl` directly inside `folders`."""
    projects: dict[str, dict[str, Path]] = {}
    for folder in folders:
        for wheel in sorted(Path(folder).glob("*.whl")):
            if not wheel.is_file():  # a FIFO or device named *.whl would hang the server thread that reads it
                continue
            project = normalise(wheel.name.split("-", 1)[0])
            projects.setdefault(project, {})[wheel.name] = wheel
    return projects


def _page(title: str, links: Iterable[tuple[str, str]]) -> bytes:
    body = "".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a><br/>\n' for href, text in links)
    return (
        f'<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head><body>\n{body}</body></html>\n"
    ).encode()


def _handler(projects: dict[str, dict[str, Path]]) -> type[BaseHTTPRequestHandler]:
    files = {name: path for wheels in projects.values() for name, path in wheels.items()}

    class SimpleIndexHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            parts = [urllib.parse.unquote(p) for p in self.path.split("?", 1)[0].split("/") if p]
            if parts == ["simple"]:
                self._send(200, _page("Simple index", ((f"{p}/", p) for p in sorted(projects))))
            elif len(parts) == 2 and parts[0] == "simple" and normalise(parts[1]) in projects:
                wheels = projects[normalise(parts[1])]
                links = ((f"../../files/{urllib.parse.quote(name)}", name) for name in sorted(wheels))
                self._send(200, _page(f"Links for {parts[1]}", links))
            elif len(parts) == 2 and parts[0] == "files" and parts[1] in files:
                self._send_file(files[parts[1]])
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send_file(self, path: Path) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            if self.command == "HEAD":
                return
            with path.open("rb") as handle, suppress(BrokenPipeError, ConnectionResetError):
                shutil.copyfileobj(handle, self.wfile, 1 << 20)

    return SimpleIndexHandler


@contextmanager
def serve_wheel_index(folders: Iterable[Path], host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the wheels in `folders` as a PEP 503 index; yields its URL (`http://127.0.0.1:PORT/simple`).
    The server thread stops when the context exits. Raises OSError when the port cannot be bound."""
    projects = collect_wheels(Path(f) for f in folders)
    server = ThreadingHTTPServer((host, port), _handler(projects))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="wheel-index", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
