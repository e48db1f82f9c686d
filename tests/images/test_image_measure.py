"""measure.py over a real `docker save` archive (tests/fixtures/docker/tiny-save.tar.gz: whiteouts, an
opaque directory, four pip-installed distributions) and over hand-made file maps for the merge rules."""

from __future__ import annotations

import csv
import gzip
import io
import tarfile
import zlib

import pytest

from depaudit.images.engine import parse_history
from depaudit.images.measure import (
    LayerScan,
    accelerator_breakdown,
    measurement_from_scan,
    merge_layers,
    python_distributions,
    scan_archive,
)

from fixture_paths import FIXTURES

ARCHIVE = FIXTURES / "docker" / "tiny-save.tar.gz"
SITE = "usr/lib/python3.11/site-packages"


@pytest.fixture(scope="module")
def scan():
    with gzip.open(ARCHIVE) as stream:
        return scan_archive(stream)


@pytest.fixture(scope="module")
def layer_tars():
    """The archive's layer tars as bytes, in manifest order (read independently with tarfile)."""
    import json

    with tarfile.open(ARCHIVE) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        return [archive.extractfile(name).read() for name in manifest[0]["Layers"]]


def test_layers_follow_the_manifest_and_compressed_sizes_match_gzip(scan, layer_tars):
    assert len(scan.layers) == len(layer_tars) == 5
    for layer, raw in zip(scan.layers, layer_tars, strict=False):
        assert layer.tar_bytes == len(raw)
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)
        assert layer.compressed_bytes == len(packer.compress(raw) + packer.flush())
    assert scan.compressed_size == sum(layer.compressed_bytes for layer in scan.layers)
    assert scan.tags == ("depaudit-fixture/tiny:1",)


def test_whiteouts_and_opaque_directories_are_applied(scan):
    files, records = merge_layers(scan.layers)
    assert f"{SITE}/six.py" not in files  # deleted by a later RUN
    assert "data/kept" in files and "data/old1" not in files and "data/old2" not in files
    assert files["bin/busybox"] == 1982256
    assert f"{SITE}/six-1.17.0.dist-info/RECORD" in records


def test_distribution_sizes_are_their_record_files_still_present(scan, layer_tars):
    files, records = merge_layers(scan.layers)
    dists = {d.name: d for d in python_distributions(files, records)}
    assert set(dists) == {"six", "idna", "markupsafe", "nvidia-ml-py"}
    # independent sum: RECORD paths that exist in the copied layer, minus six.py deleted later
    with tarfile.open(fileobj=io.BytesIO(layer_tars[1])) as layer:
        sizes = {m.name.lstrip("./"): m.size for m in layer.getmembers() if m.isreg()}
        for name in ("idna-3.20", "nvidia_ml_py-13.615.71", "six-1.17.0"):
            record = layer.extractfile(f"{SITE}/{name}.dist-info/RECORD").read().decode()
            paths = [f"{SITE}/{row[0]}" for row in csv.reader(record.splitlines()) if row]
            expected = sum(sizes[p] for p in paths if p in sizes and p != f"{SITE}/six.py")
            dist = dists[name.split("-")[0].replace("_", "-")]
            assert dist.size == expected
    assert dists["six"].size < 10_000  # its module is gone; only the dist-info remains
    assert dists["nvidia-ml-py"].accelerator == "nvidia" and dists["idna"].accelerator is None


def test_measurement_counts_accelerator_bytes_and_lists_shared_libraries(scan):
    history = parse_history((FIXTURES / "docker" / "history-tiny.jsonl").read_text())
    m = measurement_from_scan("tiny", 123, history, scan, top=10)
    dists = {name.split("==")[0]: size for name, size in m.python_packages}
    assert m.accelerator_bytes == dists["nvidia-ml-py"]
    assert dict(m.extra)["accelerator_families"] == {"nvidia": dists["nvidia-ml-py"]}
    assert [path for path, _ in m.shared_libraries] == [f"/{SITE}/markupsafe/_speedups.cpython-311-x86_64-linux-gnu.so"]
    assert len(m.layers) == sum(1 for e in history if e.size > 0)
    assert m.compressed_size == scan.compressed_size


def test_deleting_a_directory_removes_its_children_but_not_same_layer_files():
    base = LayerScan("a", files={"opt/x/1": 10, "opt/x/2": 20, "opt/xy": 5})
    wipe = LayerScan("b", files={"opt/x/3": 7}, opaque={"opt/x"})
    files, _ = merge_layers([base, wipe])
    assert files == {"opt/xy": 5, "opt/x/3": 7}
    gone = LayerScan("c", deleted={"opt/x"})
    files, _ = merge_layers([base, wipe, gone])
    assert files == {"opt/xy": 5}


def test_cuda_libraries_outside_accelerator_wheels_are_counted():
    files = {
        "opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so": 1000,
        "opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so": 500,
        "usr/local/cuda/lib64/libcublasLt.so.12.8.4.1": 300,
        "usr/lib/x86_64-linux-gnu/libcurl.so.4": 50,
    }
    assert accelerator_breakdown(files, [], {}) == {"cuda-libraries": 1300}


def test_a_file_that_is_not_a_docker_archive_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    buffer.seek(0)
    with pytest.raises(ValueError, match=r"no manifest\.json"):
        scan_archive(buffer)
