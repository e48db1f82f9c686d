"""The quality gates run with the tests (so `scripts/test` and `.ci/run` run them), each from the
project's own configuration in pyproject.toml: ruff (lint and format), mypy (strict), import-linter
(the one-way layers and no import cycles, imports inside functions included), and the line budget of
depaudit/ (scripts/line_budget.py; what it counts is tested in tests/test_line_budget.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:  # the dev group installs every one of them: missing means a broken set-up
        pytest.fail(f"{name} is not installed (it is in the dev dependency group of pyproject.toml)")
    return on_path


def _run(*argv: str, timeout: float = 600) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        list(argv), cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"


def test_ruff_check():
    _run(_tool("ruff"), "check", "--no-cache", ".")


def test_ruff_format():
    _run(_tool("ruff"), "format", "--check", "--no-cache", ".")


def test_mypy():
    _run(_tool("mypy"), "--no-incremental", "--cache-dir", os.devnull)


def test_import_contracts():
    _run(_tool("lint-imports"), "--no-cache")


def test_line_budget():
    _run(sys.executable, str(ROOT / "scripts" / "line_budget.py"), timeout=120)


def test_one_subprocess_runner():
    """Only depaudit/process.py starts processes (argument lists, a timeout, ToolError with stderr)."""
    import ast

    offenders = []
    for path in sorted((ROOT / "depaudit").rglob("*.py")) + sorted((ROOT / "reference_service").rglob("*.py")):
        if path == ROOT / "depaudit" / "process.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if "subprocess" in names or module == "subprocess":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"import subprocess outside depaudit/process.py: {offenders}"
