"""The Dockerfile fixer: golden diffs, idempotence, no byte outside the inserted text changes, inline
ignores honoured, and lint clean (for the fixable rules) afterwards."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.fixers.dockerfile import plan_dockerfile_fix
from depaudit.lint import dockerfile_context, lint_dockerfile, lint_subject

TESTS = Path(__file__).resolve().parents[1]
DOCKERFILES = TESTS / "fixtures" / "dockerfiles"
GOLDEN = TESTS / "fixtures" / "golden" / "dockerfile-fix"
ROOT = TESTS.parent
FIXABLE = ("DA302", "DA304", "DA307")
GOLDEN_CASES = [
    "caches.Dockerfile",
    "torch-pypi.Dockerfile",
    "no-user.Dockerfile",
    "root-user.Dockerfile",
    "cuda-twice.Dockerfile",
    "torch-reqfile/docker/Dockerfile",
    "ignored.Dockerfile",
]


def _plan(path: Path, **kwargs):
    text = path.read_bytes().decode("utf-8")
    return plan_dockerfile_fix(path, text, context=dockerfile_context(path, text), **kwargs)


def _diff(before: str, after: str, name: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{name}", f"b/{name}"))


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_diff(name):
    edit = _plan(DOCKERFILES / name)
    golden = GOLDEN / (name.replace("/", "__") + ".diff")
    if os.environ.get("DEPAUDIT_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(_diff(edit.before, edit.after, name))
    assert _diff(edit.before, edit.after, name) == golden.read_text()


ALL = sorted(p.relative_to(DOCKERFILES).as_posix() for p in DOCKERFILES.rglob("*Dockerfile"))


@pytest.mark.parametrize("name", ALL)
def test_only_insertions_idempotent_and_lint_clean_after(name, tmp_path):
    path = DOCKERFILES / name
    edit = _plan(path)
    ops = difflib.SequenceMatcher(None, edit.before, edit.after, autojunk=False).get_opcodes()
    assert all(tag in ("equal", "insert") for tag, *_ in ops), "an existing byte was changed or removed"
    again = _plan_text(path, edit.after)
    assert again.after == edit.after and not again.changed
    # After the fix no fixable finding (that is not ignored inline) is left.
    fixed = tmp_path / path.name
    fixed.write_text(edit.after)
    context = DOCKERFILES if "/" not in name else path.parent
    left = [f for f in lint_dockerfile(fixed, context=context, select=FIXABLE) if f.fixable]
    assert left == []


def _plan_text(path: Path, text: str):
    return plan_dockerfile_fix(path, text, context=dockerfile_context(path, text))


def test_clean_file_is_unchanged():
    edit = _plan(DOCKERFILES / "clean-multistage.Dockerfile")
    assert not edit.changed and edit.summary == ()


def test_cpu_index_url_is_configurable_and_chooses_the_option():
    text = (
        "FROM python:3.11-slim\nRUN pip install --no-cache-dir torch torchvision\n"
        "RUN pip install --no-cache-dir torch numpy\nUSER 1\n"
    )
    edit = plan_dockerfile_fix("Dockerfile", text, cpu_index_url="http://127.0.0.1:8123/simple/cpu")
    assert edit.after == (
        "FROM python:3.11-slim\n"
        "RUN pip install --index-url http://127.0.0.1:8123/simple/cpu --no-cache-dir torch torchvision\n"
        "RUN pip install --extra-index-url http://127.0.0.1:8123/simple/cpu --no-cache-dir torch numpy\nUSER 1\n"
    )


def test_crlf_file_keeps_crlf():
    text = 'FROM python:3.11-slim\r\nRUN pip install numpy\r\nCMD ["python"]\r\n'
    edit = plan_dockerfile_fix("Dockerfile", text)
    assert edit.after == (
        'FROM python:3.11-slim\r\nRUN pip install --no-cache-dir numpy\r\nUSER 10001:10001\r\nCMD ["python"]\r\n'
    )


def test_user_goes_to_the_end_when_a_run_follows_cmd_and_file_lacks_final_newline():
    text = 'FROM python:3.11-slim\nCMD ["python"]\nRUN echo'
    assert plan_dockerfile_fix("D", text).after == text + "\nUSER 10001:10001\n"


def test_exec_form_and_unbalanced_quotes_are_left_alone():
    text = 'FROM python:3.11-slim\nRUN ["pip", "install", "numpy"]\nRUN pip install \'numpy\nUSER 1\n'
    edit = plan_dockerfile_fix("D", text)
    assert not edit.changed
    findings = lint_subject(load_subject_text(text))
    assert [(f.line, f.fixable) for f in findings if f.rule == "DA304"] == [(2, False), (3, False)]


def load_subject_text(text: str):
    from depaudit.analysis.docker_stages import DockerSubject
    from depaudit.sources.dockerfile import parse_dockerfile

    return DockerSubject(parse_dockerfile(text, "D"), {})


def test_apt_lists_after_a_trailing_semicolon_and_in_a_continuation():
    text = "FROM debian:12\nRUN apt-get update; \\\n    apt-get install -y curl;\nUSER 1\n"
    edit = plan_dockerfile_fix("D", text)
    assert edit.after == (
        "FROM debian:12\nRUN apt-get update; \\\n    apt-get install -y curl && rm -rf /var/lib/apt/lists/*;\nUSER 1\n"
    )


def test_invalid_dockerfile_raises_input_error():
    from depaudit.errors import InputError

    with pytest.raises(InputError):
        plan_dockerfile_fix("D", "RUN echo\n")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_fix_cli_dry_run_then_write_then_nothing_left(tmp_path):
    src = DOCKERFILES / "caches.Dockerfile"
    target = tmp_path / "Dockerfile"
    target.write_bytes(src.read_bytes())
    dry = _run("fix", "Dockerfile", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "+RUN pip install --no-cache-dir numpy" in dry.stdout
    assert target.read_bytes() == src.read_bytes()  # dry run wrote nothing
    done = _run("fix", "Dockerfile", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert target.read_text() == _plan(src).after
    second = _run("fix", "Dockerfile", cwd=tmp_path)
    assert second.returncode == 0 and target.read_text() == _plan(src).after
    assert "nothing to change" in second.stdout + second.stderr


def test_fix_cli_torch_cuda_variant_uses_given_cpu_index(tmp_path):
    src = ROOT / "docker" / "Dockerfile.torch-cuda"
    if not src.exists():
        pytest.skip("docker/Dockerfile.torch-cuda not in this checkout")
    (tmp_path / "docker" / "requirements").mkdir(parents=True)
    (tmp_path / "docker" / "Dockerfile.torch-cuda").write_bytes(src.read_bytes())
    (tmp_path / "docker" / "requirements" / "torch-cuda.txt").write_bytes(
        (ROOT / "docker" / "requirements" / "torch-cuda.txt").read_bytes()
    )
    out = _run(
        "fix",
        "docker/Dockerfile.torch-cuda",
        "--dry-run",
        "--cpu-index-url",
        "http://127.0.0.1:9/simple/cpu",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "--extra-index-url http://127.0.0.1:9/simple/cpu" in out.stdout
    assert "Traceback" not in out.stderr
