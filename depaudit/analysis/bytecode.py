"""An estimate of the bytecode an installer that compiles `.py` files adds to a wheel's contents.

pip compiles every module it installs (`--compile` is its default) to one `__pycache__/*.pyc` for the
running interpreter; uv does not unless asked (`--compile-bytecode`). From a wheel's zip central
directory only each member's name and size are known, so the `.pyc` bytes are estimated per module as
`PYC_PER_SOURCE_BYTE * source bytes + PYC_PER_MODULE`. The two constants are a least-squares fit over
8,353 modules and their pip-compiled `.pyc` files (CPython 3.11: torch, sympy, tinygrad, numpy,
networkx, pip, ...; see tests/analysis/test_bytecode.py for how close it comes on real installs):
a typical package lands within about 15 %, packages heavy with docstrings or generated code further
off. It is an estimate and the output says so.
"""

from __future__ import annotations

PYC_PER_SOURCE_BYTE = 1.25
PYC_PER_MODULE = 2228


def compiled_module(name: str) -> bool:
    """True for a wheel member pip byte-compiles: a `.py` file installed into site-packages (not a
    script under `*.data/scripts/`, not a file that is already bytecode)."""
    if not name.endswith(".py"):
        return False
    parts = name.split("/")
    return not (len(parts) > 2 and parts[0].endswith(".data") and parts[1] in ("scripts", "headers", "data"))


def pyc_estimate(name: str, size: int) -> int:
    """Estimated bytes of the `.pyc` an installer writes for wheel member `name` of `size` bytes (0
    when it writes none)."""
    if not compiled_module(name):
        return 0
    return round(PYC_PER_SOURCE_BYTE * size + PYC_PER_MODULE)


def with_bytecode(name: str, size: int) -> int:
    """A member's installed footprint with its estimated bytecode."""
    return size + pyc_estimate(name, size)
