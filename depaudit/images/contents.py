"""What an image read by `depaudit.images.archive` carries: its final file system, the bytes its layers
waste, its Python environments and packages, its accelerator runtimes, its largest files and the caches a
build left behind. Pure: everything comes from the `ImageArchive`.

Wasted bytes are what a layer adds and a later layer hides again, by deleting the path (a whiteout, an
opaque directory) or by writing it anew: they are in the image, and no container ever sees them. So the
image's size is exactly its final file system plus its wasted bytes. `efficiency` is dive's score: over
every path, the smallest copy any layer holds divided by the sum of all its copies (a deleted file counts
as a copy of 0 bytes; like dive, a deleted directory counts once, at its own path, so it lowers the score
only where the directory was empty before).
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from depaudit.analysis.accelerators import accelerator_family
from depaudit.images.archive import ImageArchive, LayerFiles
from depaudit.images.engine import clean_created_by
from depaudit.names import canonical_name

DIST_INFO_RECORD = re.compile(r"^(?P<site>.*/(?:site|dist)-packages)/(?P<dist>[^/]+)\.dist-info/RECORD$")
# CUDA/ROCm runtime libraries wherever they sit: inside torch's wheel (libtorch_cuda.so), a CUDA base
# image (/usr/local/cuda/lib64), an nvidia-* wheel or a package that vendors them.
ACCELERATOR_LIBRARY = re.compile(
    r"(?:^|/)lib(?:cudart|cublas(?:Lt)?|cudnn\w*|cufft\w*|curand|cusolver\w*|cusparse\w*|nccl|nvrtc\w*|"
    r"nvJitLink|nvToolsExt|nvtx\w*|cupti|nvshmem\w*|cufile\w*|nvperf\w*|cusparseLt|torch_cuda\w*|c10_cuda|"
    r"caffe2_nvrtc|cuda|nvidia-ml|amdhip64|hiprtc|rocblas|rocsolver|rocfft|miopen\w*|hipblas\w*|rccl|roctracer\w*|"
    r"MIOpen|onnxruntime_providers_(?:cuda|tensorrt|rocm|migraphx))[^/]*\.so(?:\.[\d.]+)?$"
)
CACHE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pip", re.compile(r"(?:^|/)\.cache/pip/")),
    ("uv", re.compile(r"(?:^|/)\.cache/uv/")),
    ("poetry", re.compile(r"(?:^|/)\.cache/pypoetry/")),
    ("conda", re.compile(r"(?:^|/)(?:opt/conda|miniconda3|anaconda3|\.conda)/pkgs/")),
    ("apt-lists", re.compile(r"^var/lib/apt/lists/(?!lock$|partial/?$)")),
    ("apt-archives", re.compile(r"^var/cache/apt/(?:archives/.*\.deb|[^/]+\.bin)$")),
    ("pycache", re.compile(r"(?:^|/)__pycache__/")),
)
"""Caches a build leaves behind, by where they live (first match wins)."""


@dataclass(frozen=True)
class WastedFile:
    """Bytes a layer added that a later layer hid: by a whiteout or opaque directory ("deleted") or by
    writing the path again ("overwritten")."""

    path: str
    size: int
    added_in: int
    hidden_by: int
    how: str


@dataclass(frozen=True)
class LayerSummary:
    """One layer: the instruction that made it, the bytes it adds, how many of them later layers hide,
    and how many bytes of the layers below it hides itself."""

    index: int
    created_by: str | None
    size: int
    files: int
    wasted: int
    hides: int
    error: str | None = None


@dataclass(frozen=True)
class OwnedFile:
    """A file of the final file system with the package that installed it (None: no Python package)."""

    path: str
    size: int
    layer: int
    owner: str | None
    accelerator: bool


@dataclass(frozen=True)
class PackageUsage:
    """A Python distribution found in the image, with the bytes its files take in the final file system.
    `accelerator`: its family when the whole package is an accelerator runtime (nvidia-*, triton...);
    `accelerator_bytes`: the bytes of accelerator runtime libraries it holds (all of it for such a
    package, the CUDA libraries alone for torch)."""

    name: str
    version: str
    site: str
    size: int
    files: int
    accelerator: str | None
    accelerator_bytes: int

    @property
    def label(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class PythonEnvironment:
    """One `site-packages` (or `dist-packages`) directory and the distributions installed in it."""

    site: str
    python: str | None
    packages: tuple[PackageUsage, ...]

    @property
    def size(self) -> int:
        return sum(p.size for p in self.packages)


@dataclass(frozen=True)
class CacheUse:
    """Bytes of one kind of cache (pip, uv, apt lists, `__pycache__`...) and the folders they sit in."""

    kind: str
    size: int
    files: int
    places: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ImageContents:
    """Everything `image scan` reports about one image."""

    image: str
    tags: tuple[str, ...]
    architecture: str
    os: str
    size: int
    compressed_size: int | None
    files: int
    layers: tuple[LayerSummary, ...]
    wasted: int
    efficiency: float
    wasted_files: tuple[WastedFile, ...]
    environments: tuple[PythonEnvironment, ...]
    accelerator_bytes: int
    accelerator_families: tuple[tuple[str, int], ...]
    accelerator_files: tuple[OwnedFile, ...]
    largest_files: tuple[OwnedFile, ...]
    caches: tuple[CacheUse, ...]
    notes: tuple[str, ...] = ()

    @property
    def packages(self) -> tuple[PackageUsage, ...]:
        """Every package of every environment, largest first."""
        found = [p for env in self.environments for p in env.packages]
        return tuple(sorted(found, key=lambda p: (-p.size, p.name, p.site)))


# ---------------------------------------------------------------------------------------------- layers


@dataclass
class Merged:
    """The final file system (path -> (bytes, layer that wrote it)), the wasted files and dive's score
    parts (per path: the sum of its copies and its smallest copy)."""

    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    wasted: list[WastedFile] = field(default_factory=list)
    copies: dict[str, int] = field(default_factory=dict)
    smallest: dict[str, int] = field(default_factory=dict)

    def copy(self, path: str, size: int) -> None:
        self.copies[path] = self.copies.get(path, 0) + size
        low = self.smallest.get(path)
        self.smallest[path] = size if low is None or size < low else low

    @property
    def efficiency(self) -> float:
        total = sum(self.copies.values())
        return 1.0 if total == 0 else sum(self.smallest.values()) / total


def _ancestor_in(path: str, dirs: set[str]) -> str | None:
    """The nearest ancestor directory of `path` that is in `dirs` ("." stands for the root)."""
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        if path in dirs:
            return path
    return "." if "." in dirs else None


def _hide(merged: Merged, layer: LayerFiles, index: int) -> None:
    """Apply a layer's whiteouts and opaque directories to the files below it."""
    deleted, gone = layer.deleted, layer.deleted | layer.opaque
    under: dict[str, int] = {}
    for path in [p for p in merged.files if p in deleted or _ancestor_in(p, gone) is not None]:
        size, added = merged.files.pop(path)
        merged.wasted.append(WastedFile(path, size, added, index, "deleted"))
        top = path if path in deleted else _ancestor_in(path, gone)
        if top is not None and top != path:
            under[top] = under.get(top, 0) + size
    for target in deleted:
        merged.copy(target, under.get(target, 0))  # a deleted file: a copy of 0 bytes (dive's rule)


def merge_layers(layers: Sequence[LayerFiles]) -> Merged:
    """Stack the layers (whiteouts applied in order): the final file system and what was hidden."""
    merged = Merged()
    for index, layer in enumerate(layers):
        if layer.deleted or layer.opaque:
            _hide(merged, layer, index)
        for path, size in layer.files.items():
            old = merged.files.get(path)
            if old is not None:
                merged.wasted.append(WastedFile(path, old[0], old[1], index, "overwritten"))
            merged.files[path] = (size, index)
            merged.copy(path, size)
    return merged


def layer_summaries(archive: ImageArchive, merged: Merged) -> tuple[LayerSummary, ...]:
    wasted = [0] * len(archive.layers)
    hides = [0] * len(archive.layers)
    for item in merged.wasted:
        wasted[item.added_in] += item.size
        hides[item.hidden_by] += item.size
    commands = [None if c is None else clean_created_by(c) for c in archive.config.layer_commands(len(archive.layers))]
    return tuple(
        LayerSummary(i, commands[i], layer.size, len(layer.files), wasted[i], hides[i], layer.error)
        for i, layer in enumerate(archive.layers)
    )


# ---------------------------------------------------------------------------------------------- packages


def record_paths(site: str, record: str) -> list[str]:
    """The image paths a RECORD lists (its paths are relative to site-packages; `../../bin/x` too)."""
    paths = []
    for row in csv.reader(io.StringIO(record, newline="")):  # a quoted path may hold a newline
        if row and row[0].strip():
            paths.append(posixpath.normpath(posixpath.join(site, row[0])))
    return paths


def _top_level(path: str, site: str) -> str | None:
    if not path.startswith(site + "/"):
        return None
    rest = path[len(site) + 1 :]
    return site + "/" + rest.split("/", 1)[0] if "/" in rest else None


def _python_of(site: str) -> str | None:
    match = re.search(r"/python(\d+(?:\.\d+)?)/(?:site|dist)-packages$", site)
    return match.group(1) if match else None


def final_records(layers: Iterable[LayerFiles], files: dict[str, tuple[int, int]]) -> dict[str, str]:
    """The RECORD texts still in the final file system (the last layer to write each wins)."""
    records: dict[str, str] = {}
    for layer in layers:
        records.update(layer.records)
    return {path: text for path, text in records.items() if path in files}


@dataclass(frozen=True)
class _Dist:
    name: str
    version: str
    site: str


def owners(files: dict[str, tuple[int, int]], records: dict[str, str]) -> tuple[list[_Dist], dict[str, int]]:
    """Every distribution with a RECORD and the owner (index into the list) of each file: the files its
    RECORD lists, and files no RECORD lists under a top-level directory exactly one distribution of that
    site owns (bytecode compiled later, say)."""
    dists: list[_Dist] = []
    owner: dict[str, int] = {}
    for record_path, text in sorted(records.items()):
        match = DIST_INFO_RECORD.match(record_path)
        if not match:
            continue
        name, _, version = match.group("dist").partition("-")
        dists.append(_Dist(canonical_name(name), version, match.group("site")))
        for path in [*record_paths(match.group("site"), text), record_path]:
            if path in files:
                owner.setdefault(path, len(dists) - 1)
    tops: dict[str, set[int]] = {}
    for path, index in owner.items():
        top = _top_level(path, dists[index].site)
        if top:
            tops.setdefault(top, set()).add(index)
    sites = {d.site for d in dists}
    for path in files:
        if path in owner:
            continue
        for site in sites:
            top = _top_level(path, site)
            if top and len(tops.get(top, ())) == 1:
                owner[path] = next(iter(tops[top]))
                break
    return dists, owner


def _packages(
    dists: list[_Dist], owner: dict[str, int], files: dict[str, tuple[int, int]]
) -> dict[str, list[PackageUsage]]:
    sizes, counts, accel = [0] * len(dists), [0] * len(dists), [0] * len(dists)
    families = [accelerator_family(d.name, d.version) for d in dists]
    for path, index in owner.items():
        size = files[path][0]
        sizes[index] += size
        counts[index] += 1
        if families[index] or ACCELERATOR_LIBRARY.search(path):
            accel[index] += size
    by_site: dict[str, list[PackageUsage]] = {}
    for i, d in enumerate(dists):
        usage = PackageUsage(d.name, d.version, d.site, sizes[i], counts[i], families[i], accel[i])
        by_site.setdefault(d.site, []).append(usage)
    return by_site


def environments(
    dists: list[_Dist], owner: dict[str, int], files: dict[str, tuple[int, int]]
) -> tuple[PythonEnvironment, ...]:
    """One entry per site-packages directory, packages largest first; environments largest first."""
    found = [
        PythonEnvironment(site, _python_of(site), tuple(sorted(usages, key=lambda p: (-p.size, p.name))))
        for site, usages in _packages(dists, owner, files).items()
    ]
    return tuple(sorted(found, key=lambda e: (-e.size, e.site)))


# ---------------------------------------------------------------------------------------------- files


def _owned(path: str, size: int, layer: int, dists: list[_Dist], owner: dict[str, int], accelerator: bool) -> OwnedFile:
    index = owner.get(path)
    label = None if index is None else f"{dists[index].name}=={dists[index].version}"
    return OwnedFile("/" + path, size, layer, label, accelerator)


def _is_accelerator_file(path: str, index: int | None, families: list[str | None]) -> bool:
    if index is not None and families[index]:
        return True
    return bool(ACCELERATOR_LIBRARY.search(path))


def accelerator_files(
    files: dict[str, tuple[int, int]], dists: list[_Dist], owner: dict[str, int]
) -> tuple[list[OwnedFile], dict[str, int]]:
    """Every accelerator runtime file (a file of an accelerator package, or a CUDA/ROCm library anywhere),
    largest first, and their bytes by family ("cuda-libraries" for the libraries outside such packages)."""
    families = [accelerator_family(d.name, d.version) for d in dists]
    found: list[OwnedFile] = []
    by_family: dict[str, int] = {}
    for path, (size, layer) in files.items():
        index = owner.get(path)
        if not size or not _is_accelerator_file(path, index, families):
            continue
        family = (families[index] if index is not None else None) or "cuda-libraries"
        by_family[family] = by_family.get(family, 0) + size
        found.append(_owned(path, size, layer, dists, owner, True))
    found.sort(key=lambda f: (-f.size, f.path))
    return found, by_family


def caches(files: dict[str, tuple[int, int]]) -> tuple[CacheUse, ...]:
    """Bytes of every cache kind found, with the directories holding most of them."""
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    places: dict[str, dict[str, int]] = {}
    for path, (size, _) in files.items():
        for kind, pattern in CACHE_PATTERNS:
            match = pattern.search(path)
            if match:
                sizes[kind] = sizes.get(kind, 0) + size
                counts[kind] = counts.get(kind, 0) + 1
                place = "/" + (path[: match.end()].rstrip("/") if kind != "pycache" else _pycache_root(path))
                where = places.setdefault(kind, {})
                where[place] = where.get(place, 0) + size
                break
    return tuple(
        CacheUse(kind, sizes[kind], counts[kind], tuple(sorted(places[kind].items(), key=lambda p: -p[1])[:5]))
        for kind, _ in CACHE_PATTERNS
        if kind in sizes
    )


def _pycache_root(path: str) -> str:
    """Where `__pycache__` directories are grouped: the site-packages holding them, else their top folder."""
    match = re.match(r"^(.*?/(?:site|dist)-packages)/", path)
    if match:
        return match.group(1)
    return "/".join(path.split("/")[:3])


# ---------------------------------------------------------------------------------------------- together


def analyse(archive: ImageArchive, *, top: int = 15, image: str | None = None) -> ImageContents:
    """Everything `image scan` reports about `archive`; lists of files cut to `top` entries."""
    merged = merge_layers(archive.layers)
    files = merged.files
    dists, owner = owners(files, final_records(archive.layers, files))
    accel, families = accelerator_files(files, dists, owner)
    family_accel = [accelerator_family(d.name, d.version) for d in dists]
    largest = sorted(files.items(), key=lambda item: (-item[1][0], item[0]))[:top]
    wasted = sorted(merged.wasted, key=lambda w: (-w.size, w.path))
    notes = list(archive.notes) + [f"layer {i}: {layer.error}" for i, layer in enumerate(archive.layers) if layer.error]
    return ImageContents(
        image=image or archive.source,
        tags=archive.tags,
        architecture=archive.config.architecture,
        os=archive.config.os,
        size=archive.size,
        compressed_size=archive.compressed_size,
        files=len(files),
        layers=layer_summaries(archive, merged),
        wasted=sum(w.size for w in merged.wasted),
        efficiency=merged.efficiency,
        wasted_files=tuple(wasted[:top]),
        environments=environments(dists, owner, files),
        accelerator_bytes=sum(families.values()),
        accelerator_families=tuple(sorted(families.items(), key=lambda item: (-item[1], item[0]))),
        accelerator_files=tuple(accel[:top]),
        largest_files=tuple(
            _owned(path, size, layer, dists, owner, _is_accelerator_file(path, owner.get(path), family_accel))
            for path, (size, layer) in largest
        ),
        caches=caches(files),
        notes=tuple(notes),
    )
