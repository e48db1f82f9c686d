"""CLI habits every command shares: --quiet/--verbose, tables that never wrap when piped, the reason a
size is unknown shown under the table, shell completion, exit codes in --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from childrun import env_without_settings
from fixture_paths import FIXTURES, LOCKS

ROOT = Path(__file__).resolve().parents[2]
TORCH28 = LOCKS / "torch-2.8" / "uv.lock"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = env_without_settings("COLUMNS", "LINES")
    full.update(env or {}, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_piped_tables_never_wrap(tmp_path):
    scan = run("scan", str(TORCH28), "--offline", "-t", "linux-x86_64", "--cache-dir", str(tmp_path / "none"))
    rows = [line for line in scan.stdout.splitlines() if line.startswith("│ nvidia-cusparse-cu12 ")]
    assert len(rows) == 1 and "288.2 MB" in rows[0] and rows[0].rstrip().endswith("│")  # one row, one line
    assert max(len(line) for line in scan.stdout.splitlines()) > 80  # wider than the 80 columns of a pipe
    lint = run("lint", str(FIXTURES / "dockerfiles" / "cuda-twice.Dockerfile"))
    (row,) = [line for line in lint.stdout.splitlines() if "DA302" in line]
    assert "or a +cpu pin" in row  # the whole message on the finding's line


def test_unknown_size_reasons_are_under_the_table(tmp_path):
    scan = run("scan", str(TORCH28), "--offline", "-t", "linux-x86_64", "--cache-dir", str(tmp_path / "none"))
    (note,) = [line for line in scan.stdout.splitlines() if line.startswith("size unknown for")]
    assert "(totals are lower bounds): offline: " in note and "torch" in note


@pytest.mark.parametrize(
    "args",
    [
        ["lint", str(FIXTURES / "dockerfiles" / "caches.Dockerfile")],
        ["scan", str(TORCH28), "--offline", "-t", "linux-x86_64", "--format", "json"],
    ],
)
def test_quiet_and_verbose(args):
    normal, quiet, verbose = run(*args), run(*args, "--quiet"), run(*args, "--verbose")
    assert quiet.stdout == normal.stdout == verbose.stdout and quiet.returncode == normal.returncode
    assert quiet.stderr == "" and len(verbose.stderr) > len(normal.stderr)


def test_shell_completion_is_built_in():
    script = run(env={"_DEPAUDIT_COMPLETE": "source_bash"})
    assert script.returncode == 0 and "_depaudit_completion" in script.stdout
    words = run(
        env={"_DEPAUDIT_COMPLETE": "complete_bash", "COMP_WORDS": "depaudit lint --format s", "COMP_CWORD": "3"}
    )
    assert words.stdout.split() == ["sarif"]


@pytest.mark.parametrize("command", [["scan"], ["lint"], ["gate"], ["image", "measure"], ["image", "compare"]])
def test_exit_codes_in_help(command):
    done = run(*command, "--help")
    assert done.returncode == 0 and "Exit codes: 0" in " ".join(done.stdout.split())
