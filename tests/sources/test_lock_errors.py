"""Bad input: each a one-line `path[:line[:col]]: what` error, exit 3, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.errors import InputError
from depaudit.sources.uvlock import load_lock

from fixture_paths import LOCKS

GOOD = (LOCKS / "torch-2.8" / "uv.lock").read_text()


def write(tmp_path: Path, data: bytes | str, name: str = "uv.lock") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


CASES = {
    "missing": (None, "no such file"),
    "directory": ("DIR", "is a directory"),
    "not-toml": ("version = 1\nrevision = \n", "not valid TOML"),
    "not-a-lock": ('[project]\nname = "x"\n', "not a uv.lock"),
    "version-2": (GOOD.replace("version = 1\n", "version = 2\n", 1), "unsupported lock version 2"),
    "empty-file": ("", "empty file"),
    "no-packages": ("version = 1\nrevision = 3\n", "lock has no packages"),
    "broken-reference": (
        GOOD.replace('{ name = "filelock" }', '{ name = "no-such-package" }', 1),
        "depends on no-such-package, which is not in the lock",
    ),
    "not-utf8": (b"version = 1\n# caf\xe9\n", "not UTF-8"),
    "wrong-type": (GOOD.replace('name = "torch"\n', "name = 7\n", 1), "`name` must be a string"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_lock_is_an_input_error_naming_the_file(tmp_path, case):
    content, expected = CASES[case]
    if content is None:
        path = tmp_path / "uv.lock"
    elif content == "DIR":
        path = tmp_path / "uv.lock"
        path.mkdir()
    else:
        path = write(tmp_path, content)
    with pytest.raises(InputError) as info:
        load_lock(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)
    assert info.value.exit_code == 3


def test_toml_error_carries_line_and_column(tmp_path):
    path = write(tmp_path, "version = 1\nrevision = 3\n[[package]\n")
    with pytest.raises(InputError) as info:
        load_lock(path)
    assert info.value.line == 3 and info.value.column is not None


def test_broken_reference_points_at_the_package_line(tmp_path):
    path = write(tmp_path, GOOD.replace('{ name = "filelock" }', '{ name = "ghost" }', 1))
    with pytest.raises(InputError) as info:
        load_lock(path)
    lines = path.read_text().splitlines()
    assert lines[info.value.line - 1] == "[[package]]"
    assert 'name = "torch"' in lines[info.value.line]


def test_oversized_lock_is_refused_before_reading(tmp_path):
    path = tmp_path / "uv.lock"
    with path.open("wb") as handle:  # a sparse 50 MB file: refused by its size alone
        handle.truncate(50_000_000)
    with pytest.raises(InputError, match="over the 40 MB input limit"):
        load_lock(path)


@pytest.mark.parametrize("case", ["missing", "not-toml", "version-2", "not-utf8", "broken-reference"])
def test_cli_prints_one_line_and_exits_3(tmp_path, case):
    content, expected = CASES[case]
    path = tmp_path / "uv.lock" if content is None else write(tmp_path, content)
    proc = subprocess.run(
        [sys.executable, "-m", "depaudit", "scan", str(path), "--offline"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"depaudit: error: {path}") and expected in lines[0]
    assert proc.stdout == ""
