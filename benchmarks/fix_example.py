"""Make docs/fix-example.md: the real output of `depaudit fix --dry-run --lock` on a project whose torch
arrives only through sentence-transformers.

    .venv/bin/python benchmarks/fix_example.py            # writes docs/fix-example.md

What it does (needs PyPI; about a minute, mostly `uv lock`):
1. copies tests/fixtures/locks/transitive-torch/pyproject.toml into a temp folder, constrains torch to
   2.13.0 (`[tool.uv] constraint-dependencies`, torch stays transitive) and runs `uv lock` against PyPI;
2. serves a PEP 503/691 index on 127.0.0.1 holding the real torch-2.13.0+cpu wheel that this machine has
   in /opt/wheels (download.pytorch.org does not resolve here, so the local index stands in for it);
3. runs `depaudit fix --to cpu-index --dry-run --lock --cpu-index-url <local> --target linux-x86_64
   --format markdown` and writes its output, with the machine and the command, to docs/fix-example.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fixers"))
sys.path.insert(0, str(REPO))

from localindex import LocalIndex, write_simple_index  # noqa: E402

WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
CONSTRAINT = '\n[tool.uv]\nconstraint-dependencies = ["torch==2.13.0"]  # a version a real CPU wheel exists for here\n'


def main() -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    if not WHEEL.exists():
        print(f"needs {WHEEL} (the machine's CPU torch wheel)", file=sys.stderr)
        return 2
    from depaudit.fixers.pipeline import find_uv

    work = Path(tempfile.mkdtemp(prefix="depaudit-fix-example-"))
    try:
        project = work / "search-service"
        project.mkdir()
        text = (REPO / "tests/fixtures/locks/transitive-torch/pyproject.toml").read_text() + CONSTRAINT
        (project / "pyproject.toml").write_text(text)
        subprocess.run([*find_uv(), "lock", "--quiet"], cwd=project, check=True)
        root = work / "index"
        write_simple_index(root, [WHEEL])
        with LocalIndex(root) as index:
            command = [
                "fix",
                "search-service",
                "--to",
                "cpu-index",
                "--dry-run",
                "--lock",
                "--cpu-index-url",
                index.url,
                "--target",
                "linux-x86_64",
                "--format",
                "markdown",
            ]
            env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
            result = subprocess.run(
                [sys.executable, "-m", "depaudit", *command], cwd=work, env=env, capture_output=True, text=True
            )
        if result.returncode != 0:
            print(result.stdout + result.stderr, file=sys.stderr)
            return result.returncode
        shown = " ".join(command).replace(index.url, "http://127.0.0.1:PORT/simple")
        doc = _document(text, shown, result.stdout.replace(index.url, "http://127.0.0.1:PORT/simple"))
        (REPO / "docs" / "fix-example.md").write_text(doc)
        print(doc)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _machine_line() -> str:
    """This machine as the report names it: CPU model, logical CPUs, memory, OS, Python."""
    from reference_service.verify import machine

    m = machine()
    return (
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs, {m['mem_gib']} GiB, {platform.system()} "
        f"{platform.release()}, Python {m['python']}"
    )


def _document(pyproject: str, command: str, output: str) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""# `depaudit fix --dry-run`: an example

Made by `.venv/bin/python benchmarks/fix_example.py` on {today}, on {_machine_line()}. The project is the `transitive-torch` fixture (torch only
via sentence-transformers) with torch constrained to 2.13.0, locked from PyPI by `uv lock`. The CPU index is
served on 127.0.0.1 with the real `torch-2.13.0+cpu` wheel (download.pytorch.org does not resolve on these
machines); `--dry-run --lock` re-locks a temporary copy and leaves the project's files unchanged.

```toml
{pyproject.rstrip()}
```

`depaudit {command}`:

{output.rstrip()}
"""


if __name__ == "__main__":
    sys.exit(main())
