"""Byte sizes: parsing user input and formatting for humans (decimal MB/GB by default, MiB with binary)."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """`"3GB"` -> 3_000_000_000, `"500MiB"` -> 524288000, `"0"` -> 0. Raises ValueError."""
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. 0, 250MB, 1.5GB, 500MiB)")
    return round(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(size: int | None, binary: bool = False) -> str:
    """Human size: decimal (kB/MB/GB) by default, binary (KiB/MiB/GiB) on request; None -> "unknown"."""
    if size is None:
        return "unknown"
    base, units = (1024, ("B", "KiB", "MiB", "GiB", "TiB")) if binary else (1000, ("B", "kB", "MB", "GB", "TB"))
    value = float(size)
    for unit in units:
        if abs(value) < base or unit == units[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}"
        value /= base
    raise AssertionError("unreachable")
