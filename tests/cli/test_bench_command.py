"""`depaudit bench`: in a clone it runs `python -m reference_service.bench` with its arguments unread; where
depaudit is installed without the repository it says in one line where the bench lives and exits 4, and
`--help` says the same. A `reference_service` that is not beside depaudit's own folder is never imported."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from depaudit.cli.bench import WHERE, bench_module

from childrun import REPO, cli_env, run_depaudit

LOCATION = "a clone of the depaudit repository, as python -m reference_service.bench"
REAL_REPORT = REPO / "reports" / "images.json"


def test_in_a_clone_the_arguments_reach_the_bench_unread(tmp_path: Path) -> None:
    rendered = run_depaudit("bench", "--from-json", str(REAL_REPORT), "--output-dir", str(tmp_path), cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr.startswith("depaudit bench: re-rendered") and (tmp_path / "images.md").is_file()
    bad = run_depaudit("bench", "-v", "torch-rocm", cwd=tmp_path)
    assert bad.returncode == 2 and "depaudit bench: error: argument --variant/-v: invalid choice" in bad.stderr
    listed = run_depaudit("bench", "-h", cwd=tmp_path)
    assert listed.returncode == 0 and "usage: depaudit bench" in listed.stdout and "--base-image" in listed.stdout


def test_help_says_where_the_bench_lives(tmp_path: Path) -> None:
    helped = run_depaudit("bench", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and LOCATION in " ".join(helped.stdout.split())
    assert LOCATION in WHERE


def _depaudit_alone(tmp_path: Path) -> Path:
    """A folder holding a copy of the depaudit package and nothing else, as an installed wheel has it."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "depaudit", site / "depaudit", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_without_the_repository_it_says_where_the_bench_lives_and_exits_4(tmp_path: Path) -> None:
    env = cli_env(PYTHONPATH=str(_depaudit_alone(tmp_path)))
    missing = run_depaudit("bench", "--base-image", "x", cwd=tmp_path, env=env)
    assert missing.returncode == 4
    assert missing.stderr.splitlines() == [f"depaudit: error: {WHERE}"]
    helped = run_depaudit("bench", "--help", cwd=tmp_path, env=env)
    assert helped.returncode == 0 and LOCATION in " ".join(helped.stdout.split())


def test_a_reference_service_elsewhere_on_the_path_is_not_imported(tmp_path: Path, monkeypatch) -> None:
    stray = tmp_path / "stray_service"
    (stray / "bench").mkdir(parents=True)
    (stray / "__init__.py").write_text("raise SystemExit('a checkout ran its code')\n")
    (stray / "bench" / "cli.py").write_text("raise SystemExit('a checkout ran its code')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert bench_module("stray_service") is None and "stray_service" not in sys.modules
    assert bench_module("no_such_package_here") is None
    assert bench_module() is not None  # this clone's own reference_service
