"""A real PEP 503 "simple" index on 127.0.0.1 serving small stand-in wheels built here.

The stand-ins are genuine wheels (zip with dist-info METADATA, WHEEL, RECORD and one module) named like
the PyTorch CPU builds (`torch-2.15.0+cpu-py3-none-any.whl`); they install nothing useful, which is all
a resolver and a lock need. download.pytorch.org cannot be reached from these machines.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.server
import threading
import zipfile
from pathlib import Path
from urllib.parse import quote


def build_wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = (),
                tag: str = "py3-none-any") -> Path:
    """Write a minimal valid wheel for `name==version` into `folder`; returns its path."""
    dist = name.replace("-", "_")
    filename = f"{dist}-{version}-{tag}.whl"
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{dist}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: depaudit-tests\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    record = []
    for arcname, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    path = folder / filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, text in files.items():
            archive.writestr(arcname, text)
    return path


def write_simple_index(root: Path, wheels: list[Path]) -> None:
    """Lay out `root/simple/<project>/index.html` (PEP 503) linking to `root/files/<wheel>#sha256=`."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = files / wheel.name
        if wheel != target:
            target.write_bytes(wheel.read_bytes())
        project = wheel.name.split("-")[0].replace("_", "-").lower()
        projects.setdefault(project, []).append(target)
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    links = []
    for project, items in sorted(projects.items()):
        (simple / project).mkdir(exist_ok=True)
        anchors = []
        for item in items:
            digest = hashlib.sha256(item.read_bytes()).hexdigest()
            href = f"../../files/{quote(item.name)}#sha256={digest}"
            anchors.append(f'<a href="{html.escape(href)}">{html.escape(item.name)}</a><br/>')
        (simple / project / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n")
        links.append(f'<a href="{project}/">{project}</a><br/>')
    (simple / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


class LocalIndex:
    """Serve `root` over HTTP on 127.0.0.1 (an ephemeral port) in a daemon thread; `url` is the
    simple index URL. Use as a context manager."""

    def __init__(self, root: Path) -> None:
        handler = lambda *a, **k: _QuietHandler(*a, directory=str(root), **k)  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def __enter__(self) -> "LocalIndex":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
