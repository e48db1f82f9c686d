"""scripts/line_budget.py: what counts as a code line, the table it prints, and that it fails over budget.

The gate itself (the real depaudit/ within the real budget) runs in tests/test_quality_gates.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "line_budget.py"

MODULE = '''"""A module docstring
over two lines."""

import os  # a comment after code counts as code


# a comment line does not count
def f(x):
    """A function docstring."""
    return x + 1


class C:
    """A class docstring."""

    HELP = """a multi-line string that is not a docstring:
    every line counts"""

    def g(self):
        "a one-line docstring in single quotes"
        value = "a string used as a value"
        return (
            value,
            os.sep,
        )
'''
# Code lines: import, def f, return, class C, HELP (2 lines), def g, value =, return (, value,, os.sep,, ) = 12


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def module_rows(stdout: str) -> list[tuple[str, str]]:
    """(module, lines) of each table row that names a module, in the order printed."""
    return [
        (line.split()[0], line.split()[1])
        for line in stdout.splitlines()
        if line.split()[:1] and line.split()[0].endswith(".py")
    ]


def fake_checkout(tmp_path: Path) -> Path:
    package = tmp_path / "depaudit"
    (package / "sub").mkdir(parents=True)
    (package / "one.py").write_text(MODULE)
    (package / "sub" / "__init__.py").write_text('"""Only a docstring."""\n')
    (package / "sub" / "two.py").write_text("A = 1\n\nB = [\n    2,\n]\n")
    return tmp_path


def test_counts_code_lines_not_blank_comment_or_docstring_lines(tmp_path):
    done = run("--root", str(fake_checkout(tmp_path)), "--budget", "100")
    assert done.returncode == 0, done.stderr
    assert dict(module_rows(done.stdout)) == {
        "depaudit/one.py": "12",
        "depaudit/sub/two.py": "4",
        "depaudit/sub/__init__.py": "0",
    }
    assert "total: 16 code lines in 3 modules; budget 100: 84 under budget" in done.stdout


def test_table_is_sorted_biggest_first_with_package_totals(tmp_path):
    done = run("--root", str(fake_checkout(tmp_path)), "--budget", "100")
    assert [module for module, _ in module_rows(done.stdout)] == [
        "depaudit/one.py",
        "depaudit/sub/two.py",
        "depaudit/sub/__init__.py",
    ]
    packages = [
        line.split() for line in done.stdout.splitlines() if line.split()[:1] in (["depaudit"], ["depaudit/sub"])
    ]
    assert packages == [["depaudit", "12", "1"], ["depaudit/sub", "4", "2"]]


def test_fails_when_the_total_is_over_the_budget(tmp_path):
    root = str(fake_checkout(tmp_path))
    assert run("--root", root, "--budget", "16").returncode == 0  # at the budget is within it
    over = run("--root", root, "--budget", "15")
    assert over.returncode == 1
    assert "budget 15: over budget by 1" in over.stdout


def test_the_real_tree_fails_with_a_budget_below_its_total():
    within = run()
    assert within.returncode == 0, within.stdout[-2000:]
    total = int(within.stdout.split("total: ")[1].split()[0])
    below = run("--budget", str(total - 1))
    assert below.returncode == 1 and "over budget by 1" in below.stdout
