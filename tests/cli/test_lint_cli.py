"""`depaudit lint` end to end (a real subprocess): formats, exit codes, --fail-on, --select/--ignore,
directory search, bad input without a traceback; SARIF and JSON goldens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from golden_files import golden
from sarif_schema import validate_sarif

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DOCKERFILES = TESTS / "fixtures" / "dockerfiles"


def run(*args: str, cwd: Path = DOCKERFILES) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "lint", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_json_golden_and_exit_code():
    out = run("cuda-twice.Dockerfile", "secrets.Dockerfile", "--format", "json")
    assert out.returncode == 1  # errors present, default --fail-on error
    doc = json.loads(out.stdout)
    assert doc["schema"] == 1
    assert [(f["path"], f["line"], f["rule"]) for f in doc["findings"]] == [
        ("cuda-twice.Dockerfile", 1, "DA301"),
        ("cuda-twice.Dockerfile", 3, "DA302"),
        ("cuda-twice.Dockerfile", 3, "DA310"),
        ("secrets.Dockerfile", 1, "DA309"),
        ("secrets.Dockerfile", 3, "DA309"),
        ("secrets.Dockerfile", 4, "DA309"),
        ("secrets.Dockerfile", 6, "DA309"),
    ]
    golden("lint/cuda-twice+secrets.json", out.stdout)


def test_sarif_structure_and_golden():
    out = run("cuda-twice.Dockerfile", "no-user.Dockerfile", "--format", "sarif")
    assert out.returncode == 1
    log = json.loads(out.stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    validate_sarif(log)
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "depaudit"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [f"DA3{n:02d}" for n in range(1, 11)]
    for r in rules:
        assert r["shortDescription"]["text"]
        # no docs URL configured: the page shipped with depaudit, which exists (never a made-up repository)
        page = ROOT / "docs" / "rules" / f"{r['id']}.md"
        assert r["helpUri"] == page.as_uri() and page.is_file()
        assert r["help"]["markdown"].startswith(f"# {r['id']}") and r["fullDescription"]["text"]
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert {r["id"]: r["defaultConfiguration"]["level"] for r in rules}["DA307"] == "warning"
    results = run_["results"]
    assert [
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results
    ] == [("DA301", "error", 1), ("DA302", "error", 3), ("DA310", "error", 3), ("DA307", "warning", 1)]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["message"]["text"]
        artifact = r["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert artifact["uri"] in (
            "tests/fixtures/dockerfiles/cuda-twice.Dockerfile",
            "tests/fixtures/dockerfiles/no-user.Dockerfile",
        )
    root_uri = run_["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root_uri == ROOT.as_uri() + "/"
    stable = out.stdout.replace(f'"{driver["version"]}"', '"X"').replace(root_uri, "file:///REPO/")
    golden("lint/cuda-twice+no-user.sarif", stable)


def test_fail_on_levels():
    assert run("caches.Dockerfile").returncode == 0  # warnings only, default --fail-on error
    assert run("caches.Dockerfile", "--fail-on", "warning").returncode == 1
    assert run("cuda-twice.Dockerfile", "--fail-on", "never").returncode == 0
    assert run("clean-multistage.Dockerfile", "--fail-on", "info").returncode == 0


def test_select_and_ignore():
    out = run("cuda-twice.Dockerfile", "-f", "json", "--select", "DA301,DA310")
    assert {f["rule"] for f in json.loads(out.stdout)["findings"]} == {"DA301", "DA310"}
    out = run("cuda-twice.Dockerfile", "-f", "json", "--ignore", "DA301", "--ignore", "DA302,DA310")
    assert json.loads(out.stdout)["findings"] == [] and out.returncode == 0


def test_table_and_markdown_output():
    out = run("cuda-twice.Dockerfile")
    assert out.returncode == 1
    assert "DA310" in out.stdout and "3 findings (3 errors) in 1 file" in out.stdout
    md = run("caches.Dockerfile", "--format", "markdown")
    assert "| `caches.Dockerfile:2` | `DA304` | warning | yes |" in md.stdout  # a link only to a configured URL


def test_output_file_is_written(tmp_path):
    target = tmp_path / "lint.sarif"
    out = run("no-user.Dockerfile", "-f", "sarif", "-o", str(target))
    assert out.returncode == 0 and out.stdout == ""
    assert json.loads(target.read_text())["runs"][0]["results"][0]["ruleId"] == "DA307"


def test_directory_search(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM python:3.11-slim\nUSER 1\n")
    (tmp_path / "api.Dockerfile").write_text("FROM python:3.11-slim\n")
    (tmp_path / "Dockerfile.dev").write_text("FROM python:3.11-slim\nUSER 1\n")
    (tmp_path / "notes.txt").write_text("FROM nothing\n")
    # BuildKit's per-Dockerfile ignore files are not Dockerfiles
    (tmp_path / "Dockerfile.dockerignore").write_text(".git\n*.pyc\n")
    (tmp_path / "api.Dockerfile.dockerignore").write_text(".venv\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "Dockerfile").write_text("not a dockerfile\n")
    out = run(".", "-f", "json", cwd=tmp_path)
    doc = json.loads(out.stdout)
    assert sorted(doc["files"]) == ["Dockerfile.dev", "api.Dockerfile", "svc/Dockerfile"]
    assert [(f["path"], f["rule"]) for f in doc["findings"]] == [("api.Dockerfile", "DA307")]


@pytest.mark.parametrize(
    "setup, code, needle",
    [
        (lambda d: None, 3, "missing: no such file or directory"),
        (lambda d: (d / "missing").mkdir(), 3, "no Dockerfile"),
        (lambda d: (d / "missing").write_bytes(b"FROM x\n\xff\n"), 3, "missing:2: not UTF-8 text"),
        (lambda d: (d / "missing").write_text(""), 3, "missing: empty Dockerfile"),
        (lambda d: (d / "missing").write_text("FROM x\nFROB y\n"), 3, "missing:2: unknown instruction 'FROB'"),
    ],
)
def test_bad_input_exit_3_without_traceback(tmp_path, setup, code, needle):
    setup(tmp_path)
    out = run("missing", cwd=tmp_path)
    assert out.returncode == code
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--select", "DA1O1"],
        ["--ignore", "E501"],
        ["--build-arg", "NOEQUALS"],
        ["--format", "xml"],
        ["--fail-on", "fatal"],
    ],
)
def test_usage_errors_exit_2(args):
    out = run("clean-multistage.Dockerfile", *args)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr


def test_build_arg_changes_the_base_image():
    text_default = run("clean-multistage.Dockerfile", "-f", "json")
    assert json.loads(text_default.stdout)["findings"] == []
    out = run(
        "clean-multistage.Dockerfile", "-f", "json", "--build-arg", "BASE_IMAGE=nvidia/cuda:12.4.1-runtime-ubuntu22.04"
    )
    assert [f["rule"] for f in json.loads(out.stdout)["findings"]] == ["DA301"]
