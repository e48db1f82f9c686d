"""The one reader and the one writer every depaudit command uses for files.

Reading (`read_bytes`): regular files only, opened with O_NONBLOCK so a FIFO never blocks, checked with
fstat on the *opened* descriptor (a path swapped between check and open is caught), and read up to the
limit + 1 byte whatever `st_size` says (`/proc` files and growing files lie about it). Anything else
(a device, a FIFO, a socket, a directory, a symlink to one of them) is refused with an InputError.
A file is read only where it really is inside its project (`project_root`: the git work tree holding
the path as written, else its folder; or the `root` a caller names, e.g. the file that includes it)
and never under /proc, /dev or /sys: a checkout's symlink `requirements-dev.txt -> /proc/self/environ`
or `-> ~/.ssh/id_rsa` is refused before a byte of it is read. The check is made on the descriptor
actually opened (its /proc/self/fd link), so a link swapped between a check and the open gains nothing.

Writing (`write_bytes`): a regular file (or a path that does not exist yet) is replaced atomically by a
temp file in the target's own folder, fsync'd and renamed over it, keeping mode and owner; a symlink is
written through to its final target and stays a link. Anything that is not a regular file (a device,
a FIFO, `/dev/fd/N`, `/dev/stdout`) is opened and written in place, never replaced, never unlinked, and
no temp file is made beside it. New files get 0666 & ~umask, as any shell redirection would.

Every OSError becomes an `InputError` (reading) or `OutputError` (writing) naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

from depaudit.errors import InputError, OutputError

# The largest input depaudit reads (a 10k-package uv.lock is about 6 MB); the max-input-bytes setting raises it.
MAX_INPUT_BYTES = 40_000_000
_CHUNK = 1 << 20
# The real paths this process has read as input since `forget_reads`: `-o` may not name one of them.
_READ: set[str] = set()
# Paths that name an already-open descriptor of this process: written through a dup of it, as bash does.
_FD_PATH = re.compile(r"^/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/(\d+)$")
_STD_PATHS = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


_limit = {"bytes": MAX_INPUT_BYTES}


def set_max_input_bytes(limit: int) -> None:
    """Raise (or lower) the input limit for this process: the `max-input-bytes` setting
    (DEPAUDIT_MAX_INPUT_BYTES), applied by the command line's edge."""
    _limit["bytes"] = limit


def max_input_bytes() -> int:
    """The input limit in bytes."""
    return _limit["bytes"]


def describe_mode(mode: int) -> str:
    """A short noun for a file type (`a FIFO`, `a character device`, ...) from an st_mode."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    ):
        if test(mode):
            return name
    return "not a regular file"


# --------------------------------------------------------------------------------------------------
# Reading


def read_bytes(path: Path | str, kind: str, *, limit: int | None = None, root: Path | str | None = None) -> bytes:
    """The whole content of the regular file `path` (a `kind` such as "lock file", for messages).

    Raises InputError (exit 3) for a missing or unreadable path, anything that is not a regular file,
    a file that really lies outside `root` (default: `project_root(path)`) or under /proc, /dev or /sys,
    more than `limit` bytes (default: `max_input_bytes()`), or too little memory to hold it."""
    limit = max_input_bytes() if limit is None else limit
    try:
        _refuse_non_regular(path, os.stat(path).st_mode, kind)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _input_error(path, exc, kind) from None
    try:
        _refuse_non_regular(path, os.fstat(fd).st_mode, kind)
        real = _opened_path(fd, path)
        _refuse_outside(path, real, root)
        data = _read_bounded(fd, path, limit)
        _READ.add(real)
        return data
    except OSError as exc:
        raise _input_error(path, exc, kind) from None
    except MemoryError:
        raise InputError(path, "out of memory while reading it") from None
    finally:
        os.close(fd)


SYSTEM_TREES = ("/proc", "/dev", "/sys")


def project_root(path: Path | str) -> Path:
    """The folder `path` must really lie in to be read: the top of the git work tree (a `.git` folder
    or file) holding `path` as written — absolute, `..` folded, links not followed — else the folder
    holding it. A checkout cannot move this: git tracks no `.git` entry."""
    return work_tree(path) or Path(os.path.abspath(path)).parent


def work_tree(path: Path | str) -> Path | None:
    """The top of the git work tree holding `path` as written (see `project_root`), None outside git.
    (String paths, not pathlib: every read asks, and pathlib made it 70 µs a call.)"""
    folder = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.lexists(os.path.join(folder, ".git")):
            return Path(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def inside(path: Path | str, root: Path | str) -> bool:
    """Whether `path` really (links resolved) lies in the folder `root` (links resolved)."""
    return _within(os.path.realpath(path), os.path.realpath(root))


def _within(real: str, base: str) -> bool:
    return real == base or real.startswith(base.rstrip("/") + "/")


def _opened_path(fd: int, path: Path | str) -> str:
    """Where the descriptor `fd` really points (Linux's /proc/self/fd link), else `path` resolved."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(path)


def _refuse_outside(path: Path | str, real: str, root: Path | str | None) -> None:
    if any(_within(real, tree) for tree in SYSTEM_TREES):
        raise InputError(path, f"resolves to {real}: depaudit reads nothing under /proc, /dev or /sys")
    base = os.path.realpath(root if root is not None else project_root(path))
    if not _within(real, base):
        raise InputError(path, f"resolves to {real}, outside {base}: depaudit follows no link out of the project")


def was_read(path: Path | str) -> bool:
    """Whether `path` (links resolved) is a file this process read as input since `forget_reads`."""
    return os.path.realpath(path) in _READ


def forget_reads() -> None:
    """Start a new command: no file counts as read."""
    _READ.clear()


def _refuse_non_regular(path: Path | str, mode: int, kind: str) -> None:
    if not stat.S_ISREG(mode):
        raise InputError(path, f"is {describe_mode(mode)}, not a {kind}: depaudit reads regular files only")


def _read_bounded(fd: int, path: Path | str, limit: int) -> bytes:
    """Read at most limit + 1 bytes; more than `limit` is an error (st_size is never trusted)."""
    buffer = bytearray()
    while len(buffer) <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - len(buffer)))
        if not chunk:
            return bytes(buffer)
        buffer += chunk
    raise InputError(path, f"over the {limit / 1e6:.0f} MB input limit (set DEPAUDIT_MAX_INPUT_BYTES to raise it)")


def _input_error(path: Path | str, exc: OSError, kind: str) -> InputError:
    if exc.errno == errno.ENOENT:
        return InputError(path, "no such file")
    if exc.errno == errno.EISDIR:
        return InputError(path, f"is a directory, not a {kind}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InputError(path, "permission denied")
    if exc.errno == errno.ELOOP:
        return InputError(path, "too many levels of symbolic links")
    return InputError(path, f"cannot read: {exc.strerror or exc}")


def read_text(
    path: Path | str,
    kind: str,
    *,
    limit: int | None = None,
    allow_empty: bool = True,
    root: Path | str | None = None,
) -> str:
    """`read_bytes` decoded as UTF-8 (a BOM is kept as U+FEFF). Raises InputError, naming the line of
    the first byte that is not UTF-8, and (unless `allow_empty`) for a file holding only whitespace."""
    data = read_bytes(path, kind, limit=limit, root=root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line) from None
    if not allow_empty and not text.strip():
        raise InputError(path, f"empty file, not a {kind}")
    return text


# --------------------------------------------------------------------------------------------------
# Writing


def write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 `text` to `path` byte for byte (no newline translation); see `write_bytes`."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to `path`: atomically for a regular (or new) file, through symlinks; in place for
    anything else. Raises OutputError naming the path; a regular file is never left half-written."""
    try:
        fd = _inherited_fd(str(path))
        if fd is not None:
            _write_all(fd, data, path)
            return
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None  # a new file, or a dangling symlink whose target will be created
        if mode is None or stat.S_ISREG(mode):
            _replace_regular(Path(os.path.realpath(path)), data)
        elif stat.S_ISDIR(mode):
            raise OutputError(path, "is a directory")
        else:
            _write_in_place(path, data)
    except OSError as exc:
        raise _output_error(path, exc) from None


# The names the first writer had: the same writer (other modules and branches still use them).
atomic_write_text = write_text
atomic_write_bytes = write_bytes


def append_text(path: Path | str, text: str) -> None:
    """Append UTF-8 `text` to `path` (created 0666 & ~umask when missing), for append-only contracts
    such as $GITHUB_STEP_SUMMARY. Never replaces anything; a FIFO nobody reads fails at once.
    Raises OutputError naming the path."""
    try:
        fd = _inherited_fd(str(path))
        if fd is None:
            fd = os.open(
                path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC, 0o666
            )
        _write_all(fd, text.encode("utf-8"), path)
    except OSError as exc:
        raise _output_error(path, exc) from None


def _inherited_fd(path: str) -> int | None:
    """A dup of the descriptor `/dev/fd/N`, `/dev/stdout`... names, or None for any other path (or a
    descriptor that is not open, which then fails as an ordinary path)."""
    match = _FD_PATH.match(path)
    number = int(match.group(1)) if match else _STD_PATHS.get(path)
    if number is None:
        return None
    try:
        return os.dup(number)
    except OSError:
        return None


def _write_in_place(path: Path | str, data: bytes) -> None:
    """Open a device, FIFO or socket-like path and write into it. A FIFO nobody reads fails at once
    (O_NONBLOCK open: ENXIO) instead of blocking; writes then block normally for a slow reader."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    if stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a regular file since the check: replace it instead
        os.close(fd)
        _replace_regular(Path(os.path.realpath(path)), data)
        return
    _write_all(fd, data, path)


def _write_all(fd: int, data: bytes, path: Path | str) -> None:
    """Write every byte to `fd` (blocking mode) and close it."""
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        raise OutputError(path, "the reader closed the pipe before all output was written") from None
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask must set to read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_regular(final: Path, data: bytes) -> None:
    """Temp file beside `final`, same mode and owner (or 0666 & ~umask for a new file), fsync, rename."""
    tmp = _prepared_beside(final, data)
    try:
        os.replace(tmp, final)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_dir(final.parent)


def prepare_replacement(path: Path | str, data: bytes) -> tuple[Path, Path]:
    """The first half of an atomic replace, for callers that commit several files together:
    (final, temp) where `final` is `path` with symlinks resolved and `temp` a complete, fsync'd file
    beside it with `final`'s mode and owner. Commit with `commit_replacement`. Raises OutputError."""
    final = Path(os.path.realpath(path))
    try:
        return final, Path(_prepared_beside(final, data))
    except OSError as exc:
        raise _output_error(path, exc) from None


def commit_replacement(temp: Path | str, final: Path | str) -> None:
    """Rename a prepared `temp` over `final` and make the rename durable. Raises OutputError."""
    try:
        os.replace(temp, final)
    except OSError as exc:
        raise _output_error(final, exc) from None
    _fsync_dir(Path(final).parent)


def _prepared_beside(final: Path, data: bytes) -> str:
    try:
        st: os.stat_result | None = os.stat(final)
    except FileNotFoundError:
        st = None
    fd, tmp = _temp_beside(final)
    try:
        if st is not None:
            _keep_owner(fd, st)
        os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~current_umask())
        _write_all(os.dup(fd), data, final)
        os.fsync(fd)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    finally:
        os.close(fd)
    return tmp


def _temp_beside(final: Path) -> tuple[int, str]:
    """A new, empty, private (0600) file next to `final`: (fd, path). tempfile would do, but importing it
    costs ~10 ms of every run's start-up."""
    for _ in range(100):
        path = final.parent / f".{final.name}.{os.urandom(6).hex()}.depaudit-tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
            return os.open(path, flags, 0o600), str(path)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(final.parent))


def _keep_owner(fd: int, st: os.stat_result) -> None:
    """Give the temp file the replaced file's owner; a non-root user cannot, and then owns the new file
    (as with any editor that saves by rename)."""
    if (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid()):
        return
    with contextlib.suppress(PermissionError):
        os.fchown(fd, st.st_uid, st.st_gid)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; a filesystem that cannot fsync a directory is not an error."""
    try:
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _output_error(path: Path | str, exc: OSError) -> OutputError:
    if exc.errno == errno.ENXIO and _is_fifo(path):
        return OutputError(path, "nothing is reading this FIFO (opened without blocking: no reader)")
    reasons = {
        errno.ENOENT: "no such folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on device",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "a parent is not a folder",
        errno.ENXIO: "no such device",
        errno.ELOOP: "too many levels of symbolic links",
    }
    return OutputError(path, f"cannot write: {reasons.get(exc.errno or 0, exc.strerror or str(exc))}")


def _is_fifo(path: Path | str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False
