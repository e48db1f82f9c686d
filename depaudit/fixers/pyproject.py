"""Planning format-preserving edits of pyproject.toml (tomlkit, never string surgery).

`--to cpu-index`: a `[[tool.uv.index]]` named `pytorch-cpu` (explicit), `[tool.uv.sources]` entries for
every torch-family package the project installs, and a transitive torch promoted to a direct dependency
(in the list that brings it, pinned to the locked version) so that its source can bind.
`--to onnxruntime|tinygrad`: move the torch family from runtime dependencies to the `dev` group and add
the new runtime. Planning is pure: text in, `Edit` out; `apply.py` writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depaudit.analysis.index_urls import DEFAULT_CPU_INDEX_URL, is_accelerator_name, is_cuda_index, same_url
from depaudit.analysis.torch_reach import TorchReach, is_torch_family
from depaudit.errors import FixError
from depaudit.model import Edit
from depaudit.sources.pyproject import ListRef, Pyproject, parse_pyproject

CPU_INDEX_NAME = "pytorch-cpu"
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
        notes = ("no uv.lock beside pyproject.toml: only torch packages declared directly are covered",)
        return CpuIndexNeeds(tuple(names), (), notes)
    promotions: list[tuple[ListRef, str]] = []
    notes = []
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
            notes.append(f"{item.name} was reached only through {' -> '.join(via[:-1])}: "
                         f"declared directly in {describe_ref(ref)} so the CPU source can bind")
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
    return {"dependencies": "project.dependencies", "extra": f"the extra '{name}'",
            "group": f"the dependency group '{name}'", "uv-dev": "tool.uv.dev-dependencies"}[kind]


def cuda_intent(project: Pyproject) -> list[str]:
    """Reasons to believe the project asks for CUDA on purpose (a CUDA index or a CUDA extra)."""
    reasons = []
    for index in project.indexes:
        if is_cuda_index(index.url, index.name):
            reasons.append(f"{project.path}:{index.line or 1}: index '{index.name}' ({index.url}) serves CUDA builds")
    for extra in project.extras:
        if is_accelerator_name(extra) and any(is_torch_family(d.name) for d in project.declared_in(("extra", extra))):
            reasons.append(f"{project.path}: extra '{extra}' installs torch for CUDA")
    return reasons


def plan_cpu_index_text(text: str, path: str, needs: CpuIndexNeeds, *,
                        index_url: str = DEFAULT_CPU_INDEX_URL, force: bool = False) -> Edit:
    """The edit that points every needed torch-family package at an explicit CPU index.
    Raises InputError for invalid TOML and FixError when the project asks for CUDA (unless `force`)."""
    project = parse_pyproject(text, path)
    reasons = cuda_intent(project)
    if reasons and not force:
        raise FixError(reasons[0] + "; the project asks for CUDA on purpose, pass --force to switch it to CPU")
    doc = tomlkit.parse(text)
    summary: list[str] = []
    index_name = _ensure_index(doc, project, index_url, summary)
    for name in needs.packages:
        _ensure_source(doc, project, name, index_name, force, summary)
    for ref, spec in needs.promotions:
        if _add_requirement(doc, ref, spec):
            summary.append(f"add {spec} to {describe_ref(ref)}")
    after = separate_tables(text, tomlkit.dumps(doc))
    return Edit(str(path), text, after, tuple(summary) if after != text else ())


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
    for i, line in enumerate(lines):
        if _HEADER.match(line):
            key = line.strip()
            seen[key] = seen.get(key, 0) + 1
            if now[(key, seen[key])] and not original.get((key, seen[key]), False):
                out.append("\n")
        out.append(line)
    return "".join(out)


def _ensure_index(doc, project: Pyproject, url: str, summary: list[str]) -> str:
    uv = _uv_table(doc)
    entries = uv.get("index")
    if entries is not None:
        for entry in entries:
            if isinstance(entry.get("url"), str) and same_url(entry["url"], url):
                name = entry.get("name") or CPU_INDEX_NAME
                if "name" not in entry:
                    entry["name"] = name
                if entry.get("explicit") is not True:
                    entry["explicit"] = True
                    summary.append(f"mark index '{name}' explicit so only the torch packages use it")
                return name
        for entry in entries:
            if entry.get("name") == CPU_INDEX_NAME:
                entry["url"] = url
                entry["explicit"] = True
                summary.append(f"point index '{CPU_INDEX_NAME}' at {url}")
                return CPU_INDEX_NAME
    table = tomlkit.table()
    table["name"] = CPU_INDEX_NAME
    table["url"] = url
    table["explicit"] = True
    if entries is None:
        aot = tomlkit.aot()
        aot.append(table)
        uv["index"] = aot
    else:
        if len(entries) and _ends_blank(entries[-1]):
            table.add(tomlkit.nl())  # keep the blank line that separated the last entry from what follows
        entries.append(table)
    summary.append(f"add index '{CPU_INDEX_NAME}' = {url} (explicit)")
    return CPU_INDEX_NAME


def _ensure_source(doc, project: Pyproject, name: str, index_name: str, force: bool, summary: list[str]) -> None:
    uv = _uv_table(doc)
    sources = uv.get("sources")
    if sources is None:
        sources = tomlkit.table()
        uv["sources"] = sources
    key = next((k for k in sources if canonicalize_name(k) == name), name)
    current = sources.get(key)
    wanted = _inline(f'{{ index = "{index_name}" }}')
    if current is None and isinstance(sources, tomlkit.items.InlineTable):
        _set_inline(uv, "sources", sources, key, wanted)
        summary.append(f"take {name} from '{index_name}'")
        return
    if current is None:
        sources[key] = wanted
        summary.append(f"take {name} from '{index_name}'")
        return
    entries = current if isinstance(current, list) else [current]
    if all(e.get("index") == index_name for e in entries):
        return  # every entry (markers included, e.g. "not on macOS") already names the CPU index
    if any("index" not in e for e in entries) and not force:
        raise FixError(f"{project.path}: tool.uv.sources.{key} takes {name} from a git/url/path source; "
                       f"depaudit leaves it alone (pass --force to replace it with the CPU index)")
    if isinstance(sources, tomlkit.items.InlineTable):
        _set_inline(uv, "sources", sources, key, wanted)
    else:
        sources[key] = wanted
    summary.append(f"replace the sources of {name} with '{index_name}' alone")


def _add_requirement(doc, ref: ListRef, spec: str) -> bool:
    name = canonicalize_name(Requirement(spec).name)
    array = _list_array(doc, ref)
    if any(isinstance(item, str) and _req_name(item) == name for item in array):
        return False
    array.append(_string_like(array, spec))
    return True


def _string_like(array, value: str):
    """A TOML string quoted the way the array's existing strings are (literal 'x' or basic "x")."""
    literal = any(isinstance(i, tomlkit.items.String) and i.as_string().startswith("'") for i in array)
    return tomlkit.string(value, literal=literal and "'" not in value)


def _ends_blank(table) -> bool:
    body = getattr(table, "value", None)
    items = getattr(body, "body", [])
    return bool(items) and isinstance(items[-1][1], tomlkit.items.Whitespace) and "\n" in items[-1][1].as_string()


def _set_inline(parent, key: str, table, name: str, value) -> None:
    """Set `name` in an inline table by re-rendering it from the original text of every other entry
    (tomlkit's own insertion drops the space before the closing brace)."""
    parts = [f"{k} = {v.as_string().strip()}" for k, v in table.items() if k != name]
    parts.append(f"{name} = {value.as_string().strip()}")
    parent[key] = _inline("{ " + ", ".join(parts) + " }")


def _list_array(doc, ref: ListRef):
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


def _inline(value: str):
    return tomlkit.parse(f"x = {value}\n")["x"]


def _uv_table(doc):
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
    dependencies. Raises InputError for invalid TOML, FixError for an unknown runtime."""
    if runtime not in RUNTIMES:
        raise FixError(f"unknown runtime {runtime!r} (choose from {', '.join(RUNTIMES)})")
    project = parse_pyproject(text, path)
    doc = tomlkit.parse(text)
    summary: list[str] = []
    deps = doc.get("project", {}).get("dependencies")
    moved = []
    if deps is not None:
        for i in reversed(range(len(deps))):
            item = deps[i]
            if isinstance(item, str) and _req_name(item) and is_torch_family(_req_name(item)):
                moved.insert(0, str(item))
                del deps[i]
    if moved:
        dev = _list_array(doc, ("group", "dev") if not (project.has_uv_dev_dependencies and "dev" not in project.groups)
                          else ("uv-dev", None))
        present = {_req_name(str(x)) for x in dev if isinstance(x, str)}
        for spec in moved:
            if _req_name(spec) not in present:
                dev.append(_string_like(dev, spec))
        summary.append(f"move {', '.join(moved)} from project.dependencies to the 'dev' group")
    wanted = RUNTIMES[runtime]
    if not any(d.name == wanted for d in project.declared_in(("dependencies", None))):
        runtime_deps = _list_array(doc, ("dependencies", None))
        runtime_deps.append(_string_like(runtime_deps, wanted))
        summary.append(f"add {wanted} to project.dependencies")
    after = separate_tables(text, tomlkit.dumps(doc))
    return Edit(str(path), text, after, tuple(summary) if after != text else ())


@dataclass(frozen=True)
class TorchImport:
    path: str
    line: int
    module: str


_SKIP_DIRS = {".venv", "venv", ".git", "build", "dist", "tests", "test", "docs", "benchmarks",
              "scripts", "examples", "node_modules", "__pycache__", ".tox", ".nox"}


def find_torch_imports(project_dir: Path, package_name: str | None = None) -> list[TorchImport]:
    """Imports of torch-family modules in the project's own runtime modules (not tests, not scripts),
    found by parsing each .py file. Files that do not parse are skipped (not the fixer's business)."""
    import ast

    project_dir = Path(project_dir)
    roots = _package_roots(project_dir, package_name)
    found = []
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for file in files:
            rel = file.relative_to(project_dir)
            if any(part in _SKIP_DIRS for part in rel.parts[:-1]) or file.name.startswith("test_") \
                    or file.name == "conftest.py":
                continue
            try:
                tree = ast.parse(file.read_bytes(), filename=str(file))
            except (SyntaxError, ValueError, OSError):
                continue
            for node in ast.walk(tree):
                modules = []
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module]
                for module in modules:
                    if is_torch_family(module.split(".")[0].replace("_", "-")):
                        found.append(TorchImport(str(rel), node.lineno, module))
    return sorted(found, key=lambda t: (t.path, t.line))


def _package_roots(project_dir: Path, package_name: str | None) -> list[Path]:
    if package_name:
        module = canonicalize_name(package_name).replace("-", "_")
        for candidate in (project_dir / "src" / module, project_dir / module, project_dir / f"{module}.py"):
            if candidate.exists():
                return [candidate]
    base = project_dir / "src" if (project_dir / "src").is_dir() else project_dir
    roots = [p for p in sorted(base.iterdir()) if p.is_dir() and (p / "__init__.py").exists()
             and p.name not in _SKIP_DIRS]
    roots += [p for p in sorted(base.glob("*.py")) if p.name not in ("setup.py", "conftest.py", "noxfile.py")]
    return roots
