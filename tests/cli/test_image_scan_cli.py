"""`depaudit image scan` and `image predict` on the command line: exit codes, one-line errors, and no
engine needed for an archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fixture_paths import FIXTURES

REPO = Path(__file__).resolve().parents[2]
TINY = FIXTURES / "docker" / "tiny-save.tar.gz"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "DEPAUDIT_DOCKER": str(cwd / "no-docker")}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_scan_an_archive_without_an_engine(tmp_path):
    done = _run(["image", "scan", str(TINY), "--format", "json"], tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1 and doc["passed"] and doc["tags"] == ["depaudit-fixture/tiny:1"]
    assert {p["name"] for e in doc["environments"] for p in e["packages"]} == {
        "six",
        "idna",
        "markupsafe",
        "nvidia-ml-py",
    }


def test_budgets_fail_with_exit_1_and_say_why(tmp_path):
    done = _run(
        ["image", "scan", str(TINY), "--max-waste", "1kB", "--max-accelerator", "0", "--format", "gnu"], tmp_path
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [line.split(": ")[1].split()[0] for line in lines] == ["DA508", "DA509"]
    assert "budget exceeded" in done.stderr and "nvidia" in done.stderr


def test_bad_inputs_are_one_line_with_their_exit_code(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    unreadable = _run(["image", "scan", "notes.txt"], tmp_path)
    assert unreadable.returncode == 3 and "notes.txt" in unreadable.stderr and "Traceback" not in unreadable.stderr
    no_engine = _run(["image", "scan", "some/image:1"], tmp_path)
    assert no_engine.returncode == 4 and "Traceback" not in no_engine.stderr
    bad_size = _run(["image", "scan", str(TINY), "--max-waste", "lots"], tmp_path)
    assert bad_size.returncode == 2 and "--max-waste" in bad_size.stderr
    missing = _run(["image", "predict", "Dockerfile"], tmp_path)
    assert missing.returncode == 3 and "Dockerfile" in missing.stderr
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY notes.txt /\n")
    bad_arg = _run(["image", "predict", "Dockerfile", "--build-arg", "NOVALUE"], tmp_path)
    assert bad_arg.returncode == 2 and "NAME=VALUE" in bad_arg.stderr
    sarif = _run(["image", "predict", "Dockerfile", "--format", "sarif"], tmp_path)
    assert sarif.returncode == 2 and "image predict" in sarif.stderr


def test_predict_from_scratch_needs_nothing_outside(tmp_path):
    (tmp_path / "notes.txt").write_text("x" * 123)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY notes.txt /\n")
    done = _run(["image", "predict", "Dockerfile", "--format", "json", "--offline"], tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["size"] == 123 and doc["complete"] and doc["base"]["source"] == "scratch"
