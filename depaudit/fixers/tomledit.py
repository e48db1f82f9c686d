"""Edits of TOML documents that cannot corrupt them.

Every planned edit is described twice: as tomlkit operations on the document (which keep comments,
order and formatting) and as plain-data operations (`Op`) on the parsed document. `verify` re-parses
the edited text and compares it, as plain dicts, with the parsed original plus the planned operations:
anything else that changed (a key moved under another table, a lost entry, a parse error) refuses the
edit with FixRefused, and nothing is written.

The file's style (BOM, line ending) travels with it: see `depaudit.fixers.textstyle`.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.items import InlineTable, Table

from depaudit.errors import FixRefused

Key = str | int


@dataclass(frozen=True)
class Op:
    """One planned change to the parsed document: `set` a value, `append` to a list (created when
    missing), or `delete` a key or list position. `path` walks dict keys and list positions."""

    kind: str
    path: tuple[Key, ...]
    value: Any = None


def apply_ops(data: dict[str, Any], ops: list[Op]) -> dict[str, Any]:
    """A deep copy of `data` with `ops` applied, in order."""
    out = copy.deepcopy(data)
    for op in ops:
        parent: Any = out
        for key in op.path[:-1]:
            parent = parent.setdefault(key, {}) if isinstance(parent, dict) else parent[key]
        last = op.path[-1]
        if op.kind == "set":
            parent[last] = copy.deepcopy(op.value)
        elif op.kind == "append":
            (parent.setdefault(last, []) if isinstance(parent, dict) else parent[last]).append(copy.deepcopy(op.value))
        elif op.kind == "delete":
            del parent[last]
        else:
            raise ValueError(f"unknown op {op.kind!r}")
    return out


def verify(path: str, before_body: str, after_body: str, ops: list[Op]) -> None:
    """Raise FixRefused unless `after_body` parses and means exactly `before_body` plus `ops`."""
    before = tomllib.loads(before_body)
    try:
        after = tomllib.loads(after_body)
    except tomllib.TOMLDecodeError as exc:
        raise FixRefused(
            f"{path}: depaudit's edit of this layout would not parse ({exc}); nothing changed — make the change by hand"
        ) from None
    expected = apply_ops(before, ops)
    if after != expected:
        where = first_difference(expected, after) or "the document"
        raise FixRefused(
            f"{path}: depaudit cannot edit this layout safely (the edit would also change "
            f"{where}); nothing changed — make the change by hand"
        )


def first_difference(a: Any, b: Any, path: tuple[Key, ...] = ()) -> str | None:
    """The dotted path of the first place where `a` and `b` differ, or None when equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return _dotted((*path, key))
            found = first_difference(a[key], b[key], (*path, key))
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, (*path, i))
            if found:
                return found
        return None
    return None if a == b else _dotted(path)


def _dotted(path: tuple[Key, ...]) -> str:
    return (
        "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else str(k)) for i, k in enumerate(path))
        or "the document"
    )


def _entries(body: Any, name: str) -> list[tuple[Any, Any]]:
    """Every (key, item) named `name` in a container body: a table split over several headers (out of
    order) appears more than once."""
    return [(key, item) for key, item in body if key is not None and key.key == name]


def uv_layout(doc: tomlkit.TOMLDocument) -> str:
    """How `tool.uv` is written: "absent", "table" (headers), "dotted" (dotted keys somewhere on the
    way: `tool.uv.x = 1`, `tool.ruff.x = 1`, or `uv.x = 1` inside `[tool]`, where tables cannot be
    inserted in place) or "inline" (an inline table, which depaudit does not rewrite)."""
    tools = _entries(doc.body, "tool")
    if not tools:
        return "absent"
    if any(isinstance(item, InlineTable) for _, item in tools):
        return "inline"
    if any(key.is_dotted() for key, _ in tools):
        return "dotted"
    uvs = [entry for _, item in tools if isinstance(item, Table) for entry in _entries(item.value.body, "uv")]
    if any(isinstance(item, InlineTable) for _, item in uvs):
        return "inline"
    if any(key.is_dotted() for key, _ in uvs):
        return "dotted"
    return "table"


def inline(value: str) -> Any:
    """A tomlkit inline value parsed from its TOML text (keeps the spacing as written)."""
    return tomlkit.parse(f"x = {value}\n")["x"]
