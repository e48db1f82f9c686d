"""Image archives made in a test: layer tars from (path, content) entries, wrapped as a `docker save`
archive (legacy layout) or an OCI image-layout folder, byte for byte as the formats describe them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

Entry = tuple[str, bytes | str | None]
"""(path, content): bytes a regular file, `"->target"` a symbolic link, `"=>target"` a hard link, None a
folder. A path `.wh.NAME` is a whiteout, `.wh..wh..opq` an opaque marker (content ignored)."""


def layer_tar(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in entries:
            info = tarfile.TarInfo(path)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, str) and content.startswith("->"):
                info.type, info.linkname = tarfile.SYMTYPE, content[2:]
                tar.addfile(info)
            elif isinstance(content, str) and content.startswith("=>"):
                info.type, info.linkname = tarfile.LNKTYPE, content[2:]
                tar.addfile(info)
            else:
                data = content.encode() if isinstance(content, str) else content
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def config(layers: int, *, env: dict[str, str] | None = None, commands: list[str] | None = None) -> bytes:
    history = [{"created_by": c} for c in (commands or [f"step {i}" for i in range(layers)])]
    doc = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": [f"{k}={v}" for k, v in (env or {"PATH": "/usr/local/bin:/usr/bin:/bin"}).items()]},
        "history": history,
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    return json.dumps(doc).encode()


def docker_save(layers: list[bytes], *, tag: str = "test/image:1", cfg: bytes | None = None) -> bytes:
    """A legacy `docker save` archive (manifest.json, <id>/layer.tar, <id>.json)."""
    cfg = cfg or config(len(layers))
    config_name = hashlib.sha256(cfg).hexdigest() + ".json"
    buffer = io.BytesIO()
    names = []
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for index, data in enumerate(layers):
            name = f"{index:064x}/layer.tar"
            names.append(name)
            _add(tar, name, data)
        _add(tar, config_name, cfg)
        _add(tar, "manifest.json", json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": names}]).encode())
    return buffer.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _blob(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}"


def oci_layout(root: Path, layers: list[bytes], *, gzip_layers: bool = True, cfg: bytes | None = None) -> Path:
    """An OCI image-layout folder (index.json -> manifest -> config + layers)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors = []
    for data in layers:
        blob = gzip.compress(data) if gzip_layers else data
        kind = "tar+gzip" if gzip_layers else "tar"
        descriptors.append(
            {"mediaType": f"application/vnd.oci.image.layer.v1.{kind}", "digest": _blob(root, blob), "size": len(blob)}
        )
    cfg = cfg or config(len(layers))
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _blob(root, cfg),
                "size": len(cfg),
            },
            "layers": descriptors,
        }
    ).encode()
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": _blob(root, manifest),
        "size": len(manifest),
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return root
