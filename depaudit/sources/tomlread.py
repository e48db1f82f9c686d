"""Reading TOML input files fast and reporting errors as `path:line:col: what`.

rtoml (Rust) parses a 2 MB lock several times faster than the stdlib; when it is missing or refuses a
document, the stdlib parser is the arbiter and supplies the line and column for the error message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from depaudit.errors import InputError

DEFAULT_MAX_BYTES = 40_000_000
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def max_input_bytes() -> int:
    """The largest input accepted: DEPAUDIT_MAX_INPUT_BYTES or 40 MB (far above any real lock)."""
    raw = os.environ.get("DEPAUDIT_MAX_INPUT_BYTES")
    return int(raw) if raw and raw.isdigit() else DEFAULT_MAX_BYTES


def read_text(path: Path, kind: str, allow_empty: bool = False) -> str:
    """Read a UTF-8 input file whole. Raises InputError for a missing file, a directory, an oversized
    or (unless `allow_empty`) empty file, or bytes that are not UTF-8 (with the line of the first bad byte)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise InputError(path, f"is a directory, not a {kind}")
        limit = max_input_bytes()
        if size > limit:
            raise InputError(path, f"{size / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB input limit "
                                   f"(set DEPAUDIT_MAX_INPUT_BYTES to raise it)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, f"is a directory, not a {kind}") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, f"not UTF-8 (byte 0x{data[exc.start]:02x})", line) from None
    if not text.strip() and not allow_empty:
        raise InputError(path, f"empty file, not a {kind}")
    return text


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """Parse TOML text. Raises InputError with line and column when the text is not TOML."""
    try:
        import rtoml
    except ImportError:  # pragma: no cover - rtoml is a dependency on CPython
        rtoml = None
    if rtoml is not None:
        try:
            return rtoml.loads(text)
        except Exception:  # rtoml's errors lack a stable position format; ask tomllib below
            pass
    import tomllib

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
