"""The bounded reader (`depaudit.fileio.read_bytes`) and every command that reads a file, fed what is not
a regular file: an endless device, a FIFO nobody writes, a symlink to a device, a directory.

Each must end with exit 3 and one line within 5 s, with a child peak RSS under 200 MB (measured with
wait4's rusage of that child). Devices are made with mknod in a temp folder (the numbers of /dev/zero and
/dev/urandom), never the real /dev entries. Before the bounded reader, a lock that was a symlink to
/dev/zero grew to 24 GB and was OOM-killed, and a FIFO hung `scan` and `fix` forever.
"""

from __future__ import annotations

import json
import os
import resource
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from depaudit import fileio
from depaudit.errors import InputError
from depaudit.fileio import MAX_INPUT_BYTES, read_bytes, read_text

from childrun import REPO, run_depaudit

MAX_SECONDS = 5
MAX_RSS = 200_000_000
DEVICES = {"zero": (1, 5), "urandom": (1, 9)}


def make_bad(path: Path, kind: str) -> None:
    """Put a `kind` of non-regular file at `path`."""
    if kind in DEVICES:
        if os.geteuid() != 0:
            pytest.skip("mknod needs root (CAP_MKNOD)")
        os.mknod(path, stat.S_IFCHR | 0o444, os.makedev(*DEVICES[kind]))
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-to-zero":
        make_bad(path.parent / ".zero-node", "zero")
        path.symlink_to(".zero-node")
    elif kind == "directory":
        path.mkdir()
    else:
        raise AssertionError(kind)


PYPROJECT = '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["torch==2.8.0"]\n'


def _in_folder(name: str, extra: Callable[[Path], None] = lambda d: None):
    """(bad path, argv) for a command that takes a project folder holding the bad file `name`."""

    def setup(tmp: Path) -> Path:
        (tmp / "proj").mkdir()
        extra(tmp / "proj")
        return tmp / "proj" / name

    return setup


def _named(name: str):
    def setup(tmp: Path) -> Path:
        return tmp / name

    return setup


def _good_pyproject(folder: Path) -> None:
    (folder / "pyproject.toml").write_text(PYPROJECT)


# command id -> (where the bad file goes, argv given the bad path and the temp folder)
COMMANDS = {
    "scan": (_named("uv.lock"), lambda bad, tmp: ["scan", str(bad), "--offline"]),
    "fix pyproject.toml": (_named("pyproject.toml"), lambda bad, tmp: ["fix", str(bad), "--dry-run"]),
    "fix folder (pyproject)": (_in_folder("pyproject.toml"), lambda bad, tmp: ["fix", str(bad.parent), "--dry-run"]),
    "fix folder (uv.lock)": (
        _in_folder("uv.lock", _good_pyproject),
        lambda bad, tmp: ["fix", str(bad.parent), "--dry-run"],
    ),
    "fix requirements": (_named("requirements.txt"), lambda bad, tmp: ["fix", str(bad), "--dry-run"]),
    "fix Dockerfile": (_named("Dockerfile"), lambda bad, tmp: ["fix", str(bad), "--dry-run"]),
    "lint": (_named("Dockerfile"), lambda bad, tmp: ["lint", str(bad)]),
    "gate --lock": (
        _named("uv.lock"),
        lambda bad, tmp: ["gate", "--lock", str(bad), "--offline", "--max-accelerator", "0"],
    ),
    "gate --pyproject": (_named("pyproject.toml"), lambda bad, tmp: ["gate", "--pyproject", str(bad)]),
    "gate --bench-report": (
        _named("images.json"),
        lambda bad, tmp: ["gate", "--bench-report", str(bad), "--max-latency-ms", "100"],
    ),
    "bench --from-json": (
        _named("images.json"),
        lambda bad, tmp: ["bench", "--from-json", str(bad), "--output-dir", str(tmp / "out")],
    ),
}
CASES = [(c, k) for c in COMMANDS for k in ("zero", "urandom", "fifo")]
CASES += [
    (c, k)
    for c in ("scan", "fix pyproject.toml", "lint", "gate --bench-report")
    for k in ("symlink-to-zero", "directory")
]


@pytest.mark.parametrize("command, kind", CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_every_command_refuses_what_is_not_a_regular_file(tmp_path: Path, command: str, kind: str) -> None:
    place, argv = COMMANDS[command]
    bad = place(tmp_path)
    make_bad(bad, kind)
    result = run_depaudit(*argv(bad, tmp_path), cwd=tmp_path, timeout=60)
    assert not result.timed_out, f"{command} on a {kind} was killed after 60 s"
    assert result.returncode == 3, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(bad) in lines[0] or bad.name in lines[0], lines[0]
    assert result.seconds < MAX_SECONDS, f"{result.seconds:.1f} s (load {os.getloadavg()[0]:.1f})"
    assert result.max_rss_bytes is not None and result.max_rss_bytes < MAX_RSS, f"peak RSS {result.max_rss_bytes}"
    if kind != "directory":
        assert not stat.S_ISREG(bad.stat().st_mode)  # never replaced either


# --- the reader itself ---------------------------------------------------------------------------------


def test_reader_messages_name_the_file_type(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f")
    with pytest.raises(InputError, match=r"/f: is a FIFO, not a lock file: depaudit reads regular files only"):
        read_bytes(tmp_path / "f", "lock file")
    with pytest.raises(InputError, match=r"is a directory, not a lock file"):
        read_bytes(tmp_path, "lock file")
    with pytest.raises(InputError, match=r"/nope: no such file"):
        read_bytes(tmp_path / "nope", "lock file")
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(InputError, match="too many levels of symbolic links"):
        read_bytes(tmp_path / "loop", "lock file")


def test_reader_reads_at_most_limit_plus_one_byte(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    assert read_bytes(path, "file", limit=101) == b"x" * 101
    with pytest.raises(InputError, match="over the 0 MB input limit"):
        read_bytes(path, "file", limit=100)
    assert MAX_INPUT_BYTES == 40_000_000  # one constant for every input (DEPAUDIT_MAX_INPUT_BYTES raises it)


def test_reader_does_not_trust_st_size(tmp_path: Path) -> None:
    """A /proc file reports size 0 but has content; the bounded read goes on until EOF. (read_bytes
    itself refuses /proc: tests/security/test_files_stay_inside.py.)"""
    status = Path("/proc/self/status")
    if not status.exists() or status.stat().st_size != 0:
        pytest.skip("needs a /proc file whose st_size is 0")
    fd = os.open(status, os.O_RDONLY)
    try:
        assert fileio._read_bounded(fd, status, 1_000_000).startswith(b"Name:")
    finally:
        os.close(fd)
    with pytest.raises(InputError, match="reads nothing under /proc"):
        read_text(status, "status file")


def test_reader_keeps_bytes_and_reports_bad_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_bytes(b"\xef\xbb\xbfa = 1\r\nb = '\xff'\r\n")
    with pytest.raises(InputError, match=r"x.toml:2: not UTF-8 text \(byte 0xff\)"):
        read_text(path, "file")
    path.write_bytes(b"\xef\xbb\xbfa = 1\r\n")
    assert read_text(path, "file") == "\ufeffa = 1\r\n"


def test_fix_under_a_memory_limit_is_one_line_exit_3(tmp_path: Path) -> None:
    """Under `ulimit -v` the TOML parsers run out of memory: a one-line error, never a traceback (rtoml,
    which aborts the process when an allocation fails, is skipped when the limit leaves no room)."""
    deps = ",\n".join(f'  "pkg{i}>=1"' for i in range(150_000))
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nversion = "1"\ndependencies = ["torch==2.1.0",\n{deps}\n]\n'
    )
    limit = 200 * 1024 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = run_depaudit("fix", str(tmp_path), "--dry-run", preexec_fn=cap, timeout=120)
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "out of memory" in result.stderr


def test_bench_report_json_is_read_through_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "images.json"
    path.write_text(json.dumps({"schema": 1, "variants": "nope"}))
    result = run_depaudit("gate", "--bench-report", str(path), "--max-latency-ms", "1", cwd=tmp_path)
    assert result.returncode == 3 and "not a depaudit bench report" in result.stderr
    assert REPO.exists()
