"""depaudit.analysis.wheel_evidence against a real HTTPS server on 127.0.0.1 (tls_server.py): a wheel's PEP 658
metadata and its file list decide a torch-family label online, are cached, and are reused offline. The served
wheels are small stand-ins built here with the file names (and, for torch 2.8.0, the real metadata) of PyPI's."""

from __future__ import annotations

import io
import re
import ssl
import zipfile

import pytest
from tls_server import IndexServer, make_certificates

from depaudit.analysis.host_policy import HostPolicy
from depaudit.analysis.wheel_evidence import EVIDENCE_FILE, MAX_METADATA, EvidenceClient, read_cache
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import lock_from_text
from depaudit.targets import make_target

from fixture_paths import FIXTURES, LOCKS

LOOPBACK = HostPolicy.make(None, ["127.0.0.1"])
METADATA = (FIXTURES / "known-builds" / "torch-2.8.0-cp311-cp311-manylinux_2_28_aarch64.whl.metadata").read_bytes()
LINUX = make_target("linux-x86_64").marker_environment
ARM = make_target("linux-aarch64").marker_environment


def wheel(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("torch/__init__.py", "")
        for name in members:
            archive.writestr(name, b"\0" * 64)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    try:
        return make_certificates(tmp_path_factory.mktemp("tls"))
    except FileNotFoundError:
        pytest.skip("the openssl command is needed to make a throwaway CA for the HTTPS test server")


@pytest.fixture()
def server(certs):
    with IndexServer(certs) as srv:
        srv.files.update(
            {
                "cuda-x86.whl": wheel("torch/lib/libtorch_cuda.so", "torch/lib/libtorch_cpu.so"),
                "cuda-x86.whl.metadata": METADATA,  # requires nvidia-*-cu12 on Linux x86_64
                "cpu-arm.whl": wheel("torch/lib/libtorch_cpu.so"),
                "cpu-arm.whl.metadata": METADATA,  # the same metadata: its CUDA requirements are x86_64 only
                "bundled.whl": wheel("torch/lib/libtorch_cuda.so", "torch/lib/libcudart-80664282.so.10.2"),
                "huge.whl": wheel(),
                "huge.whl.metadata": b"Requires-Dist: x\n" * (MAX_METADATA // 16 + 1),
            }
        )
        yield srv


def client(certs, cache, **kwargs):
    return EvidenceClient(cache, hosts=LOOPBACK, verify=ssl.create_default_context(cafile=str(certs.ca)), **kwargs)


def test_metadata_decides_when_it_requires_a_cuda_runtime_and_the_file_list_is_not_read(server, certs, tmp_path):
    url = server.url("files/cuda-x86.whl")
    found = client(certs, tmp_path).evidence({url: [LINUX]})[url]
    assert found.requires[0].startswith("nvidia-cuda-nvrtc-cu12==12.8.93;") and found.libraries is None
    assert server.count("/files/cuda-x86.whl") == 0  # not one range request on the wheel itself


def test_the_file_list_is_read_when_metadata_does_not_settle_it(server, certs, tmp_path):
    arm, bundled = server.url("files/cpu-arm.whl"), server.url("files/bundled.whl")
    found = client(certs, tmp_path).evidence({arm: [ARM], bundled: [LINUX]})
    assert found[arm].libraries == () and len(found[arm].requires) == 15  # x86_64-only requirements
    assert found[bundled].requires is None  # no metadata served (404): torch 1.12.1's case
    assert found[bundled].libraries == ("libtorch_cuda.so", "libcudart-80664282.so.10.2")
    assert all(r.startswith("bytes=") for p, r in server.ranges if p == "/files/bundled.whl")


def test_answers_are_cached_and_reused_offline_without_a_request(server, certs, tmp_path):
    url = server.url("files/bundled.whl")
    first = client(certs, tmp_path).evidence({url: [LINUX]})
    asked = server.total_requests()
    assert (tmp_path / EVIDENCE_FILE).is_file() and read_cache(tmp_path)[url] == first[url]
    assert client(certs, tmp_path).evidence({url: [LINUX]}) == first
    assert client(certs, tmp_path, offline=True).evidence({url: [ARM]}) == first
    assert server.total_requests() == asked
    assert client(certs, tmp_path / "empty", offline=True).evidence({url: [LINUX]}) == {}


def test_failures_are_no_evidence_and_are_not_cached(server, certs, tmp_path):
    missing, huge = server.url("files/missing.whl"), server.url("files/huge.whl")
    found = client(certs, tmp_path, retries=0).evidence({missing: [LINUX], huge: [LINUX]})
    assert found == {}
    assert read_cache(tmp_path) == {}
    refused = EvidenceClient(tmp_path, hosts=HostPolicy.make(None, [])).evidence({missing: [LINUX]})
    assert refused == {}  # loopback is not allowed by default: nothing is fetched from it


def test_a_scan_labels_from_the_wheels_and_agrees_offline(server, certs, tmp_path, monkeypatch):
    """torch-1.12's real lock with its wheel URLs pointed at the server: the x86_64 wheel bundles CUDA and
    says so in its file list; online and then offline (from the cache) the labels come from the wheels."""
    text = (LOCKS / "torch-1.12" / "uv.lock").read_text()
    stand_ins = {"manylinux1_x86_64": "bundled.whl", "manylinux2014_aarch64": "cpu-arm.whl"}

    def point(match: re.Match[str]) -> str:
        filename = match.group(1).rsplit("/", 1)[-1]
        for tag, stand_in in stand_ins.items():
            if tag in filename:  # serve the stand-in under the real file name
                server.files[filename] = server.files[stand_in]
                return f'url = "{server.url("files/" + filename)}"'
        return match.group(0)

    lock = lock_from_text(re.sub(r'url = "(https://files\.pythonhosted\.org/[^"]+\.whl)"', point, text), "uv.lock")
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    targets = ["linux-x86_64", "linux-aarch64"]
    online = scan_lock(lock, targets=targets, cache_dir=tmp_path, allow_hosts=["127.0.0.1"])
    offline = scan_lock(lock, targets=targets, cache_dir=tmp_path, offline=True)
    cold = scan_lock(lock, targets=targets, cache_dir=tmp_path / "empty", offline=True)
    for report in (online, offline):
        torch = {t.target.name: next(p for p in t.packages if p.name == "torch") for t in report.targets}
        assert torch["linux-x86_64"].accelerator == "torch-cuda"
        assert torch["linux-x86_64"].accelerator_basis == "wheel contents: libtorch_cuda.so"
        assert torch["linux-aarch64"].accelerator_basis == "wheel contents: no CUDA, ROCm or XPU library"
    torch = {t.target.name: next(p for p in t.packages if p.name == "torch") for t in cold.targets}
    assert torch["linux-x86_64"].accelerator_basis.startswith("known PyPI build: torch 1.12.1")  # the table agrees
