"""Nothing outside the project is read or written, and an error never prints what it could not parse.

Each test commits a hostile repository, clones it, runs the real `depaudit` in the clone with a secret in
its environment and beside the clone (`hostile.home_with_secret`), and asserts: the verdict, that no
output holds the secret, and that nothing outside the clone changed. Before `fileio` confined reads to
the project, a link `requirements-dev.txt -> /proc/self/environ` made `lint .` print the environment.
"""

from __future__ import annotations

from pathlib import Path

from hostile import SECRET, Surroundings, assert_no_secret, home_with_secret, hostile_clone, run_in

PYPROJECT = '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["torch==2.8.0"]\n'


def test_lint_refuses_a_link_to_proc_environ(tmp_path: Path) -> None:
    clone = hostile_clone(tmp_path, {"README.md": "hi\n"}, {"requirements-dev.txt": "/proc/self/environ"})
    around = Surroundings(tmp_path, clone)
    result = run_in(clone, "lint", ".")
    assert_no_secret(result)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "requirements-dev.txt" in lines[0] and "/proc" in lines[0], lines
    assert around.changed() == []


def test_lint_refuses_a_link_out_of_the_clone(tmp_path: Path) -> None:
    home_with_secret(tmp_path)
    clone = hostile_clone(tmp_path, {"README.md": "hi\n"}, {"requirements.txt": "../runner-home/token.txt"})
    around = Surroundings(tmp_path, clone)
    result = run_in(clone, "lint", ".")
    assert_no_secret(result)
    assert result.returncode == 3 and "outside" in result.stderr, result.stderr
    assert around.changed() == []


def test_scan_refuses_a_lock_that_links_out(tmp_path: Path) -> None:
    home = home_with_secret(tmp_path)
    (home / "uv.lock").write_text('version = 1\nrequires-python = ">=3.11"\n')
    clone = hostile_clone(tmp_path, {"pyproject.toml": PYPROJECT}, {"uv.lock": "../runner-home/uv.lock"})
    result = run_in(clone, "scan", "--offline")
    assert_no_secret(result)
    assert result.returncode == 3 and "uv.lock: resolves to" in result.stderr and "outside" in result.stderr


def test_fix_never_writes_through_a_link_out_of_the_project(tmp_path: Path) -> None:
    """The PR's pyproject.toml is a link to a file of the runner's: fix must not rewrite it."""
    home = home_with_secret(tmp_path)
    (home / "pyproject.toml").write_text(PYPROJECT)
    clone = hostile_clone(tmp_path, {"README.md": "hi\n"}, {"pyproject.toml": "../runner-home/pyproject.toml"})
    around = Surroundings(tmp_path, clone)
    result = run_in(clone, "fix", ".", "--offline")
    assert_no_secret(result)
    assert result.returncode == 3 and "outside" in result.stderr, (result.returncode, result.stderr)
    assert around.changed() == [] and (home / "pyproject.toml").read_text() == PYPROJECT


def test_dockerfile_lint_reads_only_the_build_context(tmp_path: Path) -> None:
    """A Dockerfile at the top of the clone: its build context is the clone. Requirements files named
    by a path out of it (the folder above, an absolute path in a nested -r) are not read, so the torch
    pin they hold is not seen (before: DA302 reported it, read from outside)."""
    home = home_with_secret(tmp_path)
    dockerfile = (
        "FROM python:3.11-slim\nCOPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\nRUN pip install -r runner-home/token.txt\n"
    )
    files = {"Dockerfile": dockerfile, "requirements.txt": f"-r {home / 'token.txt'}\nnumpy\n"}
    clone = hostile_clone(tmp_path, files)
    around = Surroundings(tmp_path, clone)
    result = run_in(clone, "lint", "Dockerfile", "--format", "json")
    assert_no_secret(result)
    assert "DA302" not in result.stdout, result.stdout
    assert result.returncode in (0, 1), result.stderr
    assert around.changed() == []


def test_an_error_quotes_a_short_excerpt_of_the_line(tmp_path: Path) -> None:
    line = "this is not a requirement, " + "x" * 30 + f" token={SECRET}"
    clone = hostile_clone(tmp_path, {"requirements.txt": f"numpy\n{line}\n"})
    result = run_in(clone, "lint", "requirements.txt")
    assert_no_secret(result)
    assert result.returncode == 3 and "requirements.txt:2: invalid requirement 'this is not" in result.stderr
    assert len(result.stderr) < 300, result.stderr
