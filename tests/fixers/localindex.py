"""A real PEP 503 "simple" index on 127.0.0.1 serving small stand-in wheels built here.

The stand-ins are genuine wheels (zip with dist-info METADATA, WHEEL, RECORD and one module) named like
the PyTorch CPU builds (`torch-2.15.0+cpu-py3-none-any.whl`); they install nothing useful, which is all
a resolver and a lock need. download.pytorch.org cannot be reached from these machines.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote


def build_wheel(
    folder: Path, name: str, version: str, requires: tuple[str, ...] = (), tag: str = "py3-none-any"
) -> Path:
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
    """Lay out a PEP 503 index under `root/simple/<project>/` (index.html) plus its PEP 691 JSON form
    (index.json, with PEP 700 `size` and a PEP 658 `.metadata` file per wheel), wheels in `root/files/`
    (symlinked when they live elsewhere, so a 190 MB wheel is not copied)."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = files / wheel.name
        if wheel.resolve() != target.resolve():
            target.symlink_to(wheel.resolve())
        project = wheel.name.split("-")[0].replace("_", "-").lower()
        projects.setdefault(project, []).append(target)
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    links = []
    for project, items in sorted(projects.items()):
        (simple / project).mkdir(exist_ok=True)
        anchors, entries = [], []
        for item in items:
            digest = _sha256(item)
            metadata = _core_metadata(item)
            (files / f"{item.name}.metadata").write_bytes(metadata)
            meta_digest = hashlib.sha256(metadata).hexdigest()
            href = f"../../files/{quote(item.name)}#sha256={digest}"
            anchors.append(
                f'<a href="{html.escape(href)}" data-core-metadata="sha256={meta_digest}">'
                f"{html.escape(item.name)}</a><br/>"
            )
            entries.append(
                {
                    "filename": item.name,
                    "url": f"../../files/{quote(item.name)}",
                    "hashes": {"sha256": digest},
                    "size": item.stat().st_size,
                    "core-metadata": {"sha256": meta_digest},
                }
            )
        (simple / project / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n"
        )
        (simple / project / "index.json").write_text(
            json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": entries, "versions": []})
        )
        links.append(f'<a href="{project}/">{project}</a><br/>')
    (simple / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _core_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return archive.read(name)


JSON_TYPE = "application/vnd.pypi.simple.v1+json"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        # PEP 691 content negotiation: a client that asks for JSON gets index.json.
        if self.path.startswith("/simple/") and JSON_TYPE in self.headers.get("Accept", ""):
            folder = Path(self.translate_path(self.path))
            if (folder / "index.json").is_file():
                data = (folder / "index.json").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", JSON_TYPE)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                import io

                return io.BytesIO(data)
        return super().send_head()

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

    def __enter__(self) -> LocalIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


Requirement = tuple[str, str, tuple[str, ...]]  # (name, version, Requires-Dist lines) of a wheel to build


@contextlib.contextmanager
def torch_indexes(folder: Path, *extra: Requirement) -> Iterator[tuple[str, str]]:
    """Two indexes served on 127.0.0.1, as the fix tests need them: a "mirror" standing in for PyPI
    (torch 2.15.0 that needs nvidia-cublas on Linux, nvidia-cublas, and the `extra` wheels) and the CPU
    index (torch 2.15.0+cpu). Yields (mirror URL, CPU index URL)."""
    mirror, cpu = folder / "mirror", folder / "cpu"
    mirror.mkdir()
    cpu.mkdir()
    wanted: list[Requirement] = [
        ("torch", "2.15.0", ("nvidia-cublas==13.0.0; sys_platform == 'linux'",)),
        ("nvidia-cublas", "13.0.0", ()),
        *extra,
    ]
    write_simple_index(mirror, [build_wheel(mirror, name, version, requires) for name, version, requires in wanted])
    write_simple_index(cpu, [build_wheel(cpu, "torch", "2.15.0+cpu")])
    with LocalIndex(mirror) as mirror_index, LocalIndex(cpu) as cpu_index:
        yield mirror_index.url, cpu_index.url
