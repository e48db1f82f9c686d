"""The one rule runner over every file kind: `# depaudit: ignore=DA201 DA202` on the line or the line
above silences both IDs in requirements files, pyproject.toml, Dockerfiles and locks; select/ignore
prefixes and per-path rules; typed subjects."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

import pytest

from depaudit.errors import UsageError
from depaudit.lint import LintOptions, lint_paths
from depaudit.model import Finding
from depaudit.rules.config import PathRule, rule_prefixes
from depaudit.rules.engine import RuleSelection, run
from depaudit.rules.subjects import BudgetSubject, LockSubject, ProjectSubject
from depaudit.sources.pyproject import Pyproject
from depaudit.sources.requirements import RequirementsFile

from fixture_paths import LOCKS

RULE_PAIR = "# depaudit: ignore=DA201 DA202"


def _rules(path: Path, **options) -> list[tuple[str, int | None]]:
    return [(f.rule, f.line) for f in lint_paths([path], LintOptions(**options)).findings]


def test_requirements_file_reports_da201_and_da202(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("-f https://download.pytorch.org/whl/cpu\ntorch==2.8.0\nonnxruntime\n")
    assert _rules(req) == [("DA201", 1), ("DA202", 2)]


@pytest.mark.parametrize("where", ["same line", "line above"])
def test_two_id_pragma_in_a_requirements_file(tmp_path, where):
    body = ["-f https://download.pytorch.org/whl/cpu", "torch==2.8.0", "onnxruntime"]
    if where == "same line":
        body = [f"{body[0]}  {RULE_PAIR}", f"{body[1]}  {RULE_PAIR}", body[2]]
    else:
        body = [RULE_PAIR, body[0], RULE_PAIR, body[1], body[2]]
    req = tmp_path / "requirements.txt"
    req.write_text("\n".join(body) + "\n")
    assert _rules(req) == []


@pytest.mark.parametrize("where", ["same line", "line above"])
def test_two_id_pragma_in_pyproject(tmp_path, where):
    item = f'  "torch>=2",  {RULE_PAIR}' if where == "same line" else f'  {RULE_PAIR}\n  "torch>=2",'
    path = tmp_path / "pyproject.toml"
    path.write_text(f'[project]\nname = "x"\ndependencies = [\n  "onnxruntime",\n{item}\n]\n')
    assert _rules(path) == []
    path.write_text('[project]\nname = "x"\ndependencies = [\n  "onnxruntime",\n  "torch>=2",\n]\n')
    assert _rules(path) == [("DA202", 5)]


@pytest.mark.parametrize("where", ["same line", "line above"])
def test_two_id_pragma_in_a_dockerfile(tmp_path, where):
    run_line = "RUN pip install --no-cache-dir torch"
    lines = ["FROM python:3.11-slim", run_line, "USER 1"]
    pragma = "# depaudit: ignore=DA302 DA304"
    lines[1] = f"{run_line}  {pragma}" if where == "same line" else f"{pragma}\n{run_line}"
    path = tmp_path / "Dockerfile"
    path.write_text("\n".join(lines) + "\n")
    assert _rules(path) == []
    path.write_text("FROM python:3.11-slim\nRUN pip install torch\nUSER 1\n")
    assert _rules(path) == [("DA302", 2), ("DA304", 2)]


def test_pragma_in_a_lock_and_the_pyproject_beside_it(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(LOCKS / "torch-2.8", project)
    lock = project / "uv.lock"
    found = _rules(lock)
    assert ("DA101", found[0][1]) in found and found[0][1] is not None
    line = found[0][1]
    lines = lock.read_text().splitlines()
    lines.insert(line - 1, "# depaudit: ignore=DA101 DA102")
    lock.write_text("\n".join(lines) + "\n")
    assert [rule for rule, _ in _rules(lock)].count("DA101") == 0
    lines = lock.read_text().splitlines()
    lock.write_text("\n".join(lines[: line - 1] + lines[line:]) + "\n# depaudit: ignore-file=DA101\n")
    assert "DA101" not in [rule for rule, _ in _rules(lock)]


def test_select_ignore_and_per_path(tmp_path):
    (tmp_path / "gpu").mkdir()
    for folder in (tmp_path, tmp_path / "gpu"):
        (folder / "Dockerfile").write_text("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install torch\n")
    everything = {(f.path.split(str(tmp_path))[1], f.rule) for f in lint_paths([tmp_path]).findings}
    assert ("/gpu/Dockerfile", "DA301") in everything and ("/Dockerfile", "DA301") in everything
    only = lint_paths([tmp_path], LintOptions(select=("DA30",), ignore=("DA304", "DA307")))
    assert {f.rule for f in only.findings} == {"DA301", "DA302"}  # DA30 is a prefix: DA310 is not in it
    gpu = PathRule("gpu/*", tmp_path, ignore=("DA301", "DA310"))
    narrowed = lint_paths([tmp_path], LintOptions(per_path=(gpu,)))
    gpu_rules = {f.rule for f in narrowed.findings if "/gpu/" in f.path}
    root_rules = {f.rule for f in narrowed.findings if "/gpu/" not in f.path}
    assert "DA301" not in gpu_rules and "DA301" in root_rules and "DA302" in gpu_rules
    by_name = PathRule("Dockerfile", tmp_path, select=("DA301",))  # no '/': a file name in any folder
    assert {f.rule for f in lint_paths([tmp_path], LintOptions(per_path=(by_name,))).findings} == {"DA301"}


def test_rule_prefixes_are_validated():
    """(How select/ignore are read from every layer: tests/test_settings.py.)"""
    with pytest.raises(UsageError, match="'E501' is not a rule ID"):
        rule_prefixes(["E501"], "--ignore")
    with pytest.raises(UsageError, match="'DA9' is not a rule ID"):
        rule_prefixes(["DA9"], "--select")
    assert rule_prefixes(["da3, DA101", "DA101"], "--select") == ("DA3", "DA101")


def test_rule_selection_is_by_prefix():
    chosen = RuleSelection(("DA3",), ("DA30",))
    assert chosen.wants("DA310") and not chosen.wants("DA302") and not chosen.wants("DA101")


def test_unknown_family_is_a_programming_error():
    with pytest.raises(ValueError):
        run("DA9", object())


@pytest.mark.parametrize("subject", [LockSubject, ProjectSubject, BudgetSubject])
def test_subjects_are_typed(subject):
    # subjects imports the project parsers for annotations only (a lock scan does not load them): name them.
    hints = typing.get_type_hints(subject, localns={"Pyproject": Pyproject, "RequirementsFile": RequirementsFile})
    for name in subject._fields:
        assert hints[name] not in (typing.Any, object), f"{subject.__name__}.{name}"


def test_findings_are_deduplicated_and_sorted(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("torch\nonnxruntime\n-f https://download.pytorch.org/whl/cpu\n")
    report = lint_paths([path, path])
    assert report.files == (str(path),)
    assert [(f.line, f.rule) for f in report.findings] == [(1, "DA202"), (3, "DA201")]
    assert all(isinstance(f, Finding) for f in report.findings)
