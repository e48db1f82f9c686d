"""What an image carries (depaudit.images.contents): wasted bytes and dive's efficiency, Python packages
and the owner of each file, accelerator runtime files, caches. The wasted bytes of the committed real
`docker save` fixture are checked against its own layer tars, read independently with tarfile."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from depaudit.images.archive import LayerFiles, read_saved
from depaudit.images.contents import analyse, caches, merge_layers

from fixture_paths import FIXTURES
from image_builders import docker_save, layer_tar

ARCHIVE = FIXTURES / "docker" / "tiny-save.tar.gz"
SITE = "usr/lib/python3.11/site-packages"


def test_wasted_bytes_of_the_real_fixture_are_what_its_later_layers_hide():
    sizes = []
    with tarfile.open(ARCHIVE) as saved:
        manifest = json.loads(saved.extractfile("manifest.json").read())
        for name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=io.BytesIO(saved.extractfile(name).read())) as layer:
                sizes.append({m.name.lstrip("./"): m.size for m in layer.getmembers() if m.isreg()})
    # tiny.Dockerfile: a RUN deletes six.py (copied by layer 1); another deletes /data (layer 2: old1, old2)
    expected = sizes[1][f"{SITE}/six.py"] + sizes[2]["data/old1"] + sizes[2]["data/old2"]
    with gzip.open(ARCHIVE) as stream:
        contents = analyse(read_saved(stream, "tiny"))
    assert contents.wasted == expected
    assert contents.size == sum(s for layer in sizes for s in layer.values())  # its layers hold no links
    hidden = {w.path: (w.added_in, w.hidden_by, w.how) for w in contents.wasted_files}
    assert hidden[f"{SITE}/six.py"] == (1, 3, "deleted") and hidden["data/old1"] == (2, 4, "deleted")
    assert [layer.wasted for layer in contents.layers] == [
        0,
        sizes[1][f"{SITE}/six.py"],
        expected - sizes[1][f"{SITE}/six.py"],
        0,
        0,
    ]


def test_image_size_is_the_final_file_system_plus_the_wasted_bytes():
    layers = [
        LayerFiles("a", files={"app/big": 1000, "app/small": 10, "etc/conf": 5}),
        LayerFiles("b", files={"app/big": 1000}),  # chmod: a whole second copy
        LayerFiles("c", files={}, deleted={"app/small"}),
    ]
    merged = merge_layers(layers)
    assert {p: s for p, (s, _) in merged.files.items()} == {"app/big": 1000, "etc/conf": 5}
    assert sum(w.size for w in merged.wasted) == 1010
    assert sum(s for layer in layers for s in layer.files.values()) == 1005 + 1010


def test_efficiency_is_dives_score():
    # dive: per path, the smallest copy over the sum of copies; a deleted file counts as a copy of 0 bytes
    layers = [
        LayerFiles("a", files={"x": 100, "y": 300}),
        LayerFiles("b", files={"x": 100}),
        LayerFiles("c", deleted={"y"}),
    ]
    merged = merge_layers(layers)
    assert merged.efficiency == pytest.approx((100 + 0) / (200 + 300))
    assert merge_layers([LayerFiles("a", files={"x": 5})]).efficiency == 1.0


def _packaged_image() -> bytes:
    site = "opt/venv/lib/python3.11/site-packages"
    torch_record = "torch/__init__.py,,\ntorch/lib/libtorch_cuda.so,,\ntorch/lib/libtorch_cpu.so,,\ntorch-2.8.0.dist-info/RECORD,,\n"
    cublas_record = "nvidia/cublas/lib/libcublas.so.12,,\nnvidia_cublas_cu12-12.8.4.1.dist-info/RECORD,,\n"
    return docker_save(
        [
            layer_tar([("usr/local/cuda/lib64/libcudart.so.12", b"c" * 40)]),
            layer_tar(
                [
                    (f"{site}/torch/__init__.py", b"i" * 10),
                    (f"{site}/torch/lib/libtorch_cuda.so", b"g" * 700),
                    (f"{site}/torch/lib/libtorch_cpu.so", b"p" * 200),
                    (f"{site}/torch/__pycache__/__init__.cpython-311.pyc", b"b" * 5),
                    (f"{site}/torch-2.8.0.dist-info/RECORD", torch_record.encode()),
                    (f"{site}/nvidia/cublas/lib/libcublas.so.12", b"n" * 500),
                    (f"{site}/nvidia_cublas_cu12-12.8.4.1.dist-info/RECORD", cublas_record.encode()),
                    ("root/.cache/pip/http-v2/a/b/c.body", b"w" * 90),
                    ("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", b"l" * 30),
                    ("var/lib/apt/lists/lock", b""),
                ]
            ),
        ]
    )


def test_packages_accelerator_files_and_owners():
    contents = analyse(read_saved(io.BytesIO(_packaged_image()), "img"))
    (env,) = contents.environments
    packages = {p.name: p for p in env.packages}
    torch_record = len(
        b"torch/__init__.py,,\ntorch/lib/libtorch_cuda.so,,\ntorch/lib/libtorch_cpu.so,,\ntorch-2.8.0.dist-info/RECORD,,\n"
    )
    assert packages["torch"].size == 10 + 700 + 200 + 5 + torch_record  # the .pyc compiled later counts for it
    assert packages["torch"].accelerator is None and packages["torch"].accelerator_bytes == 700
    assert packages["nvidia-cublas-cu12"].accelerator == "nvidia"
    assert env.python == "3.11" and env.site == "opt/venv/lib/python3.11/site-packages"
    named = {f.path: f.owner for f in contents.accelerator_files}
    assert named["/opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so"] == "torch==2.8.0"
    assert named["/usr/local/cuda/lib64/libcudart.so.12"] is None
    assert "/opt/venv/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so" not in named
    families = dict(contents.accelerator_families)
    assert families["cuda-libraries"] == 740 and families["nvidia"] == packages["nvidia-cublas-cu12"].size
    assert contents.accelerator_bytes == sum(families.values())


def test_caches_left_behind_are_found_by_kind():
    contents = analyse(read_saved(io.BytesIO(_packaged_image()), "img"))
    found = {c.kind: (c.size, c.files) for c in contents.caches}
    assert found == {"pip": (90, 1), "apt-lists": (30, 1), "pycache": (5, 1)}
    more = caches({"home/u/.cache/uv/archive-v0/x/f.py": (7, 0), "var/cache/apt/pkgcache.bin": (8, 0)})
    assert [(c.kind, c.size, c.places) for c in more] == [
        ("uv", 7, (("/home/u/.cache/uv", 7),)),
        ("apt-archives", 8, (("/var/cache/apt/pkgcache.bin", 8),)),
    ]
