"""The file system of a build stage as a prediction sees it: every path with its bytes, the layer that
wrote it and the package it belongs to. Nothing here touches a real file.

A stage starts from its base (an image read by `depaudit.images.archive`, an earlier stage, or nothing)
and each instruction writes one layer: `begin(layer)`, then writes and deletes, then `layer_bytes(layer)`
is what that layer adds, counted as the engine counts it (a path written twice within the layer once, a
path written and deleted within it not at all). Hiding a path a lower layer wrote costs nothing now and
is remembered as waste, as the image will still carry those bytes.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

BASE_LAYER = -1
"""The layer number of everything the base image holds."""


@dataclass(frozen=True)
class Entry:
    """One path: its bytes, the layer that wrote it, the package that owns it, whether it is an
    accelerator runtime file, and (for a file from the build context) the context path it came from."""

    size: int
    layer: int
    owner: str | None = None
    accelerator: bool = False
    origin: str | None = None
    unknown: bool = False  # its size is not known (counted as 0)


def clean(path: str, cwd: str = "/") -> str:
    """An absolute path made relative to the root without `.`/`..`/double slashes: `/opt//venv/` -> `opt/venv`."""
    joined = posixpath.normpath(posixpath.join("/", cwd, path))
    return joined.lstrip("/") or "."


_MAGIC = re.compile(r"[*?\[]")


def has_magic(pattern: str) -> bool:
    """True when `pattern` holds a glob character."""
    return bool(_MAGIC.search(pattern))


@dataclass
class Tree:
    """The paths of a stage (see the module docstring). `children` indexes directories for walks."""

    entries: dict[str, Entry] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    wasted: int = 0
    layer: int = BASE_LAYER

    # -- building ----------------------------------------------------------------------------------

    def copy(self) -> Tree:
        """An independent copy (a stage built FROM another starts from its end)."""
        return Tree(dict(self.entries), {k: set(v) for k, v in self.children.items()}, self.wasted, self.layer)

    def begin(self, layer: int) -> None:
        """Start writing layer `layer`."""
        self.layer = layer

    def _link(self, path: str) -> None:
        while path not in ("", "."):
            parent, _, name = path.rpartition("/")
            parent = parent or "."
            known = self.children.setdefault(parent, set())
            if name in known:
                return
            known.add(name)
            path = parent

    def write(
        self,
        path: str,
        size: int,
        *,
        owner: str | None = None,
        accelerator: bool = False,
        origin: str | None = None,
        unknown: bool = False,
    ) -> None:
        """Write file `path` (relative to the root, cleaned) in the current layer; `unknown`: its size is
        not known (counted as 0, and reported when it is still there at the end of the layer)."""
        old = self.entries.get(path)
        if old is not None and old.layer != self.layer:
            self.wasted += old.size
        if path in self.children:  # a directory replaced by a file
            self.remove(path)
        self.entries[path] = Entry(size, self.layer, owner, accelerator, origin, unknown)
        self._link(path)

    def mkdir(self, path: str) -> None:
        """Make directory `path` (and its parents): no bytes."""
        if path not in (".", ""):
            self.children.setdefault(path, set())
            self._link(path)

    def touch_again(self, path: str) -> None:
        """Rewrite `path` in the current layer unchanged (chmod, chown, an edit of the same size): the
        layer holds a whole new copy of it."""
        old = self.entries.get(path)
        if old is not None:
            self.write(
                path, old.size, owner=old.owner, accelerator=old.accelerator, origin=old.origin, unknown=old.unknown
            )

    def remove(self, path: str) -> int:
        """Delete `path` and everything under it; returns the bytes removed."""
        removed = 0
        for item in list(self.walk(path)):
            entry = self.entries.pop(item)
            removed += entry.size
            if entry.layer != self.layer:
                self.wasted += entry.size
        for directory in list(self._dirs_under(path)):
            self.children.pop(directory, None)
        parent, _, name = path.rpartition("/")
        self.children.get(parent or ".", set()).discard(name)
        return removed

    def _dirs_under(self, path: str) -> Iterator[str]:
        stack = [path]
        while stack:
            current = stack.pop()
            if current in self.children:
                yield current
                base = "" if current == "." else current + "/"
                stack.extend(base + name for name in self.children[current])

    # -- reading -----------------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return path in self.entries or path in self.children or path == "."

    def is_dir(self, path: str) -> bool:
        return path in self.children or path == "."

    def walk(self, path: str) -> Iterator[str]:
        """Every file at or under `path`."""
        if path in self.entries:
            yield path
        for directory in self._dirs_under(path):
            base = "" if directory == "." else directory + "/"
            for name in self.children.get(directory, ()):
                child = base + name
                if child in self.entries:
                    yield child

    def list_dir(self, path: str) -> list[str]:
        return sorted(self.children.get(path, ()))

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell glob, one path segment at a time (`*` never crosses a `/`). A pattern
        without glob characters matches itself when it exists."""
        if not has_magic(pattern):
            return [pattern] if self.exists(pattern) else []
        matches = ["."]
        for part in pattern.split("/"):
            found = []
            for base in matches:
                prefix = "" if base == "." else base + "/"
                if has_magic(part):
                    names = [
                        n
                        for n in self.list_dir(base)
                        if fnmatch.fnmatchcase(n, part) and (part[0] == "." or n[0] != ".")
                    ]
                    found += [prefix + n for n in names]
                elif self.exists(prefix + part):
                    found.append(prefix + part)
            matches = found
        return sorted(matches)

    def layer_entries(self, layer: int) -> Iterable[tuple[str, Entry]]:
        return ((p, e) for p, e in self.entries.items() if e.layer == layer)

    @property
    def size(self) -> int:
        """Bytes of the final file system (what is visible, every layer)."""
        return sum(e.size for e in self.entries.values())
