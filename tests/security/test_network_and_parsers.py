"""Hostile hosts, a silent index and TOML deeper than the editor reads: one line each, never a traceback,
never a hang, and a gate that cannot verify says UNKNOWN (and fails).

The index is a real HTTPS server on 127.0.0.1 (tests/tls_server.py) whose certificate the child trusts
through SSL_CERT_FILE; loopback is reached only because the command line says `--allow-host 127.0.0.1`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile import Surroundings, assert_no_secret, hostile_clone, run_in
from tls_server import IndexServer, make_certificates

PYPROJECT = '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n'
HOST_FORMS = {
    "octal": "0177.0.0.1",
    "short": "127.1",
    "empty-label": "a..b",
    "long-label": "x" * 70 + ".example",
    "bad-idna": "xn--a",
    "hex": "0x7f.0.0.1",
}


def lock_text(wheels: dict[str, tuple[str, str]]) -> str:
    """A uv.lock (revision 3) whose root needs one package per entry: name -> (registry URL, wheel URL),
    wheels without `size` so that every one is looked up."""
    lines = ["version = 1", "revision = 3", 'requires-python = ">=3.11"', ""]
    lines += ["[[package]]", 'name = "svc"', 'version = "0.1.0"', 'source = { virtual = "." }', "dependencies = ["]
    lines += [f'    {{ name = "{name}" }},' for name in wheels]
    lines += ["]"]
    for name, (registry, url) in wheels.items():
        lines += ["", "[[package]]", f'name = "{name}"', 'version = "1.0"', f'source = {{ registry = "{registry}" }}']
        lines += [f'wheels = [{{ url = "{url}", hash = "sha256:{"0" * 64}" }}]']
    return "\n".join(lines) + "\n"


def test_every_host_form_is_a_one_line_refusal(tmp_path: Path) -> None:
    wheels = {
        f"p-{kind}": (f"https://{host}/simple", f"https://{host}/p_{kind}-1.0-py3-none-any.whl")
        for kind, host in HOST_FORMS.items()
    }
    clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": lock_text(wheels)})
    around = Surroundings(tmp_path, clone)
    scan = run_in(clone, "scan", "-t", "linux-x86_64", "--format", "json")
    assert_no_secret(scan)
    assert scan.returncode == 0, scan.stderr
    (target,) = json.loads(scan.stdout)["targets"]
    errors = {p["name"]: p.get("size_error") for p in target["packages"]}
    assert set(errors) == set(wheels) and all(e and "\n" not in e for e in errors.values()), errors
    gate = run_in(clone, "gate", "--lock", "uv.lock", "-t", "linux-x86_64", "--max-download", "1GB")
    assert_no_secret(gate)
    assert gate.returncode == 1 and "UNKNOWN" in gate.stdout, (gate.stdout, gate.stderr)
    assert around.changed() == []


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_lookups_end_at_the_deadline(tmp_path: Path, certificates) -> None:
    """64 wheels on an index that answers nothing for a minute: the gate ends after the deadline with
    every size unknown and the budget UNKNOWN (before: 127 s, and no way to bound it)."""
    with IndexServer(certificates) as server:
        registry = server.url("simple")
        wheels = {f"w{i}": (registry, server.url(f"slow/60/w{i}-1.0-py3-none-any.whl")) for i in range(64)}
        clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT, "uv.lock": lock_text(wheels)})
        result = run_in(
            clone,
            *("gate", "--lock", "uv.lock", "-t", "linux-x86_64", "--max-download", "1GB"),
            *("--allow-host", "127.0.0.1", "--lookup-deadline", "3"),
            timeout=60,
            SSL_CERT_FILE=str(certificates.ca),
        )
    assert_no_secret(result)
    assert result.returncode == 1 and "UNKNOWN" in result.stdout, (result.stdout, result.stderr)
    assert result.seconds < 30, result.seconds
    json_run = run_in(clone, "scan", "-t", "linux-x86_64", "--format", "json", "--offline")
    assert json_run.returncode == 0


def test_toml_deeper_than_the_editor_reads_is_exit_3(tmp_path: Path) -> None:
    deep = "[" * 200 + "]" * 200
    text = PYPROJECT.replace("dependencies = []", 'dependencies = ["torch"]') + f"\n[tool.other]\nx = {deep}\n"
    clone = hostile_clone(tmp_path, {"pyproject.toml": text})
    around = Surroundings(tmp_path, clone)
    result = run_in(clone, "fix", ".", "--dry-run", "--offline")
    assert_no_secret(result)
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pyproject.toml:" in lines[0] and "nested" in lines[0], lines
    assert (clone / "pyproject.toml").read_text() == text and around.changed() == []
