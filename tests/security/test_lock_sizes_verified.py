"""A lock's sizes are verified against the index online, never trusted: editing `size = 1` into a lock
does not pass a budget, and DA105 names the file.

The index is a real HTTPS server on 127.0.0.1 (tests/tls_server.py) serving PEP 691 JSON project pages
and the wheel files; loopback is allowed by the command line only. uv itself does not check `size`
(`uv lock --check` and `uv sync` pass an edited lock), so before this depaudit reported a 2 B download
for 3.9 GB and `--max-download` and `--max-increase` were bypassed by changing numbers. The network test
at the end does the same with a real lock and PyPI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hostile import Surroundings, assert_no_secret, hostile_clone, run_in
from tls_server import IndexServer, make_certificates

from fixture_paths import LOCKS

PYPROJECT = '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["big"]\n'
REAL = 50_000  # what the index serves and lists for each wheel


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _wheels(server: IndexServer) -> list[str]:
    names = ["big-1.0-py3-none-manylinux_2_28_x86_64.whl", "big-1.0-py3-none-macosx_11_0_arm64.whl"]
    for name in names:
        server.files[name] = b"\0" * REAL
    server.projects["big"] = [
        {"filename": n, "url": f"/files/{n}", "hashes": {"sha256": "0" * 64}, "size": REAL} for n in names
    ]
    return names


def _lock(server: IndexServer, names: list[str], size: int) -> str:
    wheels = ",\n".join(
        f'    {{ url = "{server.url("files/" + n)}", hash = "sha256:{"0" * 64}", size = {size} }}' for n in names
    )
    return (
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[[package]]\nname = "svc"\nversion = "0.1.0"\n'
        'source = { virtual = "." }\ndependencies = [{ name = "big" }]\n\n[[package]]\nname = "big"\n'
        f'version = "1.0"\nsource = {{ registry = "{server.url("simple")}" }}\nwheels = [\n{wheels},\n]\n'
    )


def test_an_edited_size_fails_the_gate_and_is_named(tmp_path: Path, certificates) -> None:
    with IndexServer(certificates) as server:
        names = _wheels(server)
        clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": _lock(server, names, 1)})
        around = Surroundings(tmp_path, clone)
        env = {"SSL_CERT_FILE": str(certificates.ca), "DEPAUDIT_CACHE_DIR": str(tmp_path / "cache")}
        gate = ("gate", "--lock", "uv.lock", "-t", "linux-x86_64", "--max-download", "10KB")
        online = run_in(clone, *gate, "--allow-host", "127.0.0.1", **env)
        pages = server.count("/simple/big/")
        again = run_in(clone, *gate, "--allow-host", "127.0.0.1", "--format", "json", **env)
        requests_again = server.total_requests() - pages
    assert_no_secret(online)
    assert online.returncode == 1, (online.stdout, online.stderr)
    assert "FAIL" in online.stdout and "download 50.0 kB exceeds" in online.stdout
    assert re.search(
        r"DA105 .*big-1\.0-py3-none-manylinux_2_28_x86_64\.whl a size of 1 B; its index lists 50,000 B", online.stdout
    )
    assert pages == 1 and requests_again == 0  # one page for both wheels; then answered from the cache
    doc = json.loads(again.stdout)
    assert not doc["passed"] and any(f["rule"] == "DA105" for f in doc["findings"])
    assert around.changed() == [f"{tmp_path / 'cache'}", f"{tmp_path / 'cache' / 'sizes-v1.json'}"]


def test_offline_says_the_sizes_are_unverified(tmp_path: Path, certificates) -> None:
    with IndexServer(certificates) as server:
        clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": _lock(server, _wheels(server), 1)})
        result = run_in(clone, "gate", "--lock", "uv.lock", "-t", "linux-x86_64", "--max-download", "10KB", "--offline")
        assert server.total_requests() == 0
    assert result.returncode == 0 and "not checked against the index (offline)" in result.stdout, result.stdout


def test_scan_and_diff_budgets_use_the_index_numbers(tmp_path: Path, certificates) -> None:
    with IndexServer(certificates) as server:
        names = _wheels(server)
        files = {"pyproject.toml": PYPROJECT, "uv.lock": _lock(server, names, 1)}
        base = _lock(server, names, REAL).replace('dependencies = [{ name = "big" }]', "dependencies = []")
        files |= {"base/uv.lock": base}  # the project before the pull request: nothing but itself
        clone = hostile_clone(tmp_path, files)
        env = {"SSL_CERT_FILE": str(certificates.ca)}
        scan = run_in(
            clone,
            "scan",
            "-t",
            "linux-x86_64",
            "--max-download",
            "10KB",
            "--format",
            "json",
            "--allow-host",
            "127.0.0.1",
            **env,
        )
        diff = run_in(
            clone,
            "diff",
            "base/uv.lock",
            "uv.lock",
            "-t",
            "linux-x86_64",
            "--max-increase",
            "10KB",
            "--format",
            "json",
            "--allow-host",
            "127.0.0.1",
            **env,
        )
    assert scan.returncode == 1, scan.stderr
    doc = json.loads(scan.stdout)
    assert doc["sizes_checked"] and doc["targets"][0]["total_bytes"] == REAL
    assert any(f["rule"] == "DA105" for f in doc["findings"])
    assert diff.returncode == 1, diff.stderr
    changed = json.loads(diff.stdout)
    assert changed["targets"][0]["delta_bytes"] == REAL and changed["lock_sizes_differ"], changed
    assert "DA105" in diff.stderr


@pytest.mark.network
def test_a_real_lock_with_an_edited_torch_size(tmp_path: Path) -> None:
    """torch-2.8-sizes (a real `uv lock`, sizes on 371 of 381 wheels) with torch's x86_64 wheel edited to
    `size = 1`: the gate, online against PyPI, still sees 888 MB and names the edit."""
    text = (LOCKS / "torch-2.8-sizes" / "uv.lock").read_text()
    edited, count = re.subn(r"(torch-2\.8\.0-cp311-cp311-manylinux_2_28_x86_64\.whl\".*?size = )\d+", r"\g<1>1", text)
    assert count == 1
    pyproject = (LOCKS / "torch-2.8-sizes" / "pyproject.toml").read_text()
    clone = hostile_clone(tmp_path, {"pyproject.toml": pyproject, "uv.lock": edited})
    result = run_in(
        clone,
        "gate",
        "--lock",
        "uv.lock",
        "-t",
        "linux-x86_64",
        "--max-download",
        "5GB",
        timeout=300,
        DEPAUDIT_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert_no_secret(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "DA105" in result.stdout and "888,063,640 B" in result.stdout
