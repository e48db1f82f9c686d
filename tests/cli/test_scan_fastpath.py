"""`depaudit scan` reads plain command lines without typer; the result must be exactly what the typer
path gives for the same arguments (both come from one definition of the options, cli/scan.PARAMS)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.cli import scan as scan_cli
from depaudit.cli.params import parse_fast
from depaudit.render.formats import OutputFormat

from fixture_paths import LOCKS, SIZE_CACHE

TORCH28 = str(LOCKS / "torch-2.8" / "uv.lock")
WORKSPACE = str(LOCKS / "workspace-root-package")

ARGUMENTS = [
    [TORCH28, "--offline"],
    [TORCH28, "--offline", "-t", "linux-x86_64", "--top", "3"],
    [TORCH28, "--offline", "--format", "json"],
    [TORCH28, "--offline", "--format=markdown", "--binary", "--all", "-t", "macos-arm64", "-t", "linux-aarch64"],
    [TORCH28, "--offline", "-f", "json", "-o", "-", "--max-accelerator", "0"],
    [TORCH28, "--offline", "--max-download", "1GB", "-t", "linux-x86_64"],
    [TORCH28, "--offline", "--fail-on", "warning", "--format", "json"],
    [WORKSPACE, "--offline", "--package", "hdr-full", "--extra", "vision", "-t", "x86_64-unknown-linux-musl"],
    [WORKSPACE, "--offline", "--all-packages", "--all-groups", "--python", "3.12", "--format", "json"],
    [WORKSPACE, "--offline", "--package", "nope"],
    [TORCH28, "--offline", "-t", "plan9-mips"],
    [TORCH28, "--offline", "--top", "many"],
    [TORCH28, "--offline", "--format", "yaml"],
    [TORCH28, "--offline", "--no-such-option"],
    [str(LOCKS / "nowhere" / "uv.lock"), "--offline"],
]


def run(args: list[str], fast: bool, cache: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", DEPAUDIT_FAST_PATH="1" if fast else "0", COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "depaudit", "scan", *args, "--cache-dir", cache],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("fast") / "cache"
    shutil.copytree(SIZE_CACHE, target)
    return str(target)


@pytest.mark.parametrize("args", ARGUMENTS, ids=lambda a: " ".join(Path(x).name if "/" in x else x for x in a))
def test_fast_path_and_typer_give_identical_results(args, cache):
    fast, slow = run(args, True, cache), run(args, False, cache)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


def test_plain_scan_does_not_import_typer(cache):
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "depaudit",
            "scan",
            TORCH28,
            "--offline",
            "--format",
            "json",
            "-o",
            os.devnull,
            "--cache-dir",
            cache,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "depaudit.scan" in imported
    assert not {"typer", "click", "rich", "httpx"} & imported
    # Start-up the gate pays on every push: an offline scan without --verbose resolves no host, makes no
    # random token and emits no log record, so it loads none of these (depaudit.logs, host_policy).
    assert not {"logging", "socket", "secrets", "depaudit.sources.requirements"} & imported
    # No dataclass on the scan path (dataclasses imports inspect), and tomllib only when rtoml refuses.
    assert not {"dataclasses", "inspect", "pkgutil", "tomllib"} & imported


def test_parse_fast_leaves_what_it_is_not_sure_of_to_typer():
    params = scan_cli.PARAMS
    assert parse_fast(["--help"], params) is None
    assert parse_fast(["--nope"], params) is None
    assert parse_fast(["--top", "x"], params) is None
    assert parse_fast(["--top", "1", "--top", "2"], params) is None  # typer's rule for repeats decides
    assert parse_fast(["-t"], params) is None
    assert parse_fast(["-t", "--offline"], params) is None
    assert parse_fast(["a.lock", "b.lock"], params) is None
    assert parse_fast(["--offline=yes"], params) is None
    parsed = parse_fast(["x.lock", "-t", "a", "--target=b", "--top", "3", "--offline", "-o", "-"], params)
    assert parsed["lockfile"] == Path("x.lock") and parsed["target"] == ["a", "b"] and parsed["top"] == 3
    assert parsed["offline"] is True and parsed["output"] == "-" and parsed["fmt"] is OutputFormat.table
    assert parsed["package"] is None and parsed["all_packages"] is False


def test_a_scan_process_ends_without_teardown_yet_keeps_its_output_and_exit_code(tmp_path):
    """The fast path ends the process with os._exit after flushing: the report file is whole, stdout
    is complete, the exit code is the scan's (1: a budget exceeded), and a reader that stops early is
    no error."""
    report = tmp_path / "report.json"
    base = [sys.executable, "-m", "depaudit", "scan", TORCH28, "--offline", "--format", "json"]
    to_file = subprocess.run(
        [*base, "-o", str(report), "--max-accelerator", "0"], capture_output=True, text=True, timeout=120
    )
    assert to_file.returncode == 1 and "budget exceeded" in to_file.stderr
    assert json.loads(report.read_text())["schema"] == 1
    to_stdout = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert to_stdout.returncode == 0 and json.loads(to_stdout.stdout)["targets"]
    big = [sys.executable, "-m", "depaudit", "scan", str(LOCKS / "docling" / "uv.lock"), "--offline", "-f", "json"]
    with subprocess.Popen(big, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # ~1 MB: more than a pipe holds
        assert proc.stdout.read(10) == b'{"schema":'
        proc.stdout.close()  # the reader goes away before the report is written in full
        assert proc.wait(timeout=120) == 0
        assert b"Traceback" not in proc.stderr.read()


def test_exit_functions_still_run_when_the_scan_ends_its_process(tmp_path):
    """atexit functions (logging's flush, profilers, coverage; here: the test harness's peak-memory
    probe) run before the process ends without teardown."""
    from childrun import run_depaudit

    result = run_depaudit("scan", TORCH28, "--offline", "--format", "json", "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0 and result.max_rss_bytes is not None and result.max_rss_bytes > 0
