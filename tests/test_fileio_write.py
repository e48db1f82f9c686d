"""depaudit's one writer (`depaudit.fileio.write_bytes`) and `-o/--output` through the real CLI.

Device nodes and FIFOs are made with mknod/mkfifo in a temp folder; no test writes to a real /dev entry.
The issue this guards against: `-o /dev/null` used to put a temp file in /dev and rename it over the
device, destroying /dev/null for the whole machine when run as root.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from depaudit.errors import OutputError
from depaudit.fileio import append_text, write_bytes, write_text

from childrun import REPO, cli_env, run_depaudit

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and chown need root (CAP_MKNOD, CAP_CHOWN)")
LOCK = REPO / "uv.lock"
SCAN_JSON = ("scan", str(LOCK), "--offline", "-t", "linux-x86_64", "--format", "json")


def _unused_block_major() -> int:
    """A block major number no driver on this machine registered: opening such a node fails (ENXIO)
    without touching any disk."""
    used = set()
    block = False
    for line in Path("/proc/devices").read_text().splitlines():
        if line.startswith("Block devices"):
            block = True
        elif block and line.strip():
            used.add(int(line.split()[0]))
    return next(m for m in range(240, 255) if m not in used)  # 240-254: "local/experimental use"


@pytest.fixture
def char_null(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("mknod needs root (CAP_MKNOD)")
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the null device's numbers, in a temp folder
    return node


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- regular files -------------------------------------------------------------------------------------


def test_new_file_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "out.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o640
    assert _listing(tmp_path) == ["out.json"]


@needs_root
def test_existing_file_keeps_mode_and_owner(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text("old\n")
    os.chown(path, 12345, 23456)
    path.chmod(0o604)
    inode = path.stat().st_ino
    write_text(path, "new\n")
    st = path.stat()
    assert path.read_text() == "new\n" and st.st_ino != inode  # replaced by rename, not rewritten in place
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o604)
    assert _listing(tmp_path) == ["report.md"]


def test_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real" / "report.json"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o640)
    (tmp_path / "hop").symlink_to("real/report.json")
    link = tmp_path / "link.json"
    link.symlink_to("hop")  # a chain of two relative links
    write_text(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == "hop" and os.readlink(tmp_path / "hop") == "real/report.json"
    assert real.read_text() == "new\n" and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert _listing(real.parent) == ["report.json"]  # the temp file lived beside the target, and is gone


def test_a_hard_link_is_replaced_and_its_other_name_keeps_the_old_text(tmp_path: Path) -> None:
    # Documented in docs/fix.md: the atomic rename gives the written name a new inode; nothing is written
    # in place, so a `cp -al` snapshot (the other name) is never changed behind the user's back.
    target = tmp_path / "pyproject.toml"
    target.write_text("old\n")
    other = tmp_path / "snapshot.toml"
    os.link(target, other)
    write_text(target, "new\n")
    assert target.read_text() == "new\n" and other.read_text() == "old\n"
    assert target.stat().st_nlink == 1 and other.stat().st_nlink == 1


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("made.json")
    write_text(link, "x\n")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "x\n"


def test_failures_are_one_output_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"/no/such/folder/out.json: cannot write: no such folder"):
        write_text("/no/such/folder/out.json", "x")
    with pytest.raises(OutputError, match=r": is a directory"):
        write_text(tmp_path, "x")
    assert _listing(tmp_path) == []


# --- not regular files: written in place, never replaced -----------------------------------------------


def test_char_device_is_written_in_place(char_null: Path) -> None:
    before = char_null.stat()
    write_bytes(char_null, b"x" * 100_000)
    after = char_null.stat()
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert _listing(char_null.parent) == ["null"]


@needs_root
def test_block_device_is_never_replaced(tmp_path: Path) -> None:
    node = tmp_path / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(_unused_block_major(), 0))
    with pytest.raises(OutputError, match=r"disk: cannot write: no such device"):
        write_bytes(node, b"data")
    assert stat.S_ISBLK(node.stat().st_mode) and _listing(tmp_path) == ["disk"]


def test_fifo_without_reader_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(OutputError, match="nothing is reading"):
        write_text(fifo, "x")
    assert time.monotonic() - start < 2
    assert stat.S_ISFIFO(fifo.stat().st_mode) and _listing(tmp_path) == ["pipe"]


def test_fifo_with_reader_gets_every_byte(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    data = os.urandom(300_000)  # larger than a pipe buffer: the writer must block, not fail, on a slow reader
    got = bytearray()
    opened = threading.Event()

    def reader() -> None:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        opened.set()
        deadline = time.monotonic() + 10
        while len(got) < len(data) and time.monotonic() < deadline:
            chunk = os.read(fd, 65536)  # b"" until the writer has opened its end: wait, do not stop
            got.extend(chunk)
            time.sleep(0.001 if chunk else 0.01)
        os.close(fd)

    thread = threading.Thread(target=reader)
    thread.start()
    assert opened.wait(5)
    write_bytes(fifo, data)
    thread.join(10)
    assert bytes(got) == data and stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_fd_n_writes_into_the_open_descriptor() -> None:
    read_end, write_end = os.pipe()
    try:
        write_text(f"/dev/fd/{write_end}", "through the pipe\n")
        os.close(write_end)
        assert os.read(read_end, 100) == b"through the pipe\n"
    finally:
        os.close(read_end)


def test_append_never_replaces_and_never_blocks(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("first\n")
    append_text(summary, "second\n")
    assert summary.read_text() == "first\nsecond\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="nothing is reading this FIFO"):
        append_text(fifo, "x")


# --- through the CLI -----------------------------------------------------------------------------------


def test_cli_output_onto_a_device_node(char_null: Path) -> None:
    result = run_depaudit(*SCAN_JSON, "-o", str(char_null))
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(char_null.stat().st_mode) and _listing(char_null.parent) == ["null"]


def test_cli_output_to_a_fifo_nobody_reads_is_exit_3_in_time(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run_depaudit(*SCAN_JSON, "-o", str(fifo), timeout=30)
    assert result.returncode == 3 and result.seconds < 5, result
    assert result.stderr.strip().splitlines() == [
        f"depaudit: error: {fifo}: nothing is reading this FIFO (opened without blocking: no reader)"
    ]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and _listing(tmp_path) == ["pipe"]


def test_cli_output_to_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    link = tmp_path / "latest.json"
    link.symlink_to("reports/scan.json")
    result = run_depaudit(*SCAN_JSON, "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and (tmp_path / "reports" / "scan.json").read_text().startswith('{"schema": 1')


def test_cli_output_to_process_substitution(tmp_path: Path) -> None:
    """`-o >(wc -c)`: bash passes /dev/fd/63, a pipe. It used to end in a FileNotFoundError traceback."""
    plain = run_depaudit(*SCAN_JSON)
    counted = tmp_path / "count"
    script = '"$PY" -m depaudit "$@" -o >(wc -c > "$COUNT"); code=$?; wait $!; exit $code'
    proc = subprocess.run(
        ["bash", "-c", script, "bash", *SCAN_JSON],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(PY=sys.executable, COUNT=str(counted)),
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert int(counted.read_text()) == len(plain.stdout.encode()) > 100


def test_cli_output_to_dev_stdout_redirected_to_a_file(tmp_path: Path) -> None:
    """`-o /dev/stdout > file`: written into the descriptor, so the file (same inode) holds the output."""
    target = tmp_path / "captured.json"
    with target.open("wb") as handle:
        inode = os.fstat(handle.fileno()).st_ino
        result = run_depaudit(*SCAN_JSON, "-o", "/dev/stdout", stdout_file=handle)
    assert result.returncode == 0, result.stderr
    assert target.stat().st_ino == inode and target.read_text().startswith('{"schema": 1')
    assert _listing(tmp_path) == ["captured.json"]


@pytest.mark.parametrize("where, what", [("missing/out.json", "no such folder"), (".", "is a directory")])
def test_cli_unwritable_output_is_one_line_exit_3(tmp_path: Path, where: str, what: str) -> None:
    result = run_depaudit(*SCAN_JSON, "-o", str(tmp_path / where))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and what in result.stderr
