"""PEP 691 project pages (`analysis.index_pages`): what a page may say, and for which files; against a
real HTTPS index on 127.0.0.1 (tests/tls_server.py) for the fallbacks to HEAD."""

from __future__ import annotations

import json
import ssl

import pytest
from tls_server import IndexServer, make_certificates

from depaudit.analysis.host_policy import HostPolicy
from depaudit.analysis.index_pages import PageError, WheelRef, index_sizes, listed_files, project_page_url
from depaudit.analysis.size_lookup import IndexClient


def page(files, version="1.1") -> bytes:
    return json.dumps({"meta": {"api-version": version}, "name": "x", "files": files}).encode()


def test_page_urls_use_the_normalised_name():
    assert project_page_url("https://pypi.org/simple", "Foo_Bar.baz") == "https://pypi.org/simple/foo-bar-baz/"
    assert project_page_url("https://pypi.org/simple/", "torch") == "https://pypi.org/simple/torch/"


def test_listed_files_resolve_urls_and_skip_entries_without_a_usable_size():
    body = page(
        [
            {"filename": "a-1.0-py3-none-any.whl", "url": "../../files/a-1.0-py3-none-any.whl", "size": 10},
            {"filename": "b-1.0-py3-none-any.whl", "url": "https://f.example/b.whl", "size": -1},
            {"filename": "c-1.0-py3-none-any.whl", "url": "https://f.example/c.whl", "size": True},
            {"filename": "d-1.0-py3-none-any.whl", "url": "https://f.example/d.whl"},
            "not an entry",
        ]
    )
    files = listed_files(body, "https://i.example/simple/a/")
    assert files == {"a-1.0-py3-none-any.whl": ("https://i.example/files/a-1.0-py3-none-any.whl", 10)}


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"<html></html>", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (json.dumps({"files": []}).encode(), "API version"),
        (page([], version="2.0"), "API version"),
        (json.dumps({"meta": {"api-version": "1.1"}, "files": {}}).encode(), "no files list"),
    ],
)
def test_what_is_not_a_pep_691_page_is_a_page_error(body, reason):
    with pytest.raises(PageError, match=reason):
        listed_files(body, "https://i.example/simple/a/")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


def client(certs, cache) -> IndexClient:
    return IndexClient(
        cache,
        verify=ssl.create_default_context(cafile=str(certs.ca)),
        backoff=0.01,
        hosts=HostPolicy.make(None, ["127.0.0.1", "localhost"]),
    )


def test_a_page_answers_for_its_files_and_the_rest_falls_back_to_head(certs, tmp_path):
    with IndexServer(certs) as server:
        server.files["a-1.0-py3-none-any.whl"] = b"x" * 7
        server.files["b-1.0-py3-none-any.whl"] = b"x" * 9
        server.projects["a"] = [
            {"filename": "a-1.0-py3-none-any.whl", "url": "/files/a-1.0-py3-none-any.whl", "size": 70}
        ]
        registry = server.url("simple")
        wheels = [
            WheelRef(registry, "a", "1.0", "a-1.0-py3-none-any.whl", server.url("files/a-1.0-py3-none-any.whl")),
            WheelRef(registry, "b", "1.0", "b-1.0-py3-none-any.whl", server.url("files/b-1.0-py3-none-any.whl")),
        ]
        answers = index_sizes(client(certs, tmp_path), wheels)
        assert server.count("/simple/a/") == 1 and server.count("/simple/b/") == 1  # b: 404, then HEAD
        assert server.count("/files/a-1.0-py3-none-any.whl") == 0
    assert answers[wheels[0].url].size == 70  # the page's number, not the file's: the index speaks
    assert answers[wheels[1].url].size == 9


def test_a_page_never_vouches_for_a_file_on_another_host(certs, tmp_path):
    """A registry a lock names lists a file served from another host with a tiny size: not believed, not
    cached; the wheel's own URL is asked with HEAD (where the host policy lets it: here, by name)."""
    with IndexServer(certs) as server:
        other = f"https://localhost:{server.port}/files/big-1.0-py3-none-any.whl"
        server.files["big-1.0-py3-none-any.whl"] = b"x" * 5000
        server.projects["big"] = [{"filename": "big-1.0-py3-none-any.whl", "url": other, "size": 1}]
        wheel = WheelRef(server.url("simple"), "big", "1.0", "big-1.0-py3-none-any.whl", other)
        looked_up = client(certs, tmp_path)
        answers = index_sizes(looked_up, [wheel])
    assert answers[other].size == 5000  # HEAD on the wheel's own URL
    assert looked_up.cached_sizes()[other] == 5000
