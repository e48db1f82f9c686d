"""Kernel-search (BEAM) results computed offline and shipped with the service: apply them, never search.

tinygrad 0.14 optimises each kernel either with hand-written heuristics or, with ``BEAM=n``, by timing
candidate schedules (compile with clang, run, keep the ``n`` best, repeat). The search costs minutes per
kernel; its result is a short list of ``Opt`` (upcast/unroll/local/... steps) stored in tinygrad's disk cache
(``$CACHEDB``, default ``~/.cache/tinygrad/cache.db``, table ``beam_search_<version>``) under a key made of the
kernel's AST hash, ``n``, the device ("CPU") and the renderer suffix. Nothing in that key names the CPU, so
opts found on one machine apply on any other; they are *tuned* for the CPU they were searched on.

What the disk cache cannot do for a service: with ``BEAM`` set, every kernel missing from it (any new input
size changes the kernel shapes, hence their AST hashes) is searched at request time, for minutes; and the
same database holds compiled objects built with ``-march=native`` (key ``compile_clang_obj_x86_64_native``),
which must not travel to a CPU with other instructions. So the search results are exported to a small JSON
file (opts only, no machine code; ``benchmarks/tinygrad_beam.py``) and :func:`install` makes tinygrad use them
for the kernels they cover and its hand-written heuristics for every other kernel, never searching.

Depends on tinygrad internals (``codegen.opt.search.beam_search``'s key and the ``Opt`` type), so the file
records the tinygrad version it was made with and :func:`install` refuses a file from another version.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from importlib.metadata import version
from pathlib import Path
from typing import Any

# tinygrad is imported inside the functions: it reads its environment (CACHELEVEL, BEAM, ...) when first
# imported, and the tinygrad backend prepares that environment before it loads this module's table.

SCHEMA = 1


def opts_to_json(opts: list[Any]) -> list[list[Any]]:
    """tinygrad ``Opt`` objects as JSON-ready ``[op name, axis, arg]`` triples."""
    return [[o.op.name, o.axis, list(o.arg) if isinstance(o.arg, tuple) else o.arg] for o in opts]


def opts_from_json(rows: list[list[Any]]) -> list[Any]:
    """The inverse of :func:`opts_to_json`."""
    from tinygrad.codegen.opt import Opt, OptOps

    return [Opt(OptOps[op], axis, tuple(arg) if isinstance(arg, list) else arg) for op, axis, arg in rows]


def table_key(ast_key: bytes, amt: int, allow_test_size: bool, device: str, suffix: str) -> str:
    """One string for beam_search's cache key fields."""
    return f"{ast_key.hex()}|{amt}|{int(allow_test_size)}|{device}|{suffix}"


def load(path: Path) -> dict[str, Any]:
    """Read a shipped table. Raises ValueError for another schema or tinygrad version."""
    data: dict[str, Any] = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a schema-{SCHEMA} BEAM table")
    if data.get("tinygrad") != version("tinygrad"):
        raise ValueError(f"{path}: made with tinygrad {data.get('tinygrad')}, this is {version('tinygrad')}")
    return data


def install(path: Path) -> int:
    """Use the kernels' shipped opts (and hand-coded heuristics for the rest) instead of any search.

    Sets tinygrad's ``BEAM`` to the table's width so its scheduler consults :func:`beam_search`, which looks
    the kernel up and never times a candidate. Returns the number of kernels in the table.
    """
    from tinygrad.codegen.opt import search
    from tinygrad.codegen.opt.heuristic import hand_coded_optimizations
    from tinygrad.helpers import BEAM

    data = load(path)
    table = {key: opts_from_json(rows) for key, rows in data["kernels"].items()}

    def beam_search(
        s: Any, rawbufs: Any, var_vals: Any, amt: int, allow_test_size: bool = True, disable_cache: bool = False
    ) -> Any:
        key = table_key(s.ast.key, amt, allow_test_size, s.ren.target.device, s.ren.suffix)
        opts = table.get(key)
        if opts is None:
            return hand_coded_optimizations(s)
        ret = s.copy()
        for opt in opts[len(s.applied_opts) :]:
            ret.apply_opt(opt)
        return ret

    search.beam_search = beam_search
    BEAM.value = int(data["amt"])
    return len(table)


def export(cachedb: Path, output: Path, amt: int) -> int:
    """Copy the ``beam_search`` rows of width ``amt`` from a tinygrad cache database to ``output`` (JSON).

    Returns the number of kernels written. Compiled objects in the database are not copied.
    """
    from tinygrad.helpers import VERSION

    connection = sqlite3.connect(f"file:{cachedb}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            f"SELECT ast, amt, allow_test_size, device, suffix, val FROM 'beam_search_{VERSION}' WHERE amt = ?", (amt,)
        ).fetchall()
    finally:
        connection.close()
    kernels = {
        table_key(ast, n, bool(test), device, suffix): opts_to_json(pickle.loads(val))
        for ast, n, test, device, suffix, val in rows
    }
    output.write_text(
        json.dumps(
            {"schema": SCHEMA, "tinygrad": version("tinygrad"), "amt": amt, "kernels": dict(sorted(kernels.items()))},
            indent=1,
        )
        + "\n"
    )
    return len(kernels)
