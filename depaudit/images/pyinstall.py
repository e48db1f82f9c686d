"""Where an installer puts a wheel's files, and what a new virtual environment holds.

From a wheel's members (names and uncompressed sizes, read from its zip central directory) this gives the
paths and bytes an install writes, as pip and uv lay them out: `*.data/scripts` into the environment's
`bin/`, `*.data/headers` under `include/`, `*.data/data` into the prefix, everything else into
site-packages; the `.dist-info` gains `INSTALLER` and `REQUESTED` and a longer `RECORD`; an installer that
compiles bytecode (pip by default, uv when asked) adds one `__pycache__/*.pyc` per module, estimated by
`depaudit.analysis.bytecode` (the one figure here that is an estimate, not a count).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from depaudit.analysis.bytecode import pyc_estimate

_DATA = re.compile(r"^[^/]+\.data/(?P<kind>scripts|headers|data|purelib|platlib)/(?P<rest>.+)$")
_RECORD_LINE = 70  # a RECORD line for a file pip adds: path, sha256 (43 characters), size


@dataclass(frozen=True)
class Environment:
    """A Python environment an installer writes into: its prefix (`opt/venv`, `usr/local`), its
    site-packages, and the interpreter it compiles for (`3.11`)."""

    prefix: str
    site: str
    python: str

    @property
    def cache_tag(self) -> str:
        """The `.pyc` tag: `cpython-311`."""
        return "cpython-" + self.python.replace(".", "")

    @property
    def bin(self) -> str:
        return posixpath.join(self.prefix, "bin")


def venv_environment(prefix: str, python: str) -> Environment:
    """The environment of a virtual environment made at `prefix` (cleaned, relative to the root)."""
    return Environment(prefix, f"{prefix}/lib/python{python}/site-packages", python)


def _target(member: str, env: Environment, name: str) -> tuple[str, str | None]:
    """Where a member lands, and its name as a module pip would compile (None: not compiled)."""
    data = _DATA.match(member)
    if data is None:
        return posixpath.join(env.site, member), member
    kind, rest = data.group("kind"), data.group("rest")
    if kind == "scripts":
        return posixpath.join(env.bin, rest), None
    if kind == "headers":
        return posixpath.join(env.prefix, "include", "site", f"python{env.python}", name, rest), None
    if kind == "data":
        return posixpath.join(env.prefix, rest), None
    return posixpath.join(env.site, rest), rest


def installed_files(
    members: Sequence[tuple[str, int]],
    env: Environment,
    name: str,
    *,
    compile_bytecode: bool,
    installer: str,
    requested: bool,
) -> Iterator[tuple[str, int]]:
    """(image path, bytes) for every file installing a wheel with `members` into `env` writes."""
    record: tuple[str, int] | None = None
    added = 0  # bytes of RECORD lines for files the wheel's own RECORD does not list
    for member, size in members:
        if member.endswith("/"):
            continue
        target, module = _target(member, env, name)
        if member.endswith(".dist-info/RECORD") and member.count("/") == 1:
            record = (target, size)
            continue
        yield target, size
        pyc = pyc_estimate(module, size) if compile_bytecode and module else 0
        if pyc:
            folder, base = posixpath.split(target)
            compiled = f"{folder}/__pycache__/{base[:-3]}.{env.cache_tag}.pyc"
            yield compiled, pyc
            added += len(posixpath.relpath(compiled, env.site)) + 3  # `path,,` and a newline
    if record is not None:
        info = posixpath.dirname(record[0])
        yield f"{info}/INSTALLER", len(installer) + 1
        added += _RECORD_LINE
        if requested:
            yield f"{info}/REQUESTED", 0
            added += _RECORD_LINE
        yield record[0], record[1] + added


VENV_FILES: tuple[tuple[str, int], ...] = (
    ("bin/activate", 1963),
    ("bin/activate.csh", 889),
    ("bin/activate.fish", 2165),
    ("bin/Activate.ps1", 9033),
)
"""The activation scripts `python -m venv` writes (bytes for a prefix of zero characters; the bash, csh
and fish scripts name the prefix once)."""


def venv_skeleton(prefix: str, python: str, interpreter: str) -> Iterator[tuple[str, int]]:
    """The files (and links, sized by their target) `python -m venv PREFIX --without-pip` writes."""
    absolute = "/" + prefix
    for path, size in VENV_FILES:
        yield f"{prefix}/{path}", size + (len(absolute) if not path.endswith(".ps1") else 0)
    cfg = f"home = {posixpath.dirname(interpreter)}\ninclude-system-site-packages = false\nversion = {python}.0\n"
    cfg += f"executable = {interpreter}\ncommand = {interpreter} -m venv {absolute}\n"
    yield f"{prefix}/pyvenv.cfg", len(cfg)
    yield f"{prefix}/bin/python3", len(interpreter)
    yield f"{prefix}/bin/python", len("python3")
    yield f"{prefix}/bin/python{python}", len("python3")
    yield f"{prefix}/lib64", len("lib")


def pip_scripts(prefix: str, python: str) -> Iterator[tuple[str, int]]:
    """The `pip`, `pip3`, `pip3.X` launchers ensurepip writes (their shebang names the prefix)."""
    size = len(f"#!/{prefix}/bin/python3\n") + 202
    major = python.split(".")[0]
    for name in ("pip", f"pip{major}", f"pip{python}"):
        yield f"{prefix}/bin/{name}", size
