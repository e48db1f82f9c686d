"""Measure the installed size of candidate HTTP stacks for reference_service.

Each candidate is installed with pip into its own fresh virtual environment (created
``--without-pip`` so pip/setuptools do not count), then the bytes under site-packages are
summed ("standalone"). A second fresh environment first gets depaudit's own core dependencies
(which the service's install, the project with its ``service`` dependency group, holds anyway: httpx
brings anyio, h11 and idna; typer brings click) and then the candidate: the growth is the candidate's
"marginal" cost in the service install. Results go to stdout as a markdown table and, with ``--json PATH``, as JSON.

    python benchmarks/server_stack_size.py --json reports/server_stack_size.json

Needs PyPI (a few small packages). Bounded: one install per candidate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

# name -> pip requirements. The service needs: an HTTP/1.1 server, routing, streaming body reads.
CANDIDATES: dict[str, list[str]] = {
    "uvicorn (h11) + raw ASGI": ["uvicorn"],
    "starlette + uvicorn (h11)": ["starlette", "uvicorn"],
    "fastapi + uvicorn (h11)": ["fastapi", "uvicorn"],
    "uvicorn[standard] + starlette": ["starlette", "uvicorn[standard]"],
    "flask + waitress": ["flask", "waitress"],
    "falcon + waitress": ["falcon", "waitress"],
    "aiohttp": ["aiohttp"],
}


def tree_bytes(root: Path) -> tuple[int, int]:
    """Return (bytes, files) of regular files under root, not following symlinks."""
    total = files = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
                files += 1
    return total, files


# depaudit's [project] dependencies (pyproject.toml), present in any install of the `service` group.
CORE_DEPS = ["typer", "rich", "httpx", "packaging", "tomlkit", "rtoml"]


def pip_install(py: Path, reqs: list[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-compile", *reqs]
    subprocess.run(cmd, check=True)


def fresh_env(env_dir: Path) -> tuple[Path, Path]:
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    return env_dir / "bin" / "python", site


def measure(reqs: list[str], workdir: Path) -> dict:
    py, site = fresh_env(workdir / "alone")
    before, _ = tree_bytes(site)
    pip_install(py, reqs)
    after, files = tree_bytes(site)
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "freeze"], check=True, capture_output=True, text=True
    ).stdout.split()
    py2, site2 = fresh_env(workdir / "over-core")
    pip_install(py2, CORE_DEPS)
    core, _ = tree_bytes(site2)
    pip_install(py2, reqs)
    with_candidate, _ = tree_bytes(site2)
    return {
        "requirements": reqs,
        "installed_bytes": after - before,
        "files": files,
        "marginal_bytes_over_core": with_candidate - core,
        "packages": frozen,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write results as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    args = parser.parse_args()
    command = "python benchmarks/server_stack_size.py" + "".join(
        f" --{name} {value}" for name, value in (("json", args.json), ("markdown", args.markdown)) if value
    )
    rows = []
    for name, reqs in CANDIDATES.items():
        with tempfile.TemporaryDirectory(prefix="stack-size-") as tmp:
            result = measure(reqs, Path(tmp))
        result["stack"] = name
        rows.append(result)
        print(f"measured {name}: {result['installed_bytes'] / 1e6:.2f} MB", file=sys.stderr)
    lines = [
        "# Installed size of candidate HTTP stacks for reference_service",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.platform()}, Python {platform.python_version()}; pip into fresh "
        "venvs created without pip/setuptools; bytes of files under site-packages, no .pyc. "
        f'"Marginal" = growth of a venv that already holds depaudit\'s core dependencies '
        f"({', '.join(CORE_DEPS)}).",
        "",
        "| stack | standalone (MB) | marginal over depaudit core (MB) | files | distributions (standalone) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for row in sorted(rows, key=lambda r: r["installed_bytes"]):
        pkgs = ", ".join(row["packages"])
        lines.append(
            f"| {row['stack']} | {row['installed_bytes'] / 1e6:.2f} "
            f"| {row['marginal_bytes_over_core'] / 1e6:.2f} | {row['files']} | {pkgs} |"
        )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.markdown:
        tmp = args.markdown.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, args.markdown)
    if args.json:
        payload = {
            "schema": 1,
            "core_deps": CORE_DEPS,
            "command": command,
            "machine": platform.platform(),
            "python": platform.python_version(),
            "results": rows,
        }
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
