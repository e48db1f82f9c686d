"""No credential from a URL is printed, logged, cached or written into a project file; every output
escapes control and bidi characters (fix diffs too); `-o` never replaces an input.

The look-up test runs against a real HTTPS server on 127.0.0.1 (tests/tls_server.py), allowed by the
command line only. Before: `user:token@` in a wheel URL went into the size cache in plain text; `fix
--cpu-index-url https://user:token@…` printed the token and wrote it into pyproject.toml; fix diffs
printed ESC/OSC/bidi characters raw; `scan -o uv.lock` replaced the lock with its report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile import SECRET, Surroundings, assert_no_secret, hostile_clone, run_in
from tls_server import IndexServer, make_certificates

PYPROJECT = '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["torch==2.8.0"]\n'
RAW = ("\x1b", "\x07", "\u202e", "\u2066")


def assert_escaped(text: str) -> None:
    assert not any(ch in text for ch in RAW), repr(text[:500])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_a_credential_in_a_lock_url_is_neither_cached_nor_printed(tmp_path: Path, certificates) -> None:
    cache = tmp_path / "cache"
    with IndexServer(certificates) as server:
        server.files["w-1.0-py3-none-any.whl"] = b"x" * 1234
        base = f"https://ci-bot:{SECRET}@127.0.0.1:{server.port}"
        lock = (
            'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[[package]]\nname = "svc"\nversion = "0.1.0"\n'
            'source = { virtual = "." }\ndependencies = [{ name = "w" }]\n\n[[package]]\nname = "w"\n'
            f'version = "1.0"\nsource = {{ registry = "{base}/simple" }}\n'
            f'wheels = [{{ url = "{base}/files/w-1.0-py3-none-any.whl", hash = "sha256:{"0" * 64}" }}]\n'
        )
        clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": lock})
        env = {"SSL_CERT_FILE": str(certificates.ca), "DEPAUDIT_CACHE_DIR": str(cache)}
        args = ("scan", "-t", "linux-x86_64", "--allow-host", "127.0.0.1", "--verbose")
        table = run_in(clone, *args, **env)
        as_json = run_in(clone, *args, "--format", "json", "--offline", **env)
    for result in (table, as_json):
        assert_no_secret(result)
        assert result.returncode == 0, result.stderr
    (package,) = [p for p in json.loads(as_json.stdout)["targets"][0]["packages"] if p["name"] == "w"]
    assert package["size"] == 1234  # looked up once, then answered from the cache offline
    stored = (cache / "sizes-v1.json").read_text()
    assert SECRET not in stored and "ci-bot" not in stored
    assert f"https://127.0.0.1:{server.port}/files/w-1.0-py3-none-any.whl" in stored


def test_fix_never_writes_a_credential_into_the_project(tmp_path: Path) -> None:
    clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT})
    around = Surroundings(tmp_path, clone)
    url = f"https://ci-bot:{SECRET}@pypi.example.com/simple/cpu"
    result = run_in(clone, "fix", ".", "--offline", "--cpu-index-url", url)
    assert_no_secret(result)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "UV_INDEX_PYTORCH_CPU_USERNAME" in result.stderr and "UV_INDEX_PYTORCH_CPU_PASSWORD" in result.stderr
    assert (clone / "pyproject.toml").read_text() == PYPROJECT and around.changed() == []


def test_a_credential_in_a_project_file_is_redacted_in_every_format(tmp_path: Path) -> None:
    text = f"--extra-index-url https://ci-bot:{SECRET}@download.pytorch.org/whl/cu121\ntorch==2.8.0\n"
    clone = hostile_clone(tmp_path, {"requirements.txt": text})
    for fmt in ("table", "json", "markdown", "sarif", "gnu"):
        assert_no_secret(run_in(clone, "lint", "requirements.txt", "--format", fmt))
    refused = run_in(clone, "fix", "requirements.txt")
    assert_no_secret(refused)
    assert refused.returncode == 5 and "https://***@download.pytorch.org/whl/cu121" in refused.stderr


def test_fix_diffs_escape_control_and_bidi_characters(tmp_path: Path) -> None:
    hostile_comment = "\x1b]0;owned\x07 \x1b[2J \u202eevil\u202c \u2066x\u2069"
    files = {
        "requirements.txt": f"numpy  # {hostile_comment}\ntorch==2.8.0  # {hostile_comment}\n",
        "pyproject.toml": PYPROJECT.replace('["torch==2.8.0"]', '[\n  "torch==2.8.0",  # \u202eevil\u202c\n]'),
    }
    clone = hostile_clone(tmp_path, files)
    for args in (("fix", "requirements.txt", "--dry-run"), ("fix", ".", "--dry-run", "--offline")):
        for fmt in ("table", "markdown"):
            result = run_in(clone, *args, "--format", fmt)
            assert_no_secret(result)
            assert result.returncode in (0, 1), (args, result.stderr)
            assert "+cpu" in result.stdout or "pytorch-cpu" in result.stdout, result.stdout
            assert_escaped(result.stdout + result.stderr)


def test_output_that_names_an_input_is_refused(tmp_path: Path) -> None:
    lock = (Path(__file__).parent.parent / "fixtures" / "locks" / "torch-2.8" / "uv.lock").read_text()
    clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": lock, "requirements.txt": "numpy\n"})
    for args in (
        ("scan", "--offline", "-o", "uv.lock"),
        ("scan", "--offline", "--format", "json", "-o", "pyproject.toml"),
        ("gate", "--lock", "uv.lock", "--offline", "--max-accelerator", "0", "-o", "uv.lock"),
        ("lint", ".", "-o", "requirements.txt"),
        ("diff", "uv.lock", "uv.lock", "--offline", "-o", "uv.lock"),
        ("fix", ".", "--dry-run", "--offline", "-o", "pyproject.toml"),
    ):
        result = run_in(clone, *args)
        assert result.returncode == 2 and "input" in result.stderr, (args, result.returncode, result.stderr)
        assert (clone / "uv.lock").read_text() == lock and (clone / "pyproject.toml").read_text() == PYPROJECT
        assert (clone / "requirements.txt").read_text() == "numpy\n"


def test_verbose_settings_of_a_checkout_are_redacted_and_escaped(tmp_path: Path) -> None:
    """`--verbose` lists where each setting came from, values included: a checkout's value is data."""
    docs_url = f"https://ci:{SECRET}@example.com/\x1b[31mred\u202e"
    body = PYPROJECT + f"\n[tool.depaudit]\ndocs-url = {json.dumps(docs_url)}\n"
    clone = hostile_clone(tmp_path, {"pyproject.toml": body})
    result = run_in(clone, "lint", "pyproject.toml", "--verbose")
    assert "docs-url" in result.stderr  # the line is there, shown safely
    assert_no_secret(result)
    assert_escaped(result.stderr)
