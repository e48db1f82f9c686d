"""Write a synthetic but structurally valid uv.lock of N packages, for scaling benchmarks.

    python benchmarks/genlock.py N OUT_DIR [--seed S]

writes OUT_DIR/pyproject.toml and OUT_DIR/uv.lock (lock `version = 1`, `revision = 5`, as uv 0.13 writes).
The lock has a virtual root project `synth-service` and N registry packages forming an acyclic dependency
graph in which every package is reachable from the root:

- fan-out: each package gets one parent among the packages before it (biased to recent ones) plus a
  geometric number of extra edges (mean ~2), so a few hubs and many leaves, like real locks;
- markers on ~20 % of the edges (linux only, linux x86_64, windows, darwin, python < 3.12);
- ~2 % of the packages are `nvidia-synth*-cu12` accelerator wheels, linux x86_64 only, reached by
  `platform_machine == 'x86_64' and sys_platform == 'linux'` edges, a few hundred MB each;
- ~1 % of the names are forked into two versions by python version (`resolution-markers`, edges that
  name `version` and `source`), as uv writes for numpy or networkx;
- pure packages get one `py3-none-any` wheel; compiled ones get, for cp311, cp312 and cp313,
  manylinux_2_28 x86_64 and aarch64, macosx_11_0_arm64 and win_amd64 wheels; every wheel and sdist has
  `size`, a well-formed sha256 hash and `upload-time`.

Everything is derived from a seeded random generator, so the same N and seed give byte-identical files.
Proof of structural validity: `uv tree --frozen --project OUT_DIR` accepts the lock (see
`validate()` / `--check`, which runs it when `uv` is on PATH or at .venv/bin/uv).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INDEX = "https://pypi.org/simple"
ROOT = "synth-service"
PYTHONS = ("cp311", "cp312", "cp313")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_arm64", "win_amd64")
EDGE_MARKERS = (
    "sys_platform == 'linux'",
    "sys_platform == 'win32'",
    "sys_platform == 'darwin'",
    "python_full_version < '3.12'",
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
)
ACCEL_MARKER = "platform_machine == 'x86_64' and sys_platform == 'linux'"
FORK_MARKERS = ("python_full_version >= '3.12'", "python_full_version < '3.12'")


@dataclass
class Edge:
    target: str
    marker: str | None = None


@dataclass
class Pkg:
    name: str
    kind: str  # "pure" | "compiled" | "accel"
    forked: bool = False
    edges: list[Edge] = field(default_factory=list)


def build_graph(n: int, rng: random.Random) -> tuple[list[Pkg], list[Edge]]:
    """Return the N packages (topologically ordered) and the root's edges."""
    pkgs: list[Pkg] = []
    for i in range(n):
        r = rng.random()
        if r < 0.02:
            pkgs.append(Pkg(f"nvidia-synth{i:05d}-cu12", "accel"))
        else:
            pkgs.append(Pkg(f"synth-{i:05d}", "compiled" if r < 0.35 else "pure"))
    for p in pkgs:
        p.forked = p.kind != "accel" and rng.random() < 0.01
    n_top = max(1, min(n, 8 + n // 50, 60))
    root_edges = [Edge(pkgs[i].name, _marker(rng, pkgs[i])) for i in range(n_top)]
    for j in range(n_top, n):
        # one parent guarantees reachability; recent parents make deep chains like real stacks
        lo = max(0, j - 40) if rng.random() < 0.8 else 0
        parent = rng.randrange(lo, j)
        pkgs[parent].edges.append(Edge(pkgs[j].name, _marker(rng, pkgs[j])))
    for i in range(n - 1):
        extra = 0
        while rng.random() < 0.66 and extra < 12:
            extra += 1
        for _ in range(extra):
            j = rng.randrange(i + 1, n)
            if all(e.target != pkgs[j].name for e in pkgs[i].edges):
                pkgs[i].edges.append(Edge(pkgs[j].name, _marker(rng, pkgs[j])))
    return pkgs, root_edges


def _marker(rng: random.Random, target: Pkg) -> str | None:
    if target.kind == "accel":
        return ACCEL_MARKER
    return rng.choice(EDGE_MARKERS) if rng.random() < 0.2 else None


def _hash(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def _url(filename: str) -> str:
    h = hashlib.sha256(filename.encode()).hexdigest()
    return f"https://files.pythonhosted.org/packages/{h[:2]}/{h[2:4]}/{h[4:64]}/{filename}"


def _time(rng: random.Random) -> str:
    return (
        f"20{rng.randint(23, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"
    )


def _file(filename: str, size: int, rng: random.Random) -> str:
    return f'{{ url = "{_url(filename)}", hash = "{_hash(filename)}", size = {size}, upload-time = "{_time(rng)}" }}'


def versions_of(p: Pkg, rng: random.Random) -> list[str]:
    base = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    if not p.forked:
        return [base]
    major = int(base.split(".")[0])
    return [base, f"{major + 1}.0.0"]  # older version for py<3.12, newer for py>=3.12


def wheels_of(p: Pkg, version: str, rng: random.Random) -> list[str]:
    dist = p.name.replace("-", "_")
    if p.kind == "pure":
        return [_file(f"{dist}-{version}-py3-none-any.whl", int(rng.lognormvariate(11.5, 1.3)) + 1000, rng)]
    if p.kind == "accel":
        return [
            _file(f"{dist}-{version}-py3-none-manylinux_2_27_x86_64.whl", rng.randint(50_000_000, 700_000_000), rng)
        ]
    base = int(rng.lognormvariate(14.5, 1.2)) + 50_000
    out = []
    for py in PYTHONS:
        for plat in PLATFORMS:
            size = int(base * rng.uniform(0.8, 1.25))
            out.append(_file(f"{dist}-{version}-{py}-{py}-{plat}.whl", size, rng))
    return out


def _dep(name: str, marker: str | None, version: str | None = None) -> str:
    parts = [f'name = "{name}"']
    if version is not None:
        parts.append(f'version = "{version}"')
        parts.append(f'source = {{ registry = "{INDEX}" }}')
    if marker:
        parts.append(f'marker = "{marker}"')
    return "{ " + ", ".join(parts) + " }"


def _and(a: str | None, b: str) -> str:
    return b if a is None else f"{a} and {b}" if " or " not in a else f"({a}) and {b}"


def expand_edges(edges: list[Edge], forks: dict[str, list[str]]) -> list[str]:
    """Dependency lines; an edge to a forked name becomes one line per version with a python marker."""
    lines = []
    for e in sorted(edges, key=lambda e: e.target):
        vs = forks.get(e.target)
        if vs is None:
            lines.append(_dep(e.target, e.marker))
        else:
            lines.append(_dep(e.target, _and(e.marker, FORK_MARKERS[1]), vs[0]))
            lines.append(_dep(e.target, _and(e.marker, FORK_MARKERS[0]), vs[1]))
    return lines


def render(n: int, seed: int) -> tuple[str, str]:
    """Return (pyproject.toml text, uv.lock text)."""
    rng = random.Random(f"genlock:{n}:{seed}")
    pkgs, root_edges = build_graph(n, rng)
    versions = {p.name: versions_of(p, rng) for p in pkgs}
    forks = {name: vs for name, vs in versions.items() if len(vs) == 2}
    by_name = {p.name: p for p in pkgs}

    out = ["version = 1", "revision = 5", 'requires-python = ">=3.11"']
    if forks:
        out += ["resolution-markers = [", *(f'    "{m}",' for m in FORK_MARKERS), "]"]
    out.append("")
    entries: list[tuple[str, str, list[str]]] = []
    for p in pkgs:
        for k, version in enumerate(versions[p.name]):
            block = ["[[package]]", f'name = "{p.name}"', f'version = "{version}"']
            if len(versions[p.name]) == 2:
                block += ["resolution-markers = [", f'    "{FORK_MARKERS[1 - k]}",', "]"]
            block.append(f'source = {{ registry = "{INDEX}" }}')
            deps = expand_edges(p.edges, forks)
            if deps:
                block += ["dependencies = [", *(f"    {d}," for d in deps), "]"]
            if p.kind != "accel":
                sdist = f"{p.name.replace('-', '_')}-{version}.tar.gz"
                block.append(f"sdist = {_file(sdist, int(rng.lognormvariate(12, 1.2)) + 2000, rng)}")
            block += ["wheels = [", *(f"    {w}," for w in wheels_of(p, version, rng)), "]"]
            entries.append((p.name, version, block))
    root = [
        "[[package]]",
        f'name = "{ROOT}"',
        'version = "0.1.0"',
        'source = { virtual = "." }',
        "dependencies = [",
        *(f"    {d}," for d in expand_edges(root_edges, forks)),
        "]",
        "",
        "[package.metadata]",
        "requires-dist = [",
    ]
    for e in sorted(root_edges, key=lambda e: e.target):
        root.append(f"    {_dep(e.target, e.marker)},")
    root.append("]")
    entries.append((ROOT, "0.1.0", root))
    entries.sort(key=lambda t: (t[0], [int(x) for x in t[1].split(".")]))
    for _, _, block in entries:
        out += [*block, ""]

    deps_toml = []
    for e in sorted(root_edges, key=lambda e: e.target):
        spec = e.target if not e.marker else f"{e.target} ; {e.marker}"
        deps_toml.append(f'    "{spec}",')
    pyproject = "\n".join(
        [
            "[project]",
            f'name = "{ROOT}"',
            'version = "0.1.0"',
            f'description = "synthetic project of {n} packages (benchmarks/genlock.py, seed {seed})"',
            'requires-python = ">=3.11"',
            "dependencies = [",
            *deps_toml,
            "]",
            "",
        ]
    )
    assert all(e.target in by_name for p in pkgs for e in p.edges)
    return pyproject, "\n".join(out).rstrip("\n") + "\n"


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def find_uv() -> str | None:
    here = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "uv"
    return str(here) if here.exists() else shutil.which("uv")


def validate(out_dir: Path) -> None:
    """Run real `uv tree --frozen` on the generated project; raise if uv rejects the lock."""
    uv = find_uv()
    if uv is None:
        raise SystemExit("genlock: --check needs uv (not found at .venv/bin/uv or on PATH)")
    proc = subprocess.run(
        [uv, "tree", "--frozen", "--project", str(out_dir), "--depth", "1"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"genlock: uv tree --frozen rejected {out_dir / 'uv.lock'}:\n{proc.stderr}")
    print(f"uv tree --frozen accepted {out_dir / 'uv.lock'} ({len(proc.stdout.splitlines())} lines at depth 1)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of packages besides the root (>= 1)")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="validate with real `uv tree --frozen`")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("N must be >= 1")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    pyproject, lock = render(args.n, args.seed)
    _write(args.out_dir / "pyproject.toml", pyproject)
    _write(args.out_dir / "uv.lock", lock)
    print(f"wrote {args.out_dir / 'uv.lock'}: {args.n} packages, {len(lock.encode())} bytes")
    if args.check:
        validate(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
