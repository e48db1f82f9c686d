"""Reading a container image without a Docker engine: its configuration and, layer by layer, the files it
adds and deletes.

Three sources, one result (an `ImageArchive`):

* a `docker save` tarball, read as one stream (also gzip-compressed as a whole, and straight from the
  stdout of `docker save REF`): the legacy layout (`manifest.json`, `<id>/layer.tar`, `<id>.json`) and the
  OCI layout newer engines write (`index.json`, `blobs/sha256/<hex>`);
* an OCI image-layout directory (`oci-layout`, `index.json`, `blobs/`), layers plain or gzip-compressed.

Every layer is read member by member and never extracted: for each path its kind and bytes, whiteouts
(`.wh.NAME`) and opaque markers (`.wh..wh..opq`), the text of `*.dist-info/RECORD` files, and the bytes of the
small files a caller asks for. A member's name is a string, never a path on this machine; links are
recorded, never followed; nothing is written anywhere. Hostile archives are data: names are normalised
and `..` can only climb to the root, sizes are what the stream really holds (a header that promises more
fails the read), and an archive with more entries or bytes than any real image has is refused.

Bytes are counted the way the engine sizes a layer (`docker image inspect`): the data of every regular
file, the target of every symbolic link, a hard link once (a second name for a file costs nothing),
directories nothing.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import posixpath
import re
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from depaudit.errors import InputError

GZIP_LEVEL = 6  # what `docker push` uses (Go's compress/gzip default)
CHUNK = 1 << 20
RECORD_LIMIT = 16 << 20  # the largest dist-info RECORD read (torch's is ~2 MB)
JSON_LIMIT = 8 << 20  # manifests and configs are a few KB; a bigger "JSON" blob is not one
SMALL_BLOBS_LIMIT = 64 << 20  # all non-layer members kept while streaming, together
MAX_ENTRIES = 4_000_000  # members of one image; real images hold well under a million
MAX_LAYER_BYTES = 1 << 40  # 1 TiB of tar in one layer: past this the archive is a bomb, not an image
CAPTURE_LIMIT = 32 << 20  # the largest file a caller may capture

_DIST_INFO_RECORD = re.compile(r"^(?P<site>.*/(?:site|dist)-packages)/(?P<dist>[^/]+)\.dist-info/RECORD$")
_DIGEST = re.compile(r"^(?P<alg>sha256|sha512):(?P<hex>[0-9a-f]{64}|[0-9a-f]{128})$")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

Capture = Callable[[str, int], bool]
"""Asked for each regular file (normalised path, bytes): True keeps its content (up to CAPTURE_LIMIT)."""


def never(path: str, size: int) -> bool:
    """The default capture: no file content is kept."""
    return False


@dataclass
class LayerFiles:
    """What one layer holds. `files`: every path it adds or replaces (regular file, symlink, hard link,
    device...) with the bytes it costs (see the module docstring); `links`: hard links (path -> target);
    `deleted`: paths its whiteouts remove from the layers below; `opaque`: directories whose content
    below is hidden; `records`: RECORD texts; `captured`: contents the caller asked for; `error`: why the
    layer could not be read (then it is empty and its size unknown)."""

    name: str
    files: dict[str, int] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    records: dict[str, str] = field(default_factory=dict)
    captured: dict[str, bytes] = field(default_factory=dict)
    tar_bytes: int = 0
    blob_bytes: int | None = None  # the blob as stored (compressed size for a gzip blob)
    compressed_bytes: int | None = None  # gzip size: the blob's, or counted on request
    error: str | None = None

    @property
    def size(self) -> int:
        """Bytes the layer adds, as the engine counts them."""
        return sum(self.files.values())


@dataclass(frozen=True)
class HistoryStep:
    """One entry of the image configuration's history: the instruction and whether it made a layer."""

    created_by: str
    empty_layer: bool


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image configuration a scan reports."""

    architecture: str = ""
    os: str = ""
    variant: str = ""
    env: tuple[tuple[str, str], ...] = ()
    user: str = ""
    workdir: str = ""
    history: tuple[HistoryStep, ...] = ()

    def layer_commands(self, layers: int) -> list[str | None]:
        """The instruction that made each of `layers` layers (None when the history does not say)."""
        made = [h.created_by for h in self.history if not h.empty_layer]
        return list(made) if len(made) == layers else [None] * layers


@dataclass
class ImageArchive:
    """An image read once: its layers in order (base first), its configuration and tags."""

    source: str
    layers: list[LayerFiles]
    config: ImageConfig
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Bytes on disk as the engine counts them: the sum of the layers."""
        return sum(layer.size for layer in self.layers)

    @property
    def compressed_size(self) -> int | None:
        """The layers gzip-compressed (as a registry stores them), when every one is known."""
        sizes = [layer.compressed_bytes for layer in self.layers]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


class ArchiveError(ValueError):
    """The archive is not an image, or not one depaudit can read; the message says why."""


# ---------------------------------------------------------------------------------------------- layers


def normalise(name: str) -> str:
    """A member name as an absolute-free image path: `./usr/lib/` -> `usr/lib`; `..` stops at the root."""
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts) or "."


class _Counter(io.RawIOBase):
    """A read-only stream over `source` that counts the bytes read and feeds them to `sink`."""

    def __init__(self, source: IO[bytes] | io.RawIOBase, sink: Callable[[bytes], None] | None = None) -> None:
        self._source, self._sink = source, sink
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # a writable buffer (bytearray or memoryview)
        data = self._source.read(len(buffer)) or b""
        n = len(data)
        buffer[:n] = data
        if n:
            self.count += n
            if self.count > MAX_LAYER_BYTES:
                raise ArchiveError(f"a layer holds more than {MAX_LAYER_BYTES >> 40} TiB: not an image")
            if self._sink is not None:
                self._sink(data)
        return n

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _Prefixed(io.RawIOBase):
    """A read-only stream over `prefix` (bytes already read from `source`), then the rest of `source`."""

    def __init__(self, prefix: bytes, source: IO[bytes] | io.RawIOBase) -> None:
        self._prefix, self._source = prefix, source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            data, self._prefix = self._prefix[: len(buffer)], self._prefix[len(buffer) :]
        else:
            data = self._source.read(len(buffer)) or b""
        buffer[: len(data)] = data
        return len(data)


class GzipCounter:
    """Counts the bytes gzip would produce for the data fed to it, keeping none of them."""

    def __init__(self) -> None:
        self._zip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(self._zip.compress(data))

    def finish(self) -> int:
        self.size += len(self._zip.flush())
        return self.size


def _member(layer: LayerFiles, member: tarfile.TarInfo, tar: tarfile.TarFile, capture: Capture) -> None:
    path = normalise(member.name)
    directory, base = posixpath.split(path)
    if base == ".wh..wh..opq":
        layer.opaque.add(directory or ".")
    elif base.startswith(".wh."):
        layer.deleted.add(posixpath.join(directory, base[4:]))
    elif member.isdir():
        layer.dirs.add(path)
    elif member.isreg():
        layer.files[path] = member.size
        wants_record = member.size <= RECORD_LIMIT and base == "RECORD" and _DIST_INFO_RECORD.match(path)
        if wants_record or (member.size <= CAPTURE_LIMIT and capture(path, member.size)):
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else b""
            if wants_record:
                layer.records[path] = data.decode("utf-8", "replace")
            if capture(path, member.size):
                layer.captured[path] = data
    elif member.issym():
        layer.files[path] = len(member.linkname.encode("utf-8", "surrogateescape"))
    elif member.islnk():
        layer.files[path] = 0  # a second name for a file this layer already holds
        layer.links[path] = normalise(member.linkname)
    else:
        layer.files[path] = 0  # devices and FIFOs hold no data


def read_layer_tar(stream: IO[bytes] | io.IOBase, layer: LayerFiles, capture: Capture = never) -> None:
    """Fill `layer` from an uncompressed layer tar read as a stream. Raises tarfile.TarError or
    ArchiveError."""
    entries = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            entries += 1
            if entries > MAX_ENTRIES:
                raise ArchiveError(f"a layer holds more than {MAX_ENTRIES:,} entries: not an image")
            _member(layer, member, tar, capture)


def _is_empty_tar(head: bytes) -> bool:
    return len(head) >= 512 and not head.strip(b"\0")


def scan_layer(
    name: str, data: IO[bytes] | io.RawIOBase, *, capture: Capture = never, compress: bool = False
) -> LayerFiles:
    """Read one layer blob (a tar, plain or gzip-compressed) from `data`. `compress` counts the gzip size
    of a plain tar (the slow part on a GB image); a gzip blob's own size is its compressed size. A zstd
    blob, or one that is no tar, comes back empty with `error` set. Raises tarfile.TarError for a tar
    that breaks off."""
    layer = LayerFiles(name)
    head = data.read(512) or b""
    if head[:4] == _ZSTD_MAGIC:
        layer.error = "zstd-compressed layer: not readable without the zstandard module"
        return layer
    if head[:2] == _GZIP_MAGIC:
        outer = _Counter(_Prefixed(head, data))
        inner = _Counter(gzip.GzipFile(fileobj=io.BufferedReader(outer, CHUNK), mode="rb"))  # type: ignore[arg-type]
        _read_tar_or_empty(io.BufferedReader(inner, CHUNK), layer, capture)
        inner.drain()
        outer.drain()
        layer.tar_bytes, layer.blob_bytes, layer.compressed_bytes = inner.count, outer.count, outer.count
        return layer
    if not (head[257:262] == b"ustar" or _is_empty_tar(head)):
        layer.error = "not a tar archive"
        return layer
    counter = GzipCounter() if compress else None
    plain = _Counter(_Prefixed(head, data), counter.feed if counter else None)
    _read_tar_or_empty(io.BufferedReader(plain, CHUNK), layer, capture)
    plain.drain()
    layer.tar_bytes = layer.blob_bytes = plain.count
    layer.compressed_bytes = counter.finish() if counter else None
    return layer


def _read_tar_or_empty(stream: io.BufferedReader, layer: LayerFiles, capture: Capture) -> None:
    if _is_empty_tar(stream.peek(512)[:512]):
        return  # an empty layer: two zero blocks and nothing else
    read_layer_tar(stream, layer, capture)


# ---------------------------------------------------------------------------------------------- configs


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise ArchiveError(f"{what}: JSON nested too deeply") from None
    except ValueError as exc:
        raise ArchiveError(f"{what}: not JSON ({exc})") from None


def parse_config(data: bytes) -> ImageConfig:
    """The image configuration (architecture, OS, environment, user, history). Raises ArchiveError."""
    doc = _json(data, "image configuration")
    if not isinstance(doc, dict):
        raise ArchiveError("image configuration: not a JSON object")
    config: dict[str, Any] = doc["config"] if isinstance(doc.get("config"), dict) else {}
    env = []
    for item in config.get("Env") or ():
        if isinstance(item, str) and "=" in item:
            name, _, value = item.partition("=")
            env.append((name, value))
    history = tuple(
        HistoryStep(str(h.get("created_by") or ""), bool(h.get("empty_layer")))
        for h in doc.get("history") or ()
        if isinstance(h, dict)
    )
    return ImageConfig(
        architecture=str(doc.get("architecture") or ""),
        os=str(doc.get("os") or ""),
        variant=str(doc.get("variant") or ""),
        env=tuple(env),
        user=str(config.get("User") or ""),
        workdir=str(config.get("WorkingDir") or ""),
        history=history,
    )


def blob_path(digest: str) -> str:
    """`sha256:<hex>` -> `blobs/sha256/<hex>`. Raises ArchiveError for anything that is not a digest (a
    name with `/` or `..` would otherwise point outside the blobs)."""
    match = _DIGEST.match(digest) if isinstance(digest, str) else None
    if not match:
        raise ArchiveError(f"not a content digest: {str(digest)[:80]!r}")
    return f"blobs/{match.group('alg')}/{match.group('hex')}"


def _pick_manifest(manifests: list[Any], platform: str | None) -> dict[str, Any]:
    """The entry of an index to follow: the one for `platform` (`os/arch`), else linux/amd64, else the
    first that is not an attestation."""
    entries = [m for m in manifests if isinstance(m, dict)]
    real = [m for m in entries if (m.get("platform") or {}).get("os") != "unknown"] or entries
    if not real:
        raise ArchiveError("index.json lists no image manifest")
    for wanted in (platform, "linux/amd64"):
        for m in real:
            p = m.get("platform") or {}
            if wanted and f"{p.get('os')}/{p.get('architecture')}" == wanted:
                return m
    return real[0]


def resolve_oci(read_blob: Callable[[str], bytes], index: Any, platform: str | None = None) -> tuple[str, list[str]]:
    """Follow an OCI `index.json` to one image: (config blob path, layer blob paths in order).
    Raises ArchiveError."""
    doc = index
    for _ in range(4):  # index -> (nested index ->) manifest
        if not isinstance(doc, dict):
            raise ArchiveError("index.json: not a JSON object")
        if isinstance(doc.get("manifests"), list):
            entry = _pick_manifest(doc["manifests"], platform)
            doc = _json(read_blob(blob_path(entry.get("digest", ""))), "image manifest")
            continue
        config = doc.get("config") or {}
        layers = doc.get("layers")
        if not isinstance(config, dict) or not isinstance(layers, list):
            raise ArchiveError("image manifest: no config or layers")
        return blob_path(config.get("digest", "")), [blob_path((x or {}).get("digest", "")) for x in layers]
    raise ArchiveError("index.json: indexes nested too deeply")


# ---------------------------------------------------------------------------------------------- docker save


def _layer_candidate(name: str) -> bool:
    return name.endswith(".tar") or name.startswith("blobs/")


def read_saved(
    stream: IO[bytes], source: str, *, capture: Capture = never, compress: bool = False, platform: str | None = None
) -> ImageArchive:
    """Read a `docker save` archive (plain or gzip-compressed) from `stream` in one pass. Raises
    ArchiveError when it is not an image archive, tarfile.TarError when the tar breaks off."""
    head = stream.read(2)
    outer: IO[bytes] | gzip.GzipFile = io.BufferedReader(_Prefixed(head, stream), CHUNK)
    if head == _GZIP_MAGIC:
        outer = gzip.GzipFile(fileobj=outer, mode="rb")
    layers: dict[str, LayerFiles] = {}
    small: dict[str, bytes] = {}
    aliases: dict[str, str] = {}
    kept = entries = 0
    with tarfile.open(fileobj=outer, mode="r|") as archive:
        for member in archive:
            entries += 1
            if entries > MAX_ENTRIES:
                raise ArchiveError(f"more than {MAX_ENTRIES:,} members: not an image archive")
            name = normalise(member.name)
            if member.issym() and _layer_candidate(name):  # docker save links a repeated layer to its twin
                aliases[name] = normalise(posixpath.join(posixpath.dirname(name), member.linkname))
                continue
            if not member.isreg():
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            start = handle.read(512)
            tarry = start[257:262] == b"ustar" or start[:2] == _GZIP_MAGIC or start[:4] == _ZSTD_MAGIC
            if _layer_candidate(name) and (tarry or _is_empty_tar(start)):
                layers[name] = scan_layer(name, _Prefixed(start, handle), capture=capture, compress=compress)
            elif member.size <= JSON_LIMIT and kept + member.size <= SMALL_BLOBS_LIMIT:
                small[name] = start + handle.read()
                kept += member.size
    return _assemble(source, layers, small, aliases, platform)


def _assemble(
    source: str, layers: dict[str, LayerFiles], small: dict[str, bytes], aliases: dict[str, str], platform: str | None
) -> ImageArchive:
    def blob(name: str) -> bytes:
        if name not in small:
            raise ArchiveError(f"the archive names {name} but does not hold it")
        return small[name]

    def layer(name: str) -> LayerFiles:
        seen = 0
        while name in aliases and seen < 8:
            name, seen = aliases[name], seen + 1
        if name not in layers:
            raise ArchiveError(f"the archive names layer {name} but does not hold it")
        return layers[name]

    tags: tuple[str, ...] = ()
    if "manifest.json" in small:
        manifest = _json(small["manifest.json"], "manifest.json")
        if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
            raise ArchiveError("manifest.json: expected a list of images")
        entry = manifest[0]
        config_name, layer_names = normalise(str(entry.get("Config", ""))), entry.get("Layers") or []
        tags = tuple(str(t) for t in entry.get("RepoTags") or ())
        notes = (f"the archive holds {len(manifest)} images: the first is read",) if len(manifest) > 1 else ()
    elif "index.json" in small:
        config_name, layer_names = resolve_oci(blob, _json(small["index.json"], "index.json"), platform)
        notes = ()
    else:
        raise ArchiveError("not an image archive: no manifest.json or index.json (docker save or OCI layout)")
    ordered = [layer(normalise(str(n))) for n in layer_names]  # a layer listed twice is one shared object
    return ImageArchive(source, ordered, parse_config(blob(config_name)), tags, notes)


# ---------------------------------------------------------------------------------------------- OCI layout


def _open_blob(root: Path, name: str) -> IO[bytes]:
    """Open `root/name` for reading: a regular file inside the layout, links never followed."""
    path = root / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(path, "not a regular file")
    return os.fdopen(fd, "rb")


def read_layout(
    root: Path, *, capture: Capture = never, compress: bool = False, platform: str | None = None
) -> ImageArchive:
    """Read an OCI image-layout directory (layers opened one at a time, in order). Raises InputError for
    a file that cannot be read, ArchiveError when the layout is not an image."""

    def read_blob(name: str) -> bytes:
        with _open_blob(root, name) as handle:
            data = handle.read(JSON_LIMIT + 1)
        if len(data) > JSON_LIMIT:
            raise ArchiveError(f"{name}: over {JSON_LIMIT >> 20} MB: not a manifest or configuration")
        return data

    config_name, layer_names = resolve_oci(read_blob, _json(read_blob("index.json"), "index.json"), platform)
    config = parse_config(read_blob(config_name))
    layers = []
    for name in layer_names:
        with _open_blob(root, name) as handle:
            layers.append(scan_layer(name, handle, capture=capture, compress=compress))
    return ImageArchive(str(root), layers, config)
