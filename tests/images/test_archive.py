"""Reading images without a daemon (depaudit.images.archive / reader): docker save archives (legacy layout,
gzip'd, OCI inside), OCI layout folders, sizes counted as the engine counts them, and hostile archives
kept as data: nothing is ever written, links are never followed, bombs are refused."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile

import pytest

from depaudit.errors import InputError
from depaudit.images import archive
from depaudit.images.archive import ArchiveError, blob_path, normalise, read_layout, read_saved
from depaudit.images.reader import read_image

from fixture_paths import FIXTURES
from image_builders import config, docker_save, layer_tar, oci_layout

BASE = [
    ("usr/", None),
    ("usr/bin/tool", b"x" * 1000),
    ("usr/bin/link", "->tool"),
    ("usr/bin/hard", "=>usr/bin/tool"),
    ("etc/app.conf", b"a=1\n"),
    ("opt/cache/a", b"y" * 300),
    ("opt/cache/b", b"y" * 200),
]
TOP = [("opt/.wh..wh..opq", b""), ("opt/kept", b"z" * 50), ("etc/.wh.app.conf", b"")]


def test_a_docker_save_archive_is_read_as_the_engine_counts_bytes():
    data = docker_save([layer_tar(BASE), layer_tar(TOP)], cfg=config(2, commands=["COPY base /", "RUN cleanup"]))
    image = read_saved(io.BytesIO(data), "test")
    base, top = image.layers
    # data bytes of regular files, the symlink's target ("tool": 4), the hard link nothing, folders nothing
    assert base.size == 1000 + 4 + 0 + 4 + 300 + 200
    assert base.files["usr/bin/link"] == 4 and base.links["usr/bin/hard"] == "usr/bin/tool"
    assert top.opaque == {"opt"} and top.deleted == {"etc/app.conf"} and top.size == 50
    assert image.tags == ("test/image:1",) and image.config.architecture == "amd64"
    assert image.config.layer_commands(2) == ["COPY base /", "RUN cleanup"]
    assert image.size == base.size + top.size


def test_a_gzip_compressed_save_and_an_oci_layout_read_the_same(tmp_path):
    layers = [layer_tar(BASE), layer_tar(TOP)]
    plain = read_saved(io.BytesIO(docker_save(layers)), "plain")
    zipped = read_saved(io.BytesIO(gzip.compress(docker_save(layers))), "gz")
    layout = read_layout(oci_layout(tmp_path / "oci", layers))
    for other in (zipped, layout):
        assert [layer.files for layer in other.layers] == [layer.files for layer in plain.layers]
        assert [layer.deleted for layer in other.layers] == [layer.deleted for layer in plain.layers]
    # a gzip blob's own size is its compressed size; a plain one's only when asked (--compressed)
    assert all(layer.compressed_bytes and layer.compressed_bytes < layer.tar_bytes for layer in layout.layers)
    assert all(layer.compressed_bytes is None for layer in plain.layers)
    counted = read_saved(io.BytesIO(docker_save(layers)), "plain", compress=True)
    assert all(layer.compressed_bytes for layer in counted.layers)


def test_the_committed_docker_save_fixture_is_read_like_measure_did():
    with gzip.open(FIXTURES / "docker" / "tiny-save.tar.gz") as stream:
        image = read_saved(stream, "tiny")
    assert len(image.layers) == 5 and image.tags == ("depaudit-fixture/tiny:1",)
    assert image.layers[0].files["bin/busybox"] == 1982256


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("./usr/bin/x", "usr/bin/x"),
        ("/etc//passwd", "etc/passwd"),
        ("../../etc/shadow", "etc/shadow"),
        ("a/../../b", "b"),
        ("./", "."),
    ],
)
def test_member_names_are_normalised_and_dot_dot_stops_at_the_root(name, expected):
    assert normalise(name) == expected


def test_path_traversal_and_absolute_names_stay_data_and_nothing_is_written(tmp_path, monkeypatch):
    hostile = layer_tar([("../../../../tmp/owned", b"evil"), ("/etc/passwd", b"root::0:0"), ("x/../../y", b"1")])
    monkeypatch.chdir(tmp_path)
    archive_path = tmp_path / "hostile.tar"
    archive_path.write_bytes(docker_save([hostile]))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    image = read_image(str(archive_path))
    assert set(image.layers[0].files) == {"tmp/owned", "etc/passwd", "y"}
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing extracted, here or anywhere


def test_a_header_that_promises_more_bytes_than_the_stream_holds_is_unreadable(tmp_path):
    good = docker_save([layer_tar([("big", b"x" * 100_000)])])
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"cut\.tar"):
        read_image(str(cut))


def test_a_tar_bomb_of_entries_is_refused(monkeypatch):
    monkeypatch.setattr(archive, "MAX_ENTRIES", 50)
    bomb = layer_tar([(f"f{i}", b"") for i in range(60)])
    with pytest.raises(ArchiveError, match="more than 50 entries"):
        read_saved(io.BytesIO(docker_save([bomb])), "bomb")


def test_oci_digests_cannot_point_outside_the_blobs(tmp_path):
    with pytest.raises(ArchiveError, match="not a content digest"):
        blob_path("sha256:../../../etc/passwd")
    root = oci_layout(tmp_path / "oci", [layer_tar(BASE)])
    index = json.loads((root / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="not a content digest"):
        read_image(str(root))


def test_an_oci_blob_that_is_a_symbolic_link_is_not_followed(tmp_path):
    root = oci_layout(tmp_path / "oci", [layer_tar(BASE)], gzip_layers=False)
    secret = tmp_path / "secret"
    secret.write_bytes(layer_tar([("stolen", b"secret")]))
    layer_blob = next(p for p in (root / "blobs" / "sha256").iterdir() if p.stat().st_size == len(layer_tar(BASE)))
    layer_blob.unlink()
    os.symlink(secret, layer_blob)
    with pytest.raises(InputError, match="cannot open"):
        read_image(str(root))


def test_what_is_not_an_image_says_so_in_one_line(tmp_path):
    plain = tmp_path / "notes.tar"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    plain.write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match=r"notes\.tar: not an image archive"):
        read_image(str(plain))
    text = tmp_path / "Dockerfile"
    text.write_text("FROM scratch\n")
    with pytest.raises(InputError, match="Dockerfile"):
        read_image(str(text))
    with pytest.raises(InputError, match="not a regular file or folder"):
        read_image("/dev/null")


def test_records_and_captured_files_are_kept_bounded():
    record = "pkg/__init__.py,sha256=x,10\npkg-1.0.dist-info/RECORD,,\n"
    layer = layer_tar(
        [
            ("usr/lib/python3/dist-packages/pkg/__init__.py", b"0123456789"),
            ("usr/lib/python3/dist-packages/pkg-1.0.dist-info/RECORD", record.encode()),
            ("etc/os-release", b"ID=debian\n"),
        ]
    )
    image = read_saved(io.BytesIO(docker_save([layer])), "t", capture=lambda path, size: path == "etc/os-release")
    assert image.layers[0].records == {"usr/lib/python3/dist-packages/pkg-1.0.dist-info/RECORD": record}
    assert image.layers[0].captured == {"etc/os-release": b"ID=debian\n"}


class _Zeros(io.RawIOBase):
    """A `docker save` stream whose one layer holds a file of `size` zero bytes, made as it is read (the
    test never holds it either)."""

    def __init__(self, size: int) -> None:
        inner = tarfile.TarInfo("opt/model.bin")
        inner.size = size
        inner_head = inner.tobuf(format=tarfile.USTAR_FORMAT)
        inner_tail = b"\0" * (-size % 512) + b"\0" * 1024
        layer_size = len(inner_head) + size + len(inner_tail)
        outer = tarfile.TarInfo("0" * 64 + "/layer.tar")
        outer.size = layer_size
        cfg = config(1)
        manifest = json.dumps([{"Config": "c.json", "RepoTags": [], "Layers": ["0" * 64 + "/layer.tar"]}]).encode()
        tail = b"\0" * (-layer_size % 512)
        for name, data in (("c.json", cfg), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tail += info.tobuf(format=tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512)
        self._parts = [outer.tobuf(format=tarfile.USTAR_FORMAT) + inner_head, size, inner_tail + tail + b"\0" * 1024]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while self._parts:
            part = self._parts[0]
            if isinstance(part, int):
                n = min(part, len(buffer))
                buffer[:n] = bytes(n)
                self._parts[0] = part - n
            else:
                n = min(len(part), len(buffer))
                buffer[:n] = part[:n]
                self._parts[0] = part[n:]
            if not self._parts[0]:
                self._parts.pop(0)
            if n:
                return n
        return 0


def test_a_large_layer_is_streamed_in_bounded_memory():
    import tracemalloc

    size = 300 * 1024 * 1024
    tracemalloc.start()
    image = read_saved(io.BufferedReader(_Zeros(size), 1 << 20), "big")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert image.layers[0].files == {"opt/model.bin": size}
    assert peak < 16 * 1024 * 1024  # a few chunks, never the file
