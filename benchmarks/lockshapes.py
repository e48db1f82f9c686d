"""Write valid but pathological uv.lock files of N packages, for the scaling benchmark.

    python benchmarks/lockshapes.py SHAPE N OUT_DIR [--check]

SHAPE is one of:

- `flat`:    the root depends on N packages directly (the baseline).
- `chain`:   root → p00001 → p00002 → … → pN: every package one level deeper (paths of length N).
- `forks`:   N versions of one name, `forked`, each locked for its own Python patch release
             (`resolution-markers`), the root naming each with `version`, `source` and a marker,
             as uv writes a forked dependency; every version depends on one shared `leaf`.
- `fanout`:  root → hub; hub → N packages; each of those → one shared `sink` (wide, with a
             package that every path reaches: the case domination is about).

Every package has one `py3-none-any` wheel with `size`, an sdist, well-formed hashes and upload times,
in lock `version = 1`, `revision = 5`, as uv 0.13 writes. `--check` runs real `uv tree --frozen` on
the result (uv is a dev dependency of this project), which parses and walks the whole lock.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

INDEX = "https://pypi.org/simple"
ROOT = "shape-root"
SHAPES = ("flat", "chain", "forks", "fanout")


def _hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _file(filename: str, size: int) -> str:
    h = hashlib.sha256(filename.encode()).hexdigest()
    url = f"https://files.pythonhosted.org/packages/{h[:2]}/{h[2:4]}/{h[4:64]}/{filename}"
    return f'{{ url = "{url}", hash = "{_hash(filename)}", size = {size}, upload-time = "2026-01-01T00:00:00Z" }}'


def _package(name: str, version: str, deps: list[str], fork_marker: str | None = None) -> list[str]:
    dist = name.replace("-", "_")
    block = ["[[package]]", f'name = "{name}"', f'version = "{version}"']
    if fork_marker:
        block += ["resolution-markers = [", f'    "{fork_marker}",', "]"]
    block.append(f'source = {{ registry = "{INDEX}" }}')
    if deps:
        block += ["dependencies = [", *(f"    {d}," for d in deps), "]"]
    block.append(f"sdist = {_file(f'{dist}-{version}.tar.gz', 4000)}")
    block += ["wheels = [", f"    {_file(f'{dist}-{version}-py3-none-any.whl', 10_000 + len(name))},", "]", ""]
    return block


def _dep(name: str, version: str | None = None, marker: str | None = None) -> str:
    parts = [f'name = "{name}"']
    if version is not None:
        parts += [f'version = "{version}"', f'source = {{ registry = "{INDEX}" }}']
    if marker:
        parts.append(f'marker = "{marker}"')
    return "{ " + ", ".join(parts) + " }"


def _fork_marker(i: int) -> str:
    """A distinct Python patch release per version: 3.11.0 … 3.11.N-1 (markers uv would write)."""
    return f"python_full_version == '3.11.{i}'"


def graph(shape: str, n: int) -> tuple[list[str], list[list[str]], list[str]]:
    """(root dependency lines, package blocks, requires-dist lines) for a shape of n packages."""
    names = [f"p{i:05d}" for i in range(1, n + 1)]
    if shape == "flat":
        return [_dep(x) for x in names], [_package(x, "1.0.0", []) for x in names], [f'"{x}"' for x in names]
    if shape == "chain":
        blocks = [_package(x, "1.0.0", [_dep(names[i + 1])] if i + 1 < n else []) for i, x in enumerate(names)]
        return [_dep(names[0])], blocks, [f'"{names[0]}"']
    if shape == "forks":
        versions = [f"1.0.{i}" for i in range(n - 1)]
        blocks = [_package("forked", v, [_dep("leaf")], _fork_marker(i)) for i, v in enumerate(versions)]
        blocks.append(_package("leaf", "1.0.0", []))
        deps = [_dep("forked", v, _fork_marker(i)) for i, v in enumerate(versions)]
        return deps, blocks, ['"forked"']
    if shape == "fanout":
        mids = names[: n - 2]
        blocks = [_package("hub", "1.0.0", [_dep(x) for x in mids])]
        blocks += [_package(x, "1.0.0", [_dep("sink")]) for x in mids]
        blocks.append(_package("sink", "1.0.0", []))
        return [_dep("hub")], blocks, ['"hub"']
    raise SystemExit(f"lockshapes: unknown shape {shape!r} (choose from {', '.join(SHAPES)})")


def render(shape: str, n: int) -> tuple[str, str]:
    """Return (pyproject.toml text, uv.lock text)."""
    deps, blocks, requires = graph(shape, n)
    out = ["version = 1", "revision = 5", 'requires-python = ">=3.11"']
    if shape == "forks":
        out += ["resolution-markers = [", *(f'    "{_fork_marker(i)}",' for i in range(n - 1)), "]"]
    out.append("")
    root = [
        "[[package]]",
        f'name = "{ROOT}"',
        'version = "0.1.0"',
        'source = { virtual = "." }',
        "dependencies = [",
        *(f"    {d}," for d in deps),
        "]",
        "",
        "[package.metadata]",
        "requires-dist = [",
        *(f"    {{ name = {r} }}," for r in requires),
        "]",
        "",
    ]
    named = sorted([*blocks, root], key=lambda b: (b[1], b[2]))
    for block in named:
        out += block
    pyproject = "\n".join(
        [
            "[project]",
            f'name = "{ROOT}"',
            'version = "0.1.0"',
            f'description = "{shape} of {n} packages (benchmarks/lockshapes.py)"',
            'requires-python = ">=3.11"',
            "dependencies = [",
            *(f"    {r}," for r in requires),
            "]",
            "",
        ]
    )
    return pyproject, "\n".join(out).rstrip("\n") + "\n"


def write(shape: str, n: int, out_dir: Path) -> Path:
    """Write OUT_DIR/pyproject.toml and OUT_DIR/uv.lock; return the lock's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pyproject, lock = render(shape, n)
    (out_dir / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (out_dir / "uv.lock").write_text(lock, encoding="utf-8")
    return out_dir / "uv.lock"


def check(out_dir: Path) -> None:
    """Raise SystemExit unless real `uv tree --frozen` accepts the lock."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise SystemExit("lockshapes: --check needs uv")
    proc = subprocess.run(
        [uv, "tree", "--frozen", "--project", str(out_dir), "--depth", "1"], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise SystemExit(f"lockshapes: uv tree --frozen rejected {out_dir / 'uv.lock'}:\n{proc.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=SHAPES)
    parser.add_argument("n", type=int)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--check", action="store_true", help="run uv tree --frozen on the result")
    args = parser.parse_args()
    if args.n < 3:
        raise SystemExit("lockshapes: N must be at least 3")
    path = write(args.shape, args.n, args.out_dir)
    if args.check:
        check(args.out_dir)
    print(f"{path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
