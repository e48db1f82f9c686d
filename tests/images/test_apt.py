"""apt-get in a predicted image against a real (tiny) Debian repository served on 127.0.0.1: InRelease,
Packages.xz and .deb files built here in the formats apt reads. Dependencies are followed (alternatives,
what dpkg already lists skipped, recommends only when asked), each .deb's data archive is unpacked under
the image's dpkg path filters, and the mirror is refused unless the command line allows its host."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from depaudit.analysis.apt_index import parse_packages, parse_release_sizes, parse_sources, read_deb
from depaudit.images.context import BuildContext
from depaudit.images.lookups import PredictOptions, apt_for, load_base, services_for
from depaudit.images.predict import InstructionPrediction, Predictor
from depaudit.images.vfs import Tree
from depaudit.sources.dockerfile import read_dockerfile

from image_builders import layer_tar, oci_layout

DOCS = "/usr/share/doc/*"
STATUS = b"Package: libc6\nStatus: install ok installed\nVersion: 2.36\n\n"
PACKAGES: list[bytes] = []  # the Packages index the repository serves (set when it is built)


def _tar(entries: dict[str, bytes | None], compress: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in entries.items():
            info = tarfile.TarInfo(path)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return lzma.compress(raw) if compress == "xz" else gzip.compress(raw)


def make_deb(name: str, version: str, files: dict[str, bytes | None], **fields: str) -> tuple[bytes, str]:
    """A .deb (ar: debian-binary, control.tar.gz, data.tar.xz) and its control stanza."""
    control = f"Package: {name}\nVersion: {version}\nArchitecture: amd64\n" + "".join(
        f"{k.replace('_', '-').title()}: {v}\n" for k, v in fields.items()
    )
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", _tar({"./control": control.encode(), "./md5sums": b"0" * 90}, "gz")),
        ("data.tar.xz", _tar(files, "xz")),
    ]
    out = bytearray(b"!<arch>\n")
    for member, data in members:
        out += f"{member:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out), control


@contextmanager
def debian_repo(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "repo"
    pool = root / "debian" / "pool"
    pool.mkdir(parents=True)
    packages = [
        (
            "appa",
            "1.0",
            {"./usr/": None, "./usr/bin/appa": b"a" * 1000, "./usr/share/doc/appa/README": b"d" * 500},
            {"depends": "libb (>= 1) | libzz, libc6:any", "recommends": "extra"},
        ),
        ("libb", "2.0", {"./usr/lib/libb.so.1": b"b" * 2000}, {}),
        ("extra", "1.0", {"./usr/share/extra": b"e" * 300}, {}),
        ("libc6", "2.36", {"./lib/libc.so.6": b"c" * 50}, {}),
    ]
    stanzas = []
    for name, version, files, fields in packages:
        data, control = make_deb(name, version, files, **fields)
        (pool / f"{name}.deb").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        stanzas.append(f"{control}Filename: pool/{name}.deb\nSize: {len(data)}\nSHA256: {digest}\nInstalled-Size: 4\n")
    text = "\n".join(stanzas).encode()
    PACKAGES[:] = [text]
    index = root / "debian" / "dists" / "stable" / "main" / "binary-amd64"
    index.mkdir(parents=True)
    (index / "Packages.xz").write_bytes(lzma.compress(text))
    gz = gzip.compress(text)
    release = f"Suite: stable\nSHA256:\n {'0' * 64} {len(text)} main/binary-amd64/Packages\n {'0' * 64} {len(gz)} main/binary-amd64/Packages.gz\n"
    (root / "debian" / "dists" / "stable" / "InRelease").write_text(release)
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/debian"
    finally:
        server.shutdown()
        server.server_close()


def _base(tmp_path: Path, mirror: str) -> Path:
    files = [
        ("etc/apt/sources.list", f"deb {mirror} stable main\n".encode()),
        (
            "etc/apt/apt.conf.d/docker-clean",
            b'Dir::Cache::pkgcache "";\nAcquire::GzipIndexes "true";\n'
            b'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\nAcquire::Languages "none";\n',
        ),
        ("etc/dpkg/dpkg.cfg.d/excludes", f"path-exclude={DOCS}\n".encode()),
        ("var/lib/dpkg/status", STATUS),
        ("var/lib/dpkg/info/libc6:amd64.list", b"/.\n/lib/libc.so.6\n"),
        ("var/cache/debconf/templates.dat", b"t" * 700),
        ("var/cache/debconf/config.dat", b"c" * 100),
    ]
    return oci_layout(tmp_path / "base", [layer_tar(files)])


def _predict(tmp_path: Path, run: str, allow: bool = True) -> tuple[InstructionPrediction, Tree]:
    """The RUN's prediction and the file system it leaves."""
    with debian_repo(tmp_path) as mirror:
        base = _base(tmp_path, mirror)
        (tmp_path / "ctx").mkdir(exist_ok=True)
        (tmp_path / "ctx" / "Dockerfile").write_text(f"FROM local/base\nRUN {run}\n")
        options = PredictOptions(
            archives={None: base},
            engine=False,
            cache_dir=tmp_path / "cache",
            allow_hosts=("127.0.0.1",) if allow else (),
        )
        df = read_dockerfile(tmp_path / "ctx" / "Dockerfile")
        walker = Predictor(
            df,
            BuildContext.open(tmp_path / "ctx"),
            load_base(options, print),
            services_for(options),
            {},
            apt_for(options),
        )
        (step,) = walker.stage(df.final_stage).instructions
        return step, walker.trees[0].tree


def test_install_follows_dependencies_filters_and_records(tmp_path):
    step, tree = _predict(
        tmp_path, "apt-get update && apt-get install -y --no-install-recommends appa && rm -rf /var/lib/apt/lists/*"
    )
    assert step.unknowns == ()
    assert {name for name, _, _ in step.packages} == {"appa==1.0 (deb)", "libb==2.0 (deb)"}  # libc6 is there already
    assert "apt installs 2 packages: appa, libb" in step.notes
    written = {path: entry.size for path, entry in tree.layer_entries(1)}
    assert written["usr/bin/appa"] == 1000 and written["usr/lib/libb.so.1"] == 2000
    assert "usr/share/doc/appa/README" not in tree.entries  # the image's dpkg path filter keeps docs out
    assert "usr/share/extra" not in tree.entries  # a recommends, refused
    assert written["var/lib/dpkg/info/appa.md5sums"] == 90 and "var/lib/dpkg/info/libb.list" in written
    assert written["var/lib/dpkg/status"] > written["var/lib/dpkg/status-old"] == len(STATUS)
    assert written["var/cache/debconf/templates.dat"] == 700  # rewritten whole, as every apt-get install does
    assert not [p for p in tree.entries if p.startswith(("var/lib/apt/lists/", "var/cache/apt/archives/"))]


def test_recommends_are_installed_unless_refused_and_lists_stay_when_not_removed(tmp_path):
    step, tree = _predict(tmp_path, "apt-get update && apt-get install -y appa")
    assert {name for name, _, _ in step.packages} == {"appa==1.0 (deb)", "libb==2.0 (deb)", "extra==1.0 (deb)"}
    lists = {p.rsplit("/", 1)[-1]: e.size for p, e in tree.entries.items() if p.startswith("var/lib/apt/lists/")}
    # the index as the image configures apt to keep it (gzip-compressed), its size from the InRelease
    packages_gz = next(size for name, size in lists.items() if name.endswith("Packages.gz"))
    assert packages_gz == len(gzip.compress(PACKAGES[0])) and any(n.endswith("_InRelease") for n in lists)


def test_a_mirror_the_command_line_did_not_allow_is_not_asked(tmp_path):
    step, _ = _predict(tmp_path, "apt-get update && apt-get install -y appa", allow=False)
    assert step.unknowns and all("127.0.0.1" in u for u in step.unknowns)


def test_index_and_deb_parsers():
    data, _ = make_deb("x", "1", {"./usr/": None, "./usr/bin/x": b"1" * 10, "./usr/bin/y": b""}, depends="a | b")
    contents = read_deb(data)
    assert [(p, s, k) for p, s, k in contents.files] == [
        ("usr", 0, "d"),
        ("usr/bin/x", 10, "f"),
        ("usr/bin/y", 0, "f"),
    ]
    assert dict(contents.control)["md5sums"] == 90 and contents.control_size > 0
    (package,) = parse_packages(
        "Package: x\nVersion: 1\nDepends: a (>= 2) | b:any, c\nFilename: pool/x.deb\nSize: 3\nInstalled-Size: 2\n",
        "http://m/debian",
    ).values()
    assert package.depends == (("a", "b"), ("c",)) and package.url == "http://m/debian/pool/x.deb"
    assert parse_release_sizes("SHA256:\n abc 10 main/binary-amd64/Packages\nMD5Sum:\n x 3 y\n") == {
        "main/binary-amd64/Packages": 10
    }
    deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n"
    assert [(s.suite, s.components) for s in parse_sources({"etc/apt/sources.list.d/debian.sources": deb822})] == [
        ("bookworm", ("main",)),
        ("bookworm-updates", ("main",)),
    ]


@pytest.mark.parametrize("line", ["deb [arch=amd64 signed-by=/k.gpg] http://m/debian stable main contrib"])
def test_one_line_sources_with_options(line):
    (source,) = parse_sources({"etc/apt/sources.list": line})
    assert (source.url, source.suite, source.components) == ("http://m/debian", "stable", ("main", "contrib"))
