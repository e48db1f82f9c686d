"""Parsing TOML input fast and reporting errors as `path:line:col: what` (files are read with
`depaudit.fileio.read_text`, the one bounded reader).

rtoml (Rust) parses a 2 MB lock several times faster than the stdlib; when it is missing or refuses a
document, the stdlib parser is the arbiter and supplies the line and column for the error message.
"""

from __future__ import annotations

import re
import resource
from pathlib import Path
from typing import Any

from depaudit.errors import InputError

try:
    import rtoml
except ImportError:  # pragma: no cover - rtoml is a dependency on CPython only
    rtoml = None  # type: ignore[assignment]  # mypy cannot express "a module or None" for an import

_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """Parse TOML text (a leading UTF-8 BOM is ignored, as uv and pip do). Raises InputError with line
    and column when the text is not TOML, or when parsing runs out of memory."""
    text = text[1:] if text.startswith("\ufeff") else text
    try:
        return _parse(text, path)
    except MemoryError:
        raise InputError(path, "out of memory while parsing it") from None


# rtoml peaks at ~15x the text size (measured on a 27 MB document; tomllib: ~3x). Rust aborts the whole
# process when an allocation fails, where tomllib raises MemoryError, which becomes a one-line error.
_RTOML_BYTES_PER_CHAR = 32


def _room_for_rtoml(chars: int) -> bool:
    """False when an address-space limit (ulimit -v) leaves too little room for rtoml to parse `chars`."""
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft == resource.RLIM_INFINITY:
        return True
    return _virtual_size() + chars * _RTOML_BYTES_PER_CHAR < soft


def _virtual_size() -> int:
    """This process's virtual memory size in bytes (VmSize), or 0 where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _parse(text: str, path: Path) -> dict[str, Any]:
    if rtoml is not None and _room_for_rtoml(len(text)):
        try:
            return rtoml.loads(text)
        except Exception:  # rtoml's errors lack a stable position format; ask tomllib below
            pass
    import tomllib  # here, not at the top: ~4 ms of start-up that a scan with rtoml never uses

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _POSITION.search(message)
        what = _POSITION.sub("", message).strip()
        if match:
            raise InputError(path, f"not valid TOML: {what}", int(match.group(1)), int(match.group(2))) from None
        if "end of document" in message:
            what = what.replace("(at end of document)", "").strip()
            raise InputError(path, f"not valid TOML: {what} at end of file", text.count("\n") + 1) from None
        raise InputError(path, f"not valid TOML: {what}") from None
    except RecursionError:
        raise InputError(path, "not valid TOML: nested too deeply") from None
