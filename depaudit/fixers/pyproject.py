"""Planning format-preserving edits of pyproject.toml (tomlkit, never string surgery).

`--to cpu-index`: a `[[tool.uv.index]]` named `pytorch-cpu` (explicit), `[tool.uv.sources]` entries for
every torch-family package the project installs, and a transitive torch promoted to a direct dependency
(in the list that brings it, pinned to the locked version) so that its source can bind.
`--to onnxruntime|tinygrad`: move the torch family from runtime dependencies to the `dev` group and add
the new runtime. Planning is pure: text in, `Edit` out; `apply.py` writes.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from tomlkit.items import InlineTable

from depaudit import fileio
from depaudit.analysis.cuda_intent import cuda_intent
from depaudit.analysis.host_policy import without_userinfo
from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL, is_cuda_index, same_url
from depaudit.analysis.torch_reach import TorchReach
from depaudit.errors import FixError, FixRefused, InputError, UsageError
from depaudit.families import is_torch_family
from depaudit.fixers.textstyle import join_style, split_style
from depaudit.fixers.tomledit import Key, Op, inline, uv_layout, verify
from depaudit.model import Edit
from depaudit.sources.pyproject import ListRef, Pyproject, parse_pyproject
from depaudit.targets import make_target, python_from_requires

CPU_INDEX_NAME = "pytorch-cpu"


def refuse_credentials(index_url: str) -> None:
    """Refuse (UsageError, exit 2) a CPU index URL that carries a credential: depaudit writes the URL
    into project files (pyproject.toml, requirements, Dockerfiles) that get committed. The message
    shows the URL redacted and names where uv and pip take index credentials from instead."""
    bare = without_userinfo(index_url)
    if bare == index_url:
        return
    variable = "UV_INDEX_" + re.sub(r"[^A-Z0-9]", "_", CPU_INDEX_NAME.upper())
    raise UsageError(
        f"the CPU index URL carries a credential ({bare.replace('://', '://***@', 1)}): depaudit never writes "
        f"one into a project file. Give {bare} and set {variable}_USERNAME and {variable}_PASSWORD (uv's "
        f"variables for the index it names {CPU_INDEX_NAME}); pip reads credentials from ~/.netrc or a keyring"
    )


RUNTIMES = {"onnxruntime": "onnxruntime", "tinygrad": "tinygrad"}


@dataclass(frozen=True)
class CpuIndexNeeds:
    """What the CPU-index configuration must cover: the torch-family packages that need a source, and
    the requirements to add to a list so that a transitive package becomes direct."""

    packages: tuple[str, ...]
    promotions: tuple[tuple[ListRef, str], ...] = ()
    notes: tuple[str, ...] = ()


def public_version(version: str) -> str:
    """`2.8.0+cu128` -> `2.8.0`: the part a `==` pin names so any local build (`+cpu`) satisfies it."""
    try:
        return Version(version).public
    except InvalidVersion:
        return version.split("+", 1)[0]


def needs_from_reach(project: Pyproject, reach: list[TorchReach] | None) -> CpuIndexNeeds:
    """Turn the lock's view (None when there is no lock) into the packages to source and promote."""
    if reach is None:
        names = sorted({d.name for d in project.declared if is_torch_family(d.name)})
        only_direct = "no uv.lock beside pyproject.toml: only torch packages declared directly are covered"
        return CpuIndexNeeds(tuple(names), (), (only_direct,))
    promotions: list[tuple[ListRef, str]] = []
    notes: list[str] = []
    for item in reach:
        if item.direct_in or item.direct_in_member or project.declares(item.name):
            continue
        lists = [ref for ref, _ in item.transitive_in]
        if ("dependencies", None) in lists:
            lists = [("dependencies", None)]  # runtime covers every install; extras/groups need nothing
        spec = f"{item.name}=={public_version(item.version)}" if item.version else item.name
        for ref in lists:
            promotions.append((_pyproject_ref(project, ref), spec))
            via = dict(item.transitive_in)[ref]
            notes.append(
                f"{item.name} was reached only through {' -> '.join(via[:-1])}: "
                f"declared directly in {describe_ref(ref)} so the CPU source can bind"
            )
    # A package declared directly but missing from a stale lock still needs its source.
    names = sorted({r.name for r in reach} | {d.name for d in project.declared if is_torch_family(d.name)})
    return CpuIndexNeeds(tuple(names), tuple(promotions), tuple(notes))


def _pyproject_ref(project: Pyproject, ref: ListRef) -> ListRef:
    # uv locks `[tool.uv] dev-dependencies` as the group "dev".
    if ref == ("group", "dev") and "dev" not in project.groups and project.has_uv_dev_dependencies:
        return ("uv-dev", None)
    return ref


def describe_ref(ref: ListRef) -> str:
    kind, name = ref
    return {
        "dependencies": "project.dependencies",
        "extra": f"the extra '{name}'",
        "group": f"the dependency group '{name}'",
        "uv-dev": "tool.uv.dev-dependencies",
    }[kind]


def plan_cpu_index_text(
    text: str, path: str, needs: CpuIndexNeeds, *, index_url: str = DEFAULT_CPU_INDEX_URL, force: bool = False
) -> Edit:
    """The edit that points every needed torch-family package at an explicit CPU index.
    Raises InputError for invalid TOML and FixRefused when the project asks for CUDA (unless `force`)
    or its layout cannot be edited safely."""
    editor = PyprojectEditor(text, path)
    reasons = cuda_intent(editor.project)
    if reasons and not force:
        raise FixRefused(reasons[0] + "; the project asks for CUDA on purpose, pass --force to switch it to CPU")
    index_name = editor.ensure_index(index_url)
    for name in needs.packages:
        editor.ensure_source(name, index_name, force)
    if force and reasons:
        editor.drop_unused_cuda_indexes()
    for ref, spec in needs.promotions:
        editor.add_requirement(ref, spec)
    return editor.finish()


_HEADER = re.compile(r"^\s*\[\[?[^\]]+\]\]?\s*(#.*)?$")


def separate_tables(before: str, after: str) -> str:
    """Put a blank line before a table header that tomlkit glued to the line above, unless the same
    header (same occurrence) was glued in the original too: only separations the edit broke are fixed."""

    def glued(text: str) -> dict[tuple[str, int], bool]:
        seen: dict[str, int] = {}
        out = {}
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if _HEADER.match(line):
                seen[line.strip()] = seen.get(line.strip(), 0) + 1
                out[(line.strip(), seen[line.strip()])] = i > 0 and lines[i - 1].strip() != ""
        return out

    original = glued(before)
    now = glued(after)
    if not any(g and not original.get(k, False) for k, g in now.items()):
        return after
    lines = after.splitlines(keepends=True)
    seen: dict[str, int] = {}
    out = []
    for line in lines:
        if _HEADER.match(line):
            key = line.strip()
            seen[key] = seen.get(key, 0) + 1
            if now[(key, seen[key])] and not original.get((key, seen[key]), False):
                out.append("\n")
        out.append(line)
    return "".join(out)


def _editable(text: str, path: str) -> tomlkit.TOMLDocument:
    """`text` parsed by tomlkit, the editor that keeps comments and layout. Raises InputError (exit 3,
    one line) for what tomlkit cannot read although it is valid TOML: values nested over 100 deep."""
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        what = str(exc).split(" at line ")[0]
        raise InputError(path, f"the TOML editor cannot read this file: {what}", exc.line, exc.col) from None
    except RecursionError:
        raise InputError(path, "the TOML editor cannot read this file: nested too deeply") from None


class PyprojectEditor:
    """One planned edit of a pyproject.toml: tomlkit operations on the document, the same changes as
    plain-data `Op`s, and blocks to append when `tool.uv` is written with dotted keys (tables cannot
    be inserted there in place). `finish` re-parses and verifies before returning the Edit."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.path = text, str(path)
        self.style, self.body = split_style(text, self.path)
        self.project = parse_pyproject(self.body, self.path)
        # tomlkit glues a table appended after a last line that has no newline: edit with one, and
        # take it off again below when the end of the file was not touched.
        self.missing_newline = bool(self.body) and not self.body.endswith("\n")
        self.doc = _editable(self.body + "\n" if self.missing_newline else self.body, self.path)
        self.layout = uv_layout(self.doc)
        self.ops: list[Op] = []
        self.summary: list[str] = []
        self.appended_index: str | None = None
        self.appended_sources: list[str] = []

    # -- the CPU index ------------------------------------------------------------------------------

    def ensure_index(self, url: str) -> str:
        """The name of the index entry serving `url` (made explicit, or added). Returns its name."""
        uv = self._existing_uv()
        entries = uv.get("index") if uv is not None else None
        for i, entry in enumerate(entries or []):
            if isinstance(entry.get("url"), str) and same_url(entry["url"], url):
                return self._adopt_index(i, entry)
        for i, entry in enumerate(entries or []):
            if entry.get("name") == CPU_INDEX_NAME:
                self._set_in(entry, ("tool", "uv", "index", i), "url", url)
                self._set_in(entry, ("tool", "uv", "index", i), "explicit", True)
                self.summary.append(f"point index '{CPU_INDEX_NAME}' at {url}")
                return CPU_INDEX_NAME
        value = {"name": CPU_INDEX_NAME, "url": url, "explicit": True}
        self.ops.append(Op("append", ("tool", "uv", "index"), value))
        self.summary.append(f"add index '{CPU_INDEX_NAME}' = {url} (explicit)")
        if entries is None:
            self._new_index_table(value)
        elif isinstance(entries, tomlkit.items.AoT):
            table = tomlkit.table()
            for key, item in value.items():
                table[key] = item
            if len(entries) and _ends_blank(entries[-1]):
                table.add(tomlkit.nl())  # keep the blank line that separated the last entry from what follows
            entries.append(table)
        else:  # an inline array of inline tables: `index = [{ ... }]`
            entries.append(inline(_inline_text(value)))
        return CPU_INDEX_NAME

    def _adopt_index(self, i: int, entry: Any) -> str:
        name = entry.get("name") or CPU_INDEX_NAME
        if "name" not in entry:
            self._set_in(entry, ("tool", "uv", "index", i), "name", name)
        if entry.get("explicit") is not True:
            self._set_in(entry, ("tool", "uv", "index", i), "explicit", True)
            self.summary.append(f"mark index '{name}' explicit so only the torch packages use it")
        return name

    def _new_index_table(self, value: dict[str, Any]) -> None:
        if self.layout == "dotted":
            self.appended_index = "[[tool.uv.index]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in value.items())
            return
        table = tomlkit.table()
        for key, item in value.items():
            table[key] = item
        aot = tomlkit.aot()
        aot.append(table)
        self._uv()["index"] = aot

    def _set_in(self, table: Any, where: tuple[Key, ...], key: str, value: Any) -> None:
        table[key] = value
        self.ops.append(Op("set", (*where, key), value))

    # -- sources ------------------------------------------------------------------------------------

    def ensure_source(self, name: str, index_name: str, force: bool) -> None:
        """Take `name` from `index_name`. An entry naming another index is pointed at it, keeping its
        marker/extra/group (the extras' structure stays); CPU entries scoped by a marker are extended
        to every Linux arch the CPU index serves. Raises FixRefused for a git/url/path source unless
        `force` (which replaces it)."""
        uv = self._existing_uv()
        sources = uv.get("sources") if uv is not None else None
        key = next((k for k in sources or {} if canonicalize_name(k) == name), name)
        current = (sources or {}).get(key)
        if current is None:
            self._put_source(sources, uv, key, {"index": index_name})
            self.summary.append(f"take {name} from '{index_name}'")
            return
        entries = [dict(_plain(e)) for e in (current if isinstance(current, list) else [current])]
        if any("index" not in e for e in entries):
            if not force:
                raise FixRefused(
                    f"{self.project.path}: tool.uv.sources.{key} takes {name} from a git/url/path "
                    f"source; depaudit leaves it alone (pass --force to replace it with the CPU index)"
                )
            self._put_source(sources, uv, key, {"index": index_name})
            self.summary.append(f"replace the sources of {name} with '{index_name}' alone")
            return
        wanted = _dedupe([{**e, "index": index_name} for e in entries])
        if wanted != entries:
            self.summary.append(f"take {name} from '{index_name}' in every entry of tool.uv.sources.{key}")
        added = self._linux_entries(wanted, index_name)
        if added:
            wanted += added
            self.summary.append(
                f"extend the CPU source of {name} to "
                f"{', '.join('linux-' + m for m in _machines(added))} (its markers left them out)"
            )
        if wanted != entries:
            self._put_source(
                sources,
                uv,
                key,
                wanted[0] if len(wanted) == 1 and not isinstance(current, list) else wanted,
                like=current,
            )

    def _linux_entries(self, entries: list[dict[str, Any]], index_name: str) -> list[dict[str, Any]]:
        """Entries to add so that a marker-scoped CPU source covers every Linux arch the CPU index
        serves (an extra/group condition counts as covering: it is not about the platform)."""
        python = python_from_requires(self.project_requires_python())
        missing = [
            machine
            for target, machine in CPU_INDEX_LINUX.items()
            if not any(_marker_applies(e.get("marker"), target, python) for e in entries)
        ]
        if not missing:
            return []
        marker = (
            "sys_platform == 'linux'"
            if len(missing) == len(CPU_INDEX_LINUX)
            else f"sys_platform == 'linux' and platform_machine == '{missing[0]}'"
        )
        return [{"index": index_name, "marker": marker}]

    def project_requires_python(self) -> str | None:
        value = self.doc.get("project", {}).get("requires-python")
        return str(value) if isinstance(value, str) else None

    def _put_source(self, sources: Any, uv: Any, key: str, value: Any, like: Any = None) -> None:
        """Set tool.uv.sources[key] = value (a table or a list of tables) in whatever layout sources has."""
        self.ops.append(Op("set", ("tool", "uv", "sources", key), value))
        item = inline(_value_text(value, like))
        if sources is None and self.layout == "dotted":
            self.appended_sources.append(f"{_key(key)} = {_value_text(value, None)}")
        elif sources is None:
            table = tomlkit.table()
            table[key] = item
            self._uv()["sources"] = table
        elif isinstance(sources, InlineTable):
            _set_inline(uv, "sources", sources, key, item)
        else:
            sources[key] = item

    def drop_unused_cuda_indexes(self) -> None:
        """Remove CUDA/ROCm index entries no source names any more (after `--force` moved them all)."""
        uv = self._existing_uv()
        entries = uv.get("index") if uv is not None else None
        if not entries:
            return
        now = tomllib.loads(tomlkit.dumps(self.doc))
        sources = now.get("tool", {}).get("uv", {}).get("sources", {})
        used = {e.get("index") for v in sources.values() for e in (v if isinstance(v, list) else [v])}
        for i in reversed(range(len(entries))):
            name, url = entries[i].get("name"), entries[i].get("url")
            if is_cuda_index(url, name) and name not in used:
                del entries[i]
                self.ops.append(Op("delete", ("tool", "uv", "index", i)))
                self.summary.append(f"remove the index '{name}' ({url}): no source uses it any more")

    # -- dependency lists ---------------------------------------------------------------------------

    def add_requirement(self, ref: ListRef, spec: str, note: bool = True) -> bool:
        """Append `spec` to the list `ref` unless the package is already in it (`note`: say so in the
        summary). Returns True if added."""
        name = canonicalize_name(Requirement(spec).name)
        array = _list_array(self.doc, ref)
        if any(isinstance(item, str) and _req_name(item) == name for item in array):
            return False
        array.append(_string_like(array, spec))
        self.ops.append(Op("append", list_path(ref), spec))
        if note:
            self.summary.append(f"add {spec} to {describe_ref(ref)}")
        return True

    # -- result -------------------------------------------------------------------------------------

    def finish(self) -> Edit:
        """The verified Edit (unchanged when nothing was planned). Raises FixRefused when the edited
        text would not re-parse to exactly the planned change."""
        if not self.ops:
            return Edit(self.path, self.text, self.text)
        body = separate_tables(self.body, tomlkit.dumps(self.doc)) + self._appended()
        last_line = self.body.rsplit("\n", 1)[-1]
        if self.missing_newline and body.endswith("\n" + last_line + "\n"):
            body = body[:-1]
        verify(self.path, self.body, body, self.ops)
        parse_pyproject(body, self.path)  # and it stays a pyproject depaudit (and uv) can read
        return Edit(self.path, self.text, join_style(self.style, body), tuple(self.summary))

    def _appended(self) -> str:
        blocks = []
        if self.appended_index:
            blocks.append(self.appended_index)
        if self.appended_sources:
            blocks.append("[tool.uv.sources]\n" + "".join(line + "\n" for line in self.appended_sources))
        if not blocks:
            return ""
        dumped = tomlkit.dumps(self.doc)
        lead = ("" if dumped.endswith("\n") or not dumped else "\n") + ("\n" if dumped.strip() else "")
        return lead + "\n".join(blocks)

    def _existing_uv(self) -> Any:
        """The document's tool.uv container, or None. Raises FixRefused when it is an inline table."""
        if self.layout == "inline":
            raise FixRefused(
                f"{self.path}: tool.uv is an inline table; depaudit does not rewrite inline "
                f"tables it would have to grow (write it as a [tool.uv] table); nothing changed"
            )
        tool = self.doc.get("tool")
        return tool.get("uv") if tool is not None else None

    def _uv(self) -> Any:
        """tool.uv, created as header tables when missing (only for the "absent"/"table" layouts)."""
        self._existing_uv()
        return _uv_table(self.doc)


# The Linux arches download.pytorch.org/whl/cpu serves wheels for: target name -> platform_machine.
CPU_INDEX_LINUX = {"linux-x86_64": "x86_64", "linux-aarch64": "aarch64"}


def _marker_applies(marker: str | None, target: str, python: str) -> bool:
    """Whether a source's marker holds on `target`; a marker depaudit cannot evaluate counts as holding
    (it is then left alone rather than second-guessed)."""
    if not marker:
        return True
    try:
        return Marker(marker).evaluate(dict(make_target(target, python).environment))
    except Exception:  # InvalidMarker, undefined names: not ours to judge
        return True


def _machines(entries: list[dict[str, Any]]) -> list[str]:
    marker = str(entries[0].get("marker", ""))
    return [m for m in CPU_INDEX_LINUX.values() if f"'{m}'" in marker] or list(CPU_INDEX_LINUX.values())


def _plain(value: Any) -> Any:
    """A tomlkit value as plain Python data."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _dedupe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry not in out:
            out.append(entry)
    return out


def _value_text(value: Any, like: Any) -> str:
    """TOML text for a source value: an inline table, or an array of them laid out like `like` (one
    entry per line when the original array was written that way)."""
    if isinstance(value, dict):
        return _inline_text(value)
    items = [_inline_text(v) for v in value]
    text = like.as_string() if like is not None and hasattr(like, "as_string") else ""
    if "\n" in text:
        indent = re.search(r"\n([ \t]*)\S", text)
        pad = indent.group(1) if indent else "  "
        return "[\n" + "".join(f"{pad}{item},\n" for item in items) + "]"
    return "[" + ", ".join(items) + "]"


def list_path(ref: ListRef) -> tuple[str, ...]:
    """Where a dependency list lives in the parsed document."""
    kind, name = ref
    if kind == "dependencies":
        return ("project", "dependencies")
    if kind == "extra":
        return ("project", "optional-dependencies", str(name))
    if kind == "uv-dev":
        return ("tool", "uv", "dev-dependencies")
    return ("dependency-groups", str(name))


def _toml(value: Any) -> str:
    return str(tomlkit.item(value).as_string())


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml(name)


def _inline_text(value: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"


def _string_like(array: Any, value: str) -> tomlkit.items.String:
    """A TOML string quoted the way the array's existing strings are (literal 'x' or basic "x")."""
    literal = any(isinstance(i, tomlkit.items.String) and i.as_string().startswith("'") for i in array)
    return tomlkit.string(value, literal=literal and "'" not in value)


def _ends_blank(table: Any) -> bool:
    body = getattr(table, "value", None)
    items = getattr(body, "body", [])
    return bool(items) and isinstance(items[-1][1], tomlkit.items.Whitespace) and "\n" in items[-1][1].as_string()


def _set_inline(parent: Any, key: str, table: Any, name: str, value: Any) -> None:
    """Set `name` in an inline table by re-rendering it from the original text of every other entry
    (tomlkit's own insertion drops the space before the closing brace)."""
    parts = [f"{_key(k)} = {v.as_string().strip()}" for k, v in table.items() if k != name]
    parts.append(f"{_key(name)} = {value.as_string().strip()}")
    parent[key] = inline("{ " + ", ".join(parts) + " }")


def _list_array(doc: Any, ref: ListRef) -> Any:
    kind, name = ref
    if kind == "dependencies":
        project = doc.setdefault("project", tomlkit.table())
        return project.setdefault("dependencies", tomlkit.array())
    if kind == "extra":
        return doc["project"]["optional-dependencies"].setdefault(name, tomlkit.array())
    if kind == "uv-dev":
        return _uv_table(doc)["dev-dependencies"]
    groups = doc.get("dependency-groups")
    if groups is None:
        groups = tomlkit.table()
        doc["dependency-groups"] = groups
    return groups.setdefault(name, tomlkit.array())


def _req_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except Exception:
        return None


def _uv_table(doc: Any) -> Any:
    tool = doc.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        doc["tool"] = tool
    uv = tool.get("uv")
    if uv is None:
        uv = tomlkit.table(is_super_table=True)
        tool["uv"] = uv
    return uv


# --- --to onnxruntime / tinygrad -------------------------------------------------------------------


def plan_runtime_swap_text(text: str, path: str, runtime: str) -> Edit:
    """Move torch-family runtime dependencies to the `dev` group and add `runtime` to the runtime
    dependencies. Raises InputError for invalid TOML, FixError for an unknown runtime, FixRefused
    for a layout that cannot be edited safely."""
    if runtime not in RUNTIMES:
        raise FixError(f"unknown runtime {runtime!r} (choose from {', '.join(RUNTIMES)})")
    editor = PyprojectEditor(text, path)
    project = editor.project
    deps = editor.doc.get("project", {}).get("dependencies")
    moved: list[str] = []
    if deps is not None:
        for i in reversed(range(len(deps))):
            item = deps[i]
            name = _req_name(item) if isinstance(item, str) else None
            if name is not None and is_torch_family(name):
                moved.insert(0, str(item))
                del deps[i]
                editor.ops.append(Op("delete", ("project", "dependencies", i)))
    if moved:
        ref: ListRef = (
            ("uv-dev", None) if project.has_uv_dev_dependencies and "dev" not in project.groups else ("group", "dev")
        )
        for spec in moved:
            editor.add_requirement(ref, spec, note=False)
        editor.summary.append(f"move {', '.join(moved)} from project.dependencies to the 'dev' group")
    wanted = RUNTIMES[runtime]
    if not any(d.name == wanted for d in project.declared_in(("dependencies", None))):
        editor.add_requirement(("dependencies", None), wanted, note=False)
        editor.summary.append(f"add {wanted} to project.dependencies")
    return editor.finish()


@dataclass(frozen=True)
class TorchImport:
    path: str
    line: int
    module: str


MAX_SOURCE_BYTES = 5_000_000  # a module larger than this is generated code, not where torch is imported
_SKIP_DIRS = {
    ".venv",
    "venv",
    ".git",
    "build",
    "dist",
    "tests",
    "test",
    "docs",
    "benchmarks",
    "scripts",
    "examples",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
}


def find_torch_imports(project_dir: Path, package_name: str | None = None) -> list[TorchImport]:
    """Imports of torch-family modules in the project's own runtime modules (not tests, not scripts),
    found by parsing each .py file. Files that do not parse are skipped (not the fixer's business)."""
    project_dir = Path(project_dir)
    roots = _package_roots(project_dir, package_name)
    found = []
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for file in files:
            rel = file.relative_to(project_dir)
            if (
                any(part in _SKIP_DIRS for part in rel.parts[:-1])
                or file.name.startswith("test_")
                or file.name == "conftest.py"
            ):
                continue
            try:
                tree = ast.parse(fileio.read_bytes(file, "Python file", limit=MAX_SOURCE_BYTES), filename=str(file))
            except (SyntaxError, ValueError, InputError, MemoryError, RecursionError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                for module in _imported_modules(node):
                    if is_torch_family(module.split(".")[0].replace("_", "-")):
                        found.append(TorchImport(str(rel), node.lineno, module))
    return sorted(found, key=lambda t: (t.path, t.line))


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The absolute modules an import statement names (none for a relative import)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return [node.module] if node.module and node.level == 0 else []


def _package_roots(project_dir: Path, package_name: str | None) -> list[Path]:
    if package_name:
        module = canonicalize_name(package_name).replace("-", "_")
        for candidate in (project_dir / "src" / module, project_dir / module, project_dir / f"{module}.py"):
            if candidate.exists():
                return [candidate]
    base = project_dir / "src" if (project_dir / "src").is_dir() else project_dir
    roots = [
        p for p in sorted(base.iterdir()) if p.is_dir() and (p / "__init__.py").exists() and p.name not in _SKIP_DIRS
    ]
    roots += [p for p in sorted(base.glob("*.py")) if p.name not in ("setup.py", "conftest.py", "noxfile.py")]
    return roots
