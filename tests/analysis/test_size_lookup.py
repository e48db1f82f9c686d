"""Tests for depaudit.analysis.size_lookup against a real HTTPS server on 127.0.0.1 (see tls_server.py).

Nothing here is mocked: the client speaks TLS to a server that trusts a CA made for the test run, the
wheels are real zip files built with zipfile, and request counts are taken at the server.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import ssl
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tls_server import IndexServer, make_certificates

from depaudit.analysis import size_lookup
from depaudit.analysis.host_policy import HostPolicy, registry_hosts
from depaudit.analysis.size_lookup import IndexClient, SizeLookup, ZipFormatError, zip_unpacked_size

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------------
# wheels built for the test
# ---------------------------------------------------------------------------------------------------


def build_zip(members: list[tuple[str, bytes]], *, comment: bytes = b"", deflate: bool = True) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
        archive.comment = comment
    return buffer.getvalue()


def unpacked_by_zipfile(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def build_zip64(members: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A real ZIP64 archive written by zipfile, with its ZIP64 thresholds lowered so it stays small.

    zipfile then writes what it writes for >4 GiB members: 0xFFFFFFFF sizes and offsets in the central
    directory with the real values in ZIP64 extra fields, plus the ZIP64 end record and locator.
    """
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP64_LIMIT", 100)
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
        return build_zip(members, deflate=False)


def sample_members(count: int, seed: int) -> list[tuple[str, bytes]]:
    import random

    rng = random.Random(seed)
    members = []
    for i in range(count):
        size = rng.choice([0, 1, 100, 5000, 40000])
        members.append((f"pkg_{seed}/module_{i}.py", bytes(rng.choices(b"abcdefgh \n", k=size))))
    members.append((f"pkg_{seed}-1.0.dist-info/RECORD", b"x" * 300))
    return members


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for i in range(65537):  # one more than the 16-bit entry count holds: forces a real ZIP64 end record
            archive.writestr(f"d/{i}", b"z")
    mp = pytest.MonkeyPatch()
    try:
        zip64 = build_zip64(sample_members(6, seed=64), mp)
    finally:
        mp.undo()
    return {
        "small-1.0-py3-none-any.whl": build_zip(sample_members(5, seed=1)),
        # a central directory far bigger than the first 16 KiB tail
        "big-1.0-py3-none-any.whl": build_zip(sample_members(1500, seed=2)),
        # a comment longer than the first tail: the end record must be found with a second, longer tail
        "comment-1.0-py3-none-any.whl": build_zip(sample_members(8, seed=3), comment=b"c" * 30000),
        "zip64-1.0-py3-none-any.whl": zip64,
        "many-1.0-py3-none-any.whl": many.getvalue(),
        "notzip-1.0-py3-none-any.whl": b"this is not a zip archive " * 4000,
    }


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory):
    try:
        return make_certificates(tmp_path_factory.mktemp("tls"))
    except FileNotFoundError:
        pytest.skip("the openssl command is needed to make a throwaway CA for the HTTPS test server")


@pytest.fixture()
def server(certs, wheels):
    with IndexServer(certs) as srv:
        srv.files.update(wheels)
        yield srv


# The test server lives on loopback, which look-ups refuse unless the host is allowed (--allow-host).
LOOPBACK = HostPolicy.make(None, ["127.0.0.1"])


def make_client(certs, cache_dir: Path | None, **kwargs) -> IndexClient:
    kwargs.setdefault("verify", ssl.create_default_context(cafile=str(certs.ca)))
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("hosts", LOOPBACK)
    return IndexClient(cache_dir, **kwargs)


# ---------------------------------------------------------------------------------------------------
# download sizes
# ---------------------------------------------------------------------------------------------------


def test_download_sizes_are_content_lengths(server, certs, wheels, tmp_path):
    names = ["small-1.0-py3-none-any.whl", "big-1.0-py3-none-any.whl", "zip64-1.0-py3-none-any.whl"]
    urls = [server.url(f"files/{n}") for n in names]
    result = make_client(certs, tmp_path).download_sizes(urls)
    assert result == {
        url: SizeLookup(url, len(wheels[name]), None, False) for url, name in zip(urls, names, strict=True)
    }
    for name in names:  # HEAD only: no GET, no body
        assert server.count(f"files/{name}", "HEAD") == 1
        assert server.count(f"files/{name}", "GET") == 0


def test_second_run_makes_no_request_and_cache_file_has_the_documented_shape(server, certs, wheels, tmp_path):
    urls = [server.url("files/small-1.0-py3-none-any.whl"), server.url("files/big-1.0-py3-none-any.whl")]
    missing = server.url("files/absent.whl")
    first = make_client(certs, tmp_path)
    first.download_sizes([*urls, missing])
    first.installed_sizes(urls)
    before = server.total_requests()
    assert before > 0

    second = make_client(certs, tmp_path)  # a new client, as a new CLI run would make
    download = second.download_sizes(urls)
    installed = second.installed_sizes(urls)
    assert server.total_requests() == before
    assert all(r.cached and r.size is not None for r in [*download.values(), *installed.values()])
    assert installed[urls[1]].size == unpacked_by_zipfile(wheels["big-1.0-py3-none-any.whl"])

    document = json.loads((tmp_path / "sizes-v1.json").read_text())
    assert document == {
        "schema": 1,
        "download": {u: len(wheels[u.rsplit("/", 1)[1]]) for u in urls},
        "installed": {u: unpacked_by_zipfile(wheels[u.rsplit("/", 1)[1]]) for u in urls},
    }  # the 404 is not cached
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sizes-v1.json"]  # no temp file left behind

    # failures are not cached: asking again asks the server again
    assert second.download_sizes([missing])[missing].error == "HTTP 404"
    assert server.count("files/absent.whl") == 2


def test_no_cache_dir_means_every_run_asks(server, certs):
    url = server.url("files/small-1.0-py3-none-any.whl")
    make_client(certs, None).download_sizes([url])
    make_client(certs, None).download_sizes([url])
    assert server.count("files/small-1.0-py3-none-any.whl") == 2


def test_duplicate_urls_are_asked_once(server, certs, tmp_path):
    url = server.url("files/small-1.0-py3-none-any.whl")
    result = make_client(certs, tmp_path).download_sizes([url, url, url])
    assert list(result) == [url]
    assert server.count("files/small-1.0-py3-none-any.whl") == 1


def test_404_is_not_retried(server, certs):
    url = server.url("files/absent.whl")
    result = make_client(certs, None, retries=3).download_sizes([url])[url]
    assert (result.size, result.error, result.cached) == (None, "HTTP 404", False)
    assert server.count("files/absent.whl") == 1


def test_503_then_200_is_retried_until_it_succeeds(server, certs, wheels):
    url = server.url("flaky/2/small-1.0-py3-none-any.whl")
    result = make_client(certs, None, retries=2).download_sizes([url])[url]
    assert result.size == len(wheels["small-1.0-py3-none-any.whl"])
    assert server.count("flaky/2/small-1.0-py3-none-any.whl") == 3


def test_429_is_retried(server, certs, wheels):
    name = "small-1.0-py3-none-any.whl"
    url = server.url(f"ratelimited/1/{name}")
    result = make_client(certs, None, retries=1).download_sizes([url])[url]
    assert result.size == len(wheels[name])
    assert server.count(f"ratelimited/1/{name}") == 2


def test_retries_are_bounded(server, certs):
    url = server.url("always503/small-1.0-py3-none-any.whl")
    result = make_client(certs, None, retries=2).download_sizes([url])[url]
    assert (result.size, result.error) == (None, "HTTP 503")
    assert server.count("always503/small-1.0-py3-none-any.whl") == 3  # 1 + retries, no more

    zero = make_client(certs, None, retries=0).download_sizes([url])[url]
    assert zero.error == "HTTP 503"
    assert server.count("always503/small-1.0-py3-none-any.whl") == 4


def test_slow_server_times_out_after_bounded_attempts(server, certs):
    url = server.url("slow/3/small-1.0-py3-none-any.whl")
    result = make_client(certs, None, timeout=0.3, retries=1).download_sizes([url])[url]
    assert (result.size, result.error) == (None, "timeout")
    assert server.count("slow/3/small-1.0-py3-none-any.whl") == 2


def test_redirect_is_followed(server, certs, wheels):
    name = "big-1.0-py3-none-any.whl"
    url = server.url(f"redirect/{name}")
    client = make_client(certs, None)
    assert client.download_sizes([url])[url].size == len(wheels[name])
    assert client.installed_sizes([url])[url].size == unpacked_by_zipfile(wheels[name])


def test_redirect_to_plain_http_is_refused(server, certs):
    url = server.url("redirect-http/small-1.0-py3-none-any.whl")
    result = make_client(certs, None).download_sizes([url])[url]
    assert (result.size, result.error) == (None, "redirect to non-https URL")


def _wait_for(condition, seconds: float = 3.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_head_without_length_falls_back_to_a_one_byte_range(server, certs, wheels):
    name = "small-1.0-py3-none-any.whl"
    for kind in ("nolength", "nohead"):
        url = server.url(f"{kind}/{name}")
        assert make_client(certs, None).download_sizes([url])[url].size == len(wheels[name])
        assert server.count(f"{kind}/{name}", "HEAD") == 1
        assert (f"/{kind}/{name}", "bytes=0-0") in server.ranges
        _wait_for(lambda key=f"/{kind}/{name}": server.body_bytes[key] >= 1)  # counted after the send: may lag
        assert server.body_bytes[f"/{kind}/{name}"] == 1


def test_only_https_urls_are_fetched(server, certs, tmp_path):
    plain = f"http://127.0.0.1:{server.port}/files/small-1.0-py3-none-any.whl"
    urls = [plain, "file:///etc/passwd", "ftp://example.org/x.whl", "not a url", "https://"]
    client = make_client(certs, tmp_path)
    for lookup in (client.download_sizes, client.installed_sizes):
        result = lookup(urls)
        reasons = {"not a url": "URL contains spaces, control or non-ASCII characters", "https://": "URL has no host"}
        assert {u: (r.size, r.error) for u, r in result.items()} == {
            u: (None, reasons.get(u, "not https")) for u in urls
        }
    assert server.total_requests() == 0


def test_connection_refused_is_reported_not_raised(certs):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"https://127.0.0.1:{port}/files/x.whl"
    result = make_client(certs, None, retries=1).download_sizes([url])[url]
    assert (result.size, result.error) == (None, "connection failed")


def test_untrusted_certificate_is_an_error_and_a_ca_path_string_works(server, certs, wheels):
    url = server.url("files/small-1.0-py3-none-any.whl")
    refused = IndexClient(None, verify=True, retries=2, backoff=0.01, hosts=LOOPBACK).download_sizes([url])[url]
    assert (refused.size, refused.error) == (None, "TLS certificate not trusted")
    assert server.total_requests() == 0  # the handshake failed: no HTTP request reached the server

    by_path = IndexClient(None, verify=str(certs.ca), hosts=LOOPBACK).download_sizes([url])[url]
    assert by_path.size == len(wheels["small-1.0-py3-none-any.whl"])


def test_concurrency_is_used_and_bounded(server, certs):
    urls = [server.url(f"slow/0.2/small-1.0-py3-none-any.whl?n={i}") for i in range(12)]
    make_client(certs, None, concurrency=4).download_sizes(urls)
    assert server.count("slow/0.2/small-1.0-py3-none-any.whl") == 12
    assert 2 <= server.peak_in_flight <= 4


def test_progress_reports_each_network_lookup(server, certs, tmp_path):
    urls = [server.url(f"files/small-1.0-py3-none-any.whl?{i}") for i in range(5)]
    calls: list[tuple[int, int]] = []
    client = make_client(certs, tmp_path)
    client.download_sizes([*urls, "http://insecure/x.whl"], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 5) for i in range(6)]
    calls.clear()
    client.download_sizes(urls, progress=lambda d, t: calls.append((d, t)))  # all cached now
    assert calls == []


def test_works_inside_a_running_event_loop_and_from_a_thread(server, certs, wheels):
    url = server.url("files/small-1.0-py3-none-any.whl")
    expected = len(wheels["small-1.0-py3-none-any.whl"])

    async def inside_loop() -> int | None:
        return make_client(certs, None).download_sizes([url])[url].size

    assert asyncio.run(inside_loop()) == expected

    seen: list[int | None] = []
    worker = threading.Thread(target=lambda: seen.append(make_client(certs, None).download_sizes([url])[url].size))
    worker.start()
    worker.join()
    assert seen == [expected]


# ---------------------------------------------------------------------------------------------------
# installed sizes
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "small-1.0-py3-none-any.whl",
        "big-1.0-py3-none-any.whl",
        "comment-1.0-py3-none-any.whl",
        "zip64-1.0-py3-none-any.whl",
        "many-1.0-py3-none-any.whl",
    ],
)
def test_installed_size_equals_zipfile_sum_without_downloading_the_body(server, certs, wheels, name):
    url = server.url(f"files/{name}")
    result = make_client(certs, None).installed_sizes([url])[url]
    assert result == SizeLookup(url, unpacked_by_zipfile(wheels[name]), None, False)
    assert server.count(f"files/{name}", "GET") <= 4
    assert all(header.startswith("bytes=") for path, header in server.ranges if path == f"/files/{name}")
    with zipfile.ZipFile(io.BytesIO(wheels[name])) as archive:
        directory_start = archive.start_dir
    # Only the tail (directory and end records) is fetched, never the members' data before it.
    fetched = server.body_bytes[f"/files/{name}"]
    assert fetched <= len(wheels[name]) - directory_start + size_lookup.INITIAL_TAIL + size_lookup.MAX_TAIL
    if directory_start > 2 * size_lookup.MAX_TAIL:
        assert fetched < len(wheels[name])


def test_zip64_fixture_really_uses_zip64_structures(wheels):
    data = wheels["zip64-1.0-py3-none-any.whl"]
    assert b"PK\x06\x06" in data[-200:] and b"PK\x06\x07" in data[-200:]
    assert b"\xff\xff\xff\xff" in data[data.rfind(b"PK\x01\x02") :]  # a sentinel size in the directory
    many = wheels["many-1.0-py3-none-any.whl"]
    assert many[-22:][8:10] == b"\xff\xff"  # 16-bit entry count saturated in the classic end record


def test_server_that_ignores_ranges_gives_unknown_installed_size(server, certs, wheels):
    name = "big-1.0-py3-none-any.whl"
    url = server.url(f"norange/{name}")
    client = make_client(certs, None)
    result = client.installed_sizes([url])[url]
    assert (result.size, result.error) == (None, "server ignores range requests")
    assert server.count(f"norange/{name}", "GET") == 1  # not retried, no second attempt at the body
    assert client.download_sizes([url])[url].size == len(wheels[name])  # HEAD still works there


def test_not_a_zip_is_reported(server, certs):
    url = server.url("files/notzip-1.0-py3-none-any.whl")
    result = make_client(certs, None).installed_sizes([url])[url]
    assert result.size is None and result.error.startswith("not a zip archive")


def test_installed_size_retries_and_404(server, certs, wheels):
    name = "small-1.0-py3-none-any.whl"
    flaky = server.url(f"flaky/1/{name}")
    missing = server.url("files/absent.whl")
    result = make_client(certs, None, retries=1).installed_sizes([flaky, missing])
    assert result[flaky].size == unpacked_by_zipfile(wheels[name])
    assert result[missing].error == "HTTP 404"
    assert server.count("files/absent.whl") == 1


# ---------------------------------------------------------------------------------------------------
# offline, cache robustness, defaults
# ---------------------------------------------------------------------------------------------------


def test_offline_answers_from_cache_only(server, certs, tmp_path):
    cached = server.url("files/small-1.0-py3-none-any.whl")
    make_client(certs, tmp_path).download_sizes([cached])
    before = server.total_requests()
    other = server.url("files/big-1.0-py3-none-any.whl")
    result = make_client(certs, tmp_path, offline=True).download_sizes([cached, other])
    assert result[cached].cached and result[cached].size is not None
    assert (result[other].size, result[other].error) == (None, "offline")
    assert make_client(certs, tmp_path, offline=True).installed_sizes([other])[other].error == "offline"
    assert server.total_requests() == before


def test_offline_and_import_never_load_httpx(tmp_path):
    (tmp_path / "sizes-v1.json").write_text(
        json.dumps({"schema": 1, "download": {"https://h/a.whl": 5}, "installed": {}})
    )
    script = (
        "import sys; from pathlib import Path\n"
        "from depaudit.analysis.size_lookup import IndexClient\n"
        "assert 'httpx' not in sys.modules\n"
        f"c = IndexClient(Path({str(tmp_path)!r}), offline=True)\n"
        "d = c.download_sizes(['https://h/a.whl', 'https://h/b.whl'])\n"
        "i = c.installed_sizes(['https://h/a.whl'])\n"
        "print([(u, x.size, x.error, x.cached) for u, x in [*d.items(), *i.items()]])\n"
        "print('httpx' in sys.modules or 'asyncio' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    lookups, httpx_loaded = out.stdout.strip().splitlines()
    assert lookups == str(
        [
            ("https://h/a.whl", 5, None, True),
            ("https://h/b.whl", None, "offline", False),
            ("https://h/a.whl", None, "offline", False),
        ]
    )
    assert httpx_loaded == "False"


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff garbage",
        b"[1, 2]",
        b'{"schema": 99, "download": {"U": 1}}',
        b'{"schema": 1, "download": {"U": "12"}, "installed": []}',
        b"",
    ],
)
def test_corrupt_cache_is_ignored_and_replaced(server, certs, wheels, tmp_path, content):
    (tmp_path / "sizes-v1.json").write_bytes(
        content.replace(b"U", server.url("files/small-1.0-py3-none-any.whl").encode())
    )
    url = server.url("files/small-1.0-py3-none-any.whl")
    result = make_client(certs, tmp_path).download_sizes([url])[url]
    assert result == SizeLookup(url, len(wheels["small-1.0-py3-none-any.whl"]), None, False)
    assert json.loads((tmp_path / "sizes-v1.json").read_text())["download"] == {url: result.size}


def test_unwritable_cache_is_reported_not_raised(server, certs, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    client = make_client(certs, blocker / "cache")  # its parent is a file: mkdir fails
    url = server.url("files/small-1.0-py3-none-any.whl")
    assert client.download_sizes([url])[url].size is not None
    assert client.cache_write_error is not None


def test_cache_write_merges_with_entries_another_run_added(server, certs, tmp_path):
    a, b = server.url("files/small-1.0-py3-none-any.whl"), server.url("files/big-1.0-py3-none-any.whl")
    one, two = make_client(certs, tmp_path), make_client(certs, tmp_path)
    one.download_sizes([])  # loads the (empty) cache before the other run writes
    two.download_sizes([a])
    one.download_sizes([b])
    assert set(json.loads((tmp_path / "sizes-v1.json").read_text())["download"]) == {a, b}


def test_programming_errors_raise():
    with pytest.raises(ValueError):
        IndexClient(None, concurrency=0)
    with pytest.raises(ValueError):
        IndexClient(None, timeout=0)
    with pytest.raises(TypeError):
        IndexClient(None, offline=True).download_sizes("https://h/a.whl")


# ---------------------------------------------------------------------------------------------------
# the central-directory parser on its own
# ---------------------------------------------------------------------------------------------------

member = st.tuples(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters="/\\"), min_size=1, max_size=30),
    st.binary(max_size=3000),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.lists(member, max_size=40, unique_by=lambda m: m[0]),
    comment=st.one_of(
        st.just(b""),
        # zipfile (the oracle) is fooled by a signature inside the comment; the test above covers that
        st.binary(max_size=300).filter(lambda c: b"PK\x05\x06" not in c and b"PK\x06\x07" not in c),
        st.integers(min_value=16000, max_value=65535).map(lambda n: b"c" * n),
    ),
    deflate=st.booleans(),
    zip64=st.booleans(),
    tail_size=st.sampled_from([22, 64, 1024, size_lookup.INITIAL_TAIL, size_lookup.MAX_TAIL]),
)
def test_parser_matches_zipfile(members, comment, deflate, zip64, tail_size):
    if zip64:
        with pytest.MonkeyPatch().context() as patch:
            patch.setattr(zipfile, "ZIP64_LIMIT", 100)
            patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
            data = build_zip(members, comment=comment, deflate=deflate)
    else:
        data = build_zip(members, comment=comment, deflate=deflate)
    assert zip_unpacked_size(data, tail_size) == unpacked_by_zipfile(data)


def test_parser_skips_a_fake_end_record_inside_the_comment():
    members = [("a.py", b"x" * 1234), ("b/c.txt", b"y" * 77)]
    # zipfile itself is fooled by this comment; the parser wants the record whose comment ends the file
    data = build_zip(members, comment=b"PK\x05\x06" + b"\x00" * 30 + b"tail")
    assert zip_unpacked_size(data) == 1234 + 77


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000), cut=st.integers(min_value=1, max_value=200))
def test_parser_rejects_junk_and_truncation_with_zip_format_error(data, cut):
    valid = build_zip([("a.py", b"x" * 50), ("b.py", b"")])
    for candidate in (data, valid[:-cut], valid[cut:]):
        try:
            total = zip_unpacked_size(candidate)
        except ZipFormatError:
            continue
        assert isinstance(total, int) and total >= 0  # junk that happens to parse yields a count, never a crash


# ---------------------------------------------------------------------------------------------------
# the real index
# ---------------------------------------------------------------------------------------------------


@pytest.mark.network
def test_real_pypi_wheel_sizes(tmp_path):
    """HEAD and range reads on a real files.pythonhosted.org wheel, checked against the wheel itself."""
    import httpx

    try:
        page = httpx.get(
            "https://pypi.org/simple/pip/",  # PEP 691 JSON form of the simple index
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=15,
        )
    except httpx.TransportError as exc:
        pytest.skip(f"PyPI is unreachable from here: {exc!r}")
    if page.status_code >= 500:
        pytest.skip(f"PyPI answered HTTP {page.status_code}")
    page.raise_for_status()
    url, listed_size = _find_wheel(page, "pip-24.0-py3-none-any.whl")
    assert url.startswith("https://files.pythonhosted.org/")

    client = IndexClient(tmp_path, timeout=30)
    download = client.download_sizes([url])[url]
    installed = client.installed_sizes([url])[url]
    body = httpx.get(url, timeout=60, follow_redirects=True).content  # ~2.1 MB, once, for the check

    assert download == SizeLookup(url, len(body), None, False)
    if listed_size is not None:
        assert download.size == listed_size
    assert installed == SizeLookup(url, unpacked_by_zipfile(body), None, False)
    assert installed.size > download.size


def _find_wheel(page, filename: str) -> tuple[str, int | None]:
    """(URL, size or None) of ``filename`` from a simple-index page, JSON (PEP 691) or HTML (PEP 503).

    The mirror here sometimes answers the HTML form whatever the Accept header says.
    """
    import html
    import re

    if "json" in page.headers.get("content-type", ""):
        entry = next(f for f in page.json()["files"] if f["filename"] == filename)
        return entry["url"], entry.get("size")
    for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page.text):
        if text.strip() == filename:
            return html.unescape(href).split("#", 1)[0], None
    raise AssertionError(f"{filename} not listed on {page.url}")


# ---------------------------------------------------------------------------------------------------
# where look-ups may go (depaudit.analysis.host_policy): registries only, global addresses only, valid URLs
# ---------------------------------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(server, certs, wheels):
    url = server.url("files/small-1.0-py3-none-any.whl")
    refused = make_client(certs, None, hosts=HostPolicy()).download_sizes([url])[url]
    assert (refused.size, refused.error) == (
        None,
        "127.0.0.1 is a loopback address: not looked up (--allow-host 127.0.0.1 to permit)",
    )
    by_name = f"https://localhost:{server.port}/files/small-1.0-py3-none-any.whl"
    named = make_client(certs, None, hosts=HostPolicy()).download_sizes([by_name])[by_name]
    assert named.error.startswith("localhost resolves to ") and "(loopback): not looked up" in named.error
    assert server.total_requests() == 0
    allowed = make_client(certs, None, hosts=HostPolicy.make(None, ["localhost"])).download_sizes([by_name])[by_name]
    assert allowed.size == len(wheels["small-1.0-py3-none-any.whl"])


@pytest.mark.parametrize(
    "host, kind",
    [
        ("169.254.169.254", "link-local"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("[fe80::1]", "link-local"),
        ("[fd00::1]", "private"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_global_literal_addresses_are_never_contacted(host, kind):
    import time

    url = f"https://{host}/x-1.0-py3-none-any.whl"
    start = time.monotonic()
    result = IndexClient(None, retries=0).download_sizes([url])[url]
    assert result.size is None and f"is a {kind} address: not looked up" in result.error
    assert time.monotonic() - start < 2  # refused before any connection attempt


def test_hosts_outside_the_lock_registries_are_refused(server, certs):
    url = server.url("files/small-1.0-py3-none-any.whl")
    policy = HostPolicy.make(registry_hosts(["https://pypi.org/simple"]), ["127.0.0.1"])
    assert make_client(certs, None, hosts=policy).download_sizes([url])[url].size is not None  # allowed
    strict = HostPolicy.make(registry_hosts(["https://pypi.org/simple"]))
    result = make_client(certs, None, hosts=strict).download_sizes([url])[url]
    assert result.error == (
        "host 127.0.0.1 is not a registry of this lock (nor its file host); --allow-host 127.0.0.1 to permit"
    )


def test_a_redirect_to_another_host_passes_the_same_policy(server, certs, wheels):
    url = server.url("redirect-localhost/small-1.0-py3-none-any.whl")
    result = make_client(certs, None).download_sizes([url])[url]
    assert result.size is None and result.error.startswith("localhost resolves to ")
    assert server.count("files/small-1.0-py3-none-any.whl") == 0
    both = HostPolicy.make(None, ["127.0.0.1", "localhost"])
    assert make_client(certs, None, hosts=both).download_sizes([url])[url].size == len(
        wheels["small-1.0-py3-none-any.whl"]
    )


def test_the_connect_time_guard_refuses_what_the_precheck_would(server, certs, monkeypatch):
    """DNS rebinding (a name that resolves to a global address when checked and to loopback when
    connected) cannot be staged here for real: the pre-check is switched off instead, and the guard in
    the connection pool must still refuse the loopback connection."""

    async def no_precheck(*args, **kwargs):
        return None

    monkeypatch.setattr(size_lookup, "_precheck", no_precheck)
    url = f"https://localhost:{server.port}/files/small-1.0-py3-none-any.whl"
    result = make_client(certs, None, hosts=HostPolicy(), retries=0).download_sizes([url])[url]
    assert result.size is None and "(loopback): not looked up" in result.error
    assert server.total_requests() == 0


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://files.pythonhosted.org/" + "a" * 9000 + ".whl", "URL longer than 8 KiB"),
        (
            "https://files.pythonhosted.org/x.whl\r\nX-Injected: 1",
            "URL contains spaces, control or non-ASCII characters",
        ),
        ("https://files.pythonhosted.org/x\x00.whl", "URL contains spaces, control or non-ASCII characters"),
        ("https://files.pythonhosted.org:99999/x.whl", "malformed URL"),
        ("http://files.pythonhosted.org/x.whl", "not https"),
    ],
)
def test_invalid_urls_are_unknown_sizes_with_a_reason(url, reason):
    for lookup in ("download_sizes", "installed_sizes"):
        result = getattr(IndexClient(None), lookup)([url])[url]
        assert (result.size, result.error) == (None, reason)


def test_operator_resolved_index_hosts_are_not_second_guessed():
    """pypi.org resolves to 203.0.113.80 on our CI machines (a transparent TLS proxy answers for it):
    a documentation-range address, refused for any host the lock's author could pick, but not for the
    public index hosts, whose resolution the machine's operator decides."""
    from ipaddress import ip_address

    policy = HostPolicy()
    proxy_answer = [ip_address("203.0.113.80")]
    assert policy.refuse_addresses("files.pythonhosted.org", proxy_answer) is None
    assert policy.refuse_addresses("pypi.org.", proxy_answer) is None
    assert "not looked up" in policy.refuse_addresses("wheels.example.org", proxy_answer)


def test_unresolvable_host_behind_a_proxy_cannot_be_checked(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(size_lookup._Failure) as failure:
        asyncio.run(size_lookup._precheck(HostPolicy(), "wheels.invalid", 443, 5))
    assert failure.value.reason == (
        "cannot check where wheels.invalid resolves (a proxy carries the request): "
        "--allow-host wheels.invalid to permit"
    )


def _loopback_lock(folder: Path, server) -> Path:
    """A minimal uv.lock (hand-written: its one registry is the test server on loopback, which `uv lock`
    cannot be pointed at as a plain file server) whose wheel has no recorded size."""
    folder.mkdir(exist_ok=True)
    root = f"https://127.0.0.1:{server.port}"
    (folder / "uv.lock").write_text(f'''version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [{{ name = "small" }}]

[[package]]
name = "small"
version = "1.0"
source = {{ registry = "{root}/simple" }}
wheels = [{{ url = "{root}/files/small-1.0-py3-none-any.whl", hash = "sha256:00" }}]
''')
    return folder / "uv.lock"


def _scan_small(lock: Path, certs, *args: str, **env: str) -> dict:
    environ = {**os.environ, "PYTHONPATH": str(REPO), "SSL_CERT_FILE": str(certs.ca), **env}
    environ.pop("DEPAUDIT_ALLOW_HOSTS", None) if "DEPAUDIT_ALLOW_HOSTS" not in env else None
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "depaudit",
            "scan",
            str(lock),
            "-t",
            "linux-x86_64",
            "-f",
            "json",
            "--cache-dir",
            str(lock.parent / "cache"),
            *args,
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    package = json.loads(proc.stdout)["targets"][0]["packages"][0]
    return {"size": package["size"], "error": package.get("size_error")}


def test_allow_host_reaches_loopback_from_the_command_line_and_environment_only(server, certs, wheels, tmp_path):
    size = len(wheels["small-1.0-py3-none-any.whl"])
    lock = _loopback_lock(tmp_path / "a", server)
    refused = _scan_small(lock, certs)
    assert refused["size"] is None and "is a loopback address" in refused["error"]
    assert server.total_requests() == 0
    assert _scan_small(lock, certs, "--allow-host", "127.0.0.1")["size"] == size
    lock = _loopback_lock(tmp_path / "b", server)
    assert _scan_small(lock, certs, DEPAUDIT_ALLOW_HOSTS="example.org, 127.0.0.1")["size"] == size
    # a checkout's allow-hosts names hosts, but never opens loopback/private addresses (a port scan)
    before = server.total_requests()
    lock = _loopback_lock(tmp_path / "c", server)
    (lock.parent / "pyproject.toml").write_text('[tool.depaudit]\nallow-hosts = ["127.0.0.1"]\n')
    from_file = _scan_small(lock, certs)
    assert from_file["size"] is None and "is a loopback address" in from_file["error"]
    assert server.total_requests() == before


def test_a_lock_with_a_crlf_url_is_an_unknown_size_not_a_traceback(server, certs, tmp_path):
    lock = _loopback_lock(tmp_path, server)
    text = lock.read_text().replace("/files/small-1.0", "/files/x\\r\\nX-Injected: y/small-1.0")
    lock.write_text(text)
    result = _scan_small(lock, certs, "--allow-host", "127.0.0.1")
    assert result == {"size": None, "error": "URL contains spaces, control or non-ASCII characters"}
