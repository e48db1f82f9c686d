"""What a container image costs and where the bytes are.

`measure_image(ref)` asks the engine for the image's size and layer history, then streams
`docker save` once: every layer tar is gzip-compressed on the fly to learn what a registry would store
(the bytes are counted and thrown away; nothing is held in memory or written to disk), and the same
bytes are read as a tar to list the files each layer adds or deletes. Merging the layers (whiteouts
applied) gives the image's final file system, from which come the largest Python distributions (by
their `*.dist-info/RECORD`), the largest shared libraries and the bytes of accelerator libraries.

Reading the layer tars rather than running `du` inside a container works for any image (no shell or
`du` needed, nothing executed from the image), sees files a later layer deleted (they still cost
bytes in the image) and gets compression from the same single pass.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import posixpath
import re
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from depaudit.analysis.accelerators import accelerator_family
from depaudit.errors import ToolError
from depaudit.images import engine
from depaudit.images.archive import GzipCounter
from depaudit.images.engine import HistoryEntry
from depaudit.model import ImageMeasurement, LayerMeasurement
from depaudit.names import canonical_name

_CHUNK = 1 << 20
_RECORD_LIMIT = 16 << 20
_SHARED_LIBRARY = re.compile(r"\.so(\.\d+)*$")
_DIST_INFO_RECORD = re.compile(r"^(?P<site>.*/(?:site|dist)-packages)/(?P<dist>[^/]+)\.dist-info/RECORD$")
# CUDA/ROCm runtime libraries wherever they sit: inside torch's wheel (libtorch_cuda.so), a CUDA base
# image (/usr/local/cuda/lib64) or a package that vendors them.
_ACCELERATOR_LIBRARY = re.compile(
    r"(?:^|/)lib(?:cudart|cublas(?:Lt)?|cudnn\w*|cufft\w*|curand|cusolver\w*|cusparse\w*|nccl|nvrtc\w*|"
    r"nvJitLink|nvToolsExt|cupti|nvshmem\w*|cufile\w*|torch_cuda\w*|c10_cuda|caffe2_nvrtc|cuda|"
    r"nvidia-ml|amdhip64|rocblas|miopen\w*|hipblas\w*|rccl)[^/]*\.so(?:\.[\d.]+)?$"
)


@dataclass
class LayerScan:
    """What one layer tar holds: files it adds (path -> bytes), paths it deletes, directories it makes
    opaque, the dist-info RECORD files it carries, and its size gzip-compressed."""

    name: str
    files: dict[str, int] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    records: dict[str, str] = field(default_factory=dict)
    tar_bytes: int = 0
    compressed_bytes: int | None = None


@dataclass
class ArchiveScan:
    """A `docker save` archive read once: its layers in image order and the manifest's tags."""

    layers: list[LayerScan]
    tags: tuple[str, ...]

    @property
    def compressed_size(self) -> int | None:
        sizes = [layer.compressed_bytes for layer in self.layers]
        known = [s for s in sizes if s is not None]
        return sum(known) if len(known) == len(sizes) else None


@dataclass(frozen=True)
class Distribution:
    """A Python distribution found in the image, with the bytes its files take in the final file system."""

    name: str
    version: str
    location: str
    size: int
    accelerator: str | None


class _Prefixed(io.RawIOBase):
    """A read-only stream over `prefix` (bytes already read from `source`), then the rest of `source`."""

    def __init__(self, prefix: bytes, source: IO[bytes] | io.RawIOBase) -> None:
        self._prefix, self._source = prefix, source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # a writable buffer (bytearray or memoryview)
        if self._prefix:
            data, self._prefix = self._prefix[: len(buffer)], self._prefix[len(buffer) :]
        else:
            data = self._source.read(len(buffer)) or b""
        buffer[: len(data)] = data
        return len(data)


class _Tee(_Prefixed):
    """A read-only stream over `prefix` then `source` that hands every byte read to `sink`."""

    def __init__(self, source: IO[bytes] | io.RawIOBase, prefix: bytes, sink: Callable[[bytes], None]) -> None:
        super().__init__(prefix, source)
        self._sink = sink
        self.count = 0

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        if n:
            self._sink(bytes(buffer[:n]))
            self.count += n
        return n

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


def _normalise(name: str) -> str:
    if name.startswith("./"):
        name = name[2:]
    name = name.lstrip("/")
    return posixpath.normpath(name) if name else "."


def _read_layer_tar(stream: IO[bytes] | io.IOBase, scan: LayerScan) -> None:
    with tarfile.open(fileobj=stream, mode="r|") as layer:
        for member in layer:
            path = _normalise(member.name)
            directory, base = posixpath.split(path)
            if base == ".wh..wh..opq":
                scan.opaque.add(directory)
            elif base.startswith(".wh."):
                scan.deleted.add(posixpath.join(directory, base[4:]))
            elif member.isreg():
                scan.files[path] = member.size
                if path.endswith("/RECORD") and member.size <= _RECORD_LIMIT and _DIST_INFO_RECORD.match(path):
                    handle = layer.extractfile(member)
                    if handle is not None:
                        scan.records[path] = handle.read().decode("utf-8", "replace")
            elif member.islnk() or member.issym():
                scan.files[path] = 0  # a link costs no data bytes of its own


def scan_layer(name: str, data: IO[bytes] | io.RawIOBase, *, compress: bool = True) -> LayerScan:
    """Read one layer blob (an uncompressed or gzip-compressed tar) from `data`, counting its
    compressed size on the way. Raises tarfile.TarError if it is not a tar."""
    scan = LayerScan(name)
    head = data.read(512) or b""
    if head[:2] == b"\x1f\x8b":  # already gzip (OCI archives may store compressed blobs)
        counter = [0]
        tee = _Tee(data, head, lambda chunk: counter.__setitem__(0, counter[0] + len(chunk)))
        with gzip.GzipFile(fileobj=io.BufferedReader(tee, _CHUNK), mode="rb") as plain:
            _read_layer_tar(plain, scan)
        tee.drain()
        scan.compressed_bytes = counter[0]
        return scan
    gz = GzipCounter() if compress else None
    tee = _Tee(data, head, gz.feed if gz else (lambda chunk: None))
    _read_layer_tar(io.BufferedReader(tee, _CHUNK), scan)
    tee.drain()
    scan.tar_bytes = tee.count
    scan.compressed_bytes = gz.finish() if gz else None
    return scan


def _is_layer_candidate(name: str) -> bool:
    return name.endswith("/layer.tar") or name.startswith("blobs/")


def _looks_like_tar(head: bytes) -> bool:
    return head[257:262] == b"ustar" or head[:2] == b"\x1f\x8b"


def scan_archive(stream: IO[bytes], *, compress: bool = True) -> ArchiveScan:
    """Read a `docker save` archive (legacy or OCI layout) from a stream, in one pass.
    Raises ValueError when the archive has no manifest or names a layer it does not contain."""
    layers: dict[str, LayerScan] = {}
    manifest: list[dict[str, Any]] | None = None
    oci_index: dict[str, Any] | None = None
    small: dict[str, bytes] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isreg():
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            if member.name == "manifest.json":
                manifest = json.loads(handle.read())
                continue
            if member.name == "index.json":
                oci_index = json.loads(handle.read())
                continue
            if not _is_layer_candidate(member.name):
                continue
            head = handle.read(512)
            if len(head) == 512 and _looks_like_tar(head):
                layers[member.name] = scan_layer(member.name, _Prefixed(head, handle), compress=compress)
            elif member.size <= 1 << 20:
                small[member.name] = head + handle.read()
    if manifest is None:
        raise ValueError("not a docker save archive: no manifest.json" + (" (OCI index only)" if oci_index else ""))
    entry = manifest[0]
    ordered = []
    for name in entry.get("Layers") or ():
        if name not in layers:
            raise ValueError(f"docker save archive: manifest names layer {name} that is not in the archive")
        ordered.append(layers[name])
    return ArchiveScan(ordered, tuple(entry.get("RepoTags") or ()))


def merge_layers(layers: Iterable[LayerScan]) -> tuple[dict[str, int], dict[str, str]]:
    """The final file system (path -> bytes) and the RECORD files still present, after applying each
    layer's whiteouts in order."""
    files: dict[str, int] = {}
    records: dict[str, str] = {}
    for layer in layers:
        gone = [(d, True) for d in layer.opaque] + [(p, False) for p in layer.deleted]
        if gone:
            for target, opaque in gone:
                prefix = target.rstrip("/") + "/"
                for path in [p for p in files if p.startswith(prefix) or (not opaque and p == target)]:
                    files.pop(path)
                    records.pop(path, None)
        files.update(layer.files)
        records.update(layer.records)
    return files, records


def _parse_record_paths(site: str, record: str) -> list[str]:
    paths = []
    for line in record.splitlines():
        if not line.strip():
            continue
        # RECORD is CSV; a path holding a comma is quoted.
        raw = next(iter(_csv_row(line)), "")
        if raw:
            paths.append(posixpath.normpath(posixpath.join(site, raw)))
    return paths


def _csv_row(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _split_dist_name(dist_info: str) -> tuple[str, str]:
    name, _, version = dist_info.partition("-")
    return canonical_name(name), version


def python_distributions(files: dict[str, int], records: dict[str, str]) -> list[Distribution]:
    """Every distribution with a RECORD in the final file system, sized by the files of its RECORD
    that are still present (files its RECORD lists but a later step deleted cost nothing). Files a
    RECORD does not list under a site-packages top-level directory one distribution owns (bytecode
    compiled later, say) are counted for that distribution. Largest first."""
    owner: dict[str, int] = {}
    dists: list[tuple[str, str, str]] = []
    for record_path, text in sorted(records.items()):
        match = _DIST_INFO_RECORD.match(record_path)
        if not match:
            continue
        name, version = _split_dist_name(match.group("dist"))
        index = len(dists)
        dists.append((name, version, match.group("site")))
        for path in _parse_record_paths(match.group("site"), text):
            if path in files:
                owner.setdefault(path, index)
        owner.setdefault(record_path, index)
    sizes = [0] * len(dists)
    top_owner: dict[str, set[int]] = {}
    for path, index in owner.items():
        sizes[index] += files[path]
        top = _top_level(path, dists[index][2])
        if top:
            top_owner.setdefault(top, set()).add(index)
    for path, size in files.items():
        if path in owner:
            continue
        for _, _, site in dists:
            top = _top_level(path, site)
            if top and len(top_owner.get(top, ())) == 1:
                sizes[next(iter(top_owner[top]))] += size
                break
    result = [
        Distribution(name, version, site, sizes[i], accelerator_family(name, version))
        for i, (name, version, site) in enumerate(dists)
    ]
    return sorted(result, key=lambda d: (-d.size, d.name))


def _top_level(path: str, site: str) -> str | None:
    if not path.startswith(site + "/"):
        return None
    rest = path[len(site) + 1 :]
    return site + "/" + rest.split("/", 1)[0] if "/" in rest else None


def shared_libraries(files: dict[str, int]) -> list[tuple[str, int]]:
    """Shared libraries (`*.so`, `*.so.N...`) in the final file system, largest first."""
    libs = [(path, size) for path, size in files.items() if size and _SHARED_LIBRARY.search(path)]
    return sorted(libs, key=lambda item: (-item[1], item[0]))


def accelerator_breakdown(files: dict[str, int], dists: list[Distribution], records: dict[str, str]) -> dict[str, int]:
    """Bytes of accelerator libraries by family: whole accelerator distributions (nvidia-*, triton...)
    plus CUDA/ROCm runtime libraries found anywhere else (torch's libtorch_cuda.so, a CUDA base image)."""
    families: dict[str, int] = {}
    counted: set[str] = set()
    for dist in dists:
        if dist.accelerator:
            families[dist.accelerator] = families.get(dist.accelerator, 0) + dist.size
            record = records.get(f"{dist.location}/{_dist_info_dir(dist, records)}/RECORD", "")
            counted.update(_parse_record_paths(dist.location, record))
    for path, size in files.items():
        if size and path not in counted and _ACCELERATOR_LIBRARY.search(path):
            families["cuda-libraries"] = families.get("cuda-libraries", 0) + size
    return families


def _dist_info_dir(dist: Distribution, records: dict[str, str]) -> str:
    for record_path in records:
        match = _DIST_INFO_RECORD.match(record_path)
        if (
            match
            and match.group("site") == dist.location
            and _split_dist_name(match.group("dist")) == (dist.name, dist.version)
        ):
            return match.group("dist") + ".dist-info"
    return ""


def measurement_from_scan(
    image: str,
    size: int,
    history: list[HistoryEntry],
    scan: ArchiveScan,
    *,
    top: int | None = 15,
    info: dict[str, object] | None = None,
) -> ImageMeasurement:
    """Assemble an ImageMeasurement from the engine's size and history and a scanned archive."""
    files, records = merge_layers(scan.layers)
    dists = python_distributions(files, records)
    families = accelerator_breakdown(files, dists, records)
    layers = tuple(LayerMeasurement(entry.created_by, entry.size) for entry in history if entry.size > 0)
    extra: dict[str, object] = dict(info or {})
    extra.update(
        {
            "files": len(files),
            "python_packages_bytes": sum(d.size for d in dists),
            "python_package_count": len(dists),
            "accelerator_families": dict(sorted(families.items())),
            "accelerator_packages": [f"{d.name}=={d.version}" for d in dists if d.accelerator],
        }
    )
    return ImageMeasurement(
        image=image,
        size=size,
        compressed_size=scan.compressed_size,
        layers=layers,
        python_packages=tuple((f"{d.name}=={d.version}", d.size) for d in dists[:top]),
        shared_libraries=tuple(("/" + path, size) for path, size in shared_libraries(files)[:top]),
        accelerator_bytes=sum(families.values()),
        extra=tuple(extra.items()),
    )


StreamWrapper = Callable[[IO[bytes], int], IO[bytes]]
"""Wraps the `docker save` stream, given the image's size (e.g. to report progress as it is read)."""


def measure_image(
    ref: str, *, compressed: bool = True, top: int | None = 15, wrap: StreamWrapper | None = None
) -> ImageMeasurement:
    """Measure image `ref` on the local engine (see the module docstring). `compressed=False` skips the
    gzip pass (the slow part for GB images; compressed_size is then None); `wrap` wraps the archive
    stream as it is read. Raises ToolError when the engine is unreachable, the image does not exist or
    `docker save` fails."""
    info = engine.inspect_image(ref)
    history = engine.image_history(ref)
    with engine.docker_stream(["save", ref]) as stream:
        try:
            scan = scan_archive(wrap(stream, info.size) if wrap else stream, compress=compressed)
        except (ValueError, tarfile.TarError) as exc:
            raise ToolError(["docker", "save", ref], "", what=f"docker save {ref}: {exc}") from None
    details = {
        "id": info.id,
        "user": info.user or "root",
        "healthcheck": info.healthcheck,
        "architecture": info.architecture,
        "created": info.created,
    }
    return measurement_from_scan(ref, info.size, history, scan, top=top, info=details)
