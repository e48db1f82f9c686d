"""`action.yml`: its steps run the way the GitHub Actions runner runs them (tests/ci/action_runner.py),
on a real git repository holding a lock before and after `depaudit fix --to cpu-index`.

The pull-request comment goes to a loopback HTTP server standing in for the GitHub REST API
(tests/ci/fake_github.py): the real API cannot be reached from these machines, and a test must not post
to a real pull request. Everything else is real: git, depaudit, the step summary and output files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from action_runner import Runner
from fake_github import FakeGitHub
from fixture_paths import FIXTURES

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".github" / "actions" / "depaudit" / "github_action.py"
CASE = FIXTURES / "diff" / "cpu-index"
TOKEN = "ghs_test-token"
SLUG = "octo/service"
GIT = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=root, check=True, timeout=30)
    for folder, message in ((CASE / "before", "cuda"), (CASE / "after", "cpu index")):
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copyfile(folder / name, root / name)
        subprocess.run([*GIT, "add", "."], cwd=root, check=True, timeout=30)
        subprocess.run([*GIT, "commit", "-q", "-m", message], cwd=root, check=True, timeout=30)
    shutil.copyfile(FIXTURES / "dockerfiles" / "torch-pypi.Dockerfile", root / "Dockerfile")
    return root


def load_script():
    """The action's script as a module (it is run by path, not installed)."""
    spec = importlib.util.spec_from_file_location("github_action", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_runner(workspace: Path, tmp_path: Path, api: str = "http://127.0.0.1:9", number: int | None = 7) -> Runner:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    event = temp / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": number}} if number else {"ref": "refs/heads/main"}))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "NO_COLOR": "1",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": api,
        "GITHUB_REPOSITORY": SLUG,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "LANG": "C.UTF-8",
    }
    return Runner(REPO, workspace, temp, env)


def test_diff_writes_outputs_and_summary(workspace: Path, tmp_path: Path) -> None:
    runner = make_runner(workspace, tmp_path)
    result = runner.run({"command": "diff", "args": "HEAD~1:uv.lock uv.lock --offline -t linux-x86_64"})
    assert not result.failed, result.log
    assert result.outputs["exit-code"] == "0"
    report = Path(result.outputs["report-path"])
    assert report == runner.temp / "depaudit-diff.md" and report.read_text().endswith("<!-- depaudit-diff -->\n")
    summary = runner.summary.read_text()
    assert summary.startswith("**depaudit diff**: exit 0, passed")
    assert "| linux-x86_64 | 2.8 GB | 226.3 MB | **-2.5 GB** | 2.7 GB → 0 B |" in summary
    assert summary.count("depaudit diff") == 2  # the summary line and the report's heading, written once
    assert not result.step("comment").ran  # comment is off by default
    skipped_install = [s for s in result.steps if s.id is None and not s.ran]
    assert len(skipped_install) == 2  # the cache hit skipped the install; exit 0 skipped the failing step


def test_pr_comment_is_created_then_updated_in_place(workspace: Path, tmp_path: Path) -> None:
    with FakeGitHub(TOKEN, SLUG) as github:
        for n in range(100):  # a busy pull request: the action must page past the first 100 comments
            github.add(7, f"review comment {n}")
        runner = make_runner(workspace, tmp_path, api=github.url)
        first = runner.run(
            {"command": "diff", "args": "HEAD~1:uv.lock uv.lock --offline -t linux-x86_64", "comment": "true"}
        )
        assert not first.failed, first.log
        ours = [c for c in github.comments[7] if "<!-- depaudit-diff -->" in c["body"]]
        assert len(ours) == 1 and "| linux-x86_64 | 2.8 GB | 226.3 MB |" in ours[0]["body"]
        assert first.outputs["comment-url"] == ours[0]["html_url"]
        assert [m for m, path in github.requests if path != "/user"] == ["GET", "GET", "POST"]

        github.requests.clear()
        second = runner.run(
            {
                "command": "diff",
                "comment": "true",
                "args": "HEAD~1:uv.lock uv.lock --offline -t linux-x86_64 -t macos-arm64",
            }
        )
        assert not second.failed, second.log
        ours = [c for c in github.comments[7] if "<!-- depaudit-diff -->" in c["body"]]
        assert len(ours) == 1 and "| macos-arm64 |" in ours[0]["body"]  # the same comment, new text
        assert len(github.comments[7]) == 101
        assert github.requests[-1] == ("PATCH", f"/repos/{SLUG}/issues/comments/{ours[0]['id']}")
        assert "updated comment" in second.step("comment").stdout


def test_a_breached_budget_fails_the_action_after_summary_and_comment(workspace: Path, tmp_path: Path) -> None:
    with FakeGitHub(TOKEN, SLUG) as github:
        runner = make_runner(workspace, tmp_path, api=github.url)
        # the reverse change: the pull request brings CUDA back
        result = runner.run(
            {
                "command": "diff",
                "comment": "true",
                "args": "HEAD:uv.lock HEAD~1:uv.lock --offline -t linux-x86_64 --fail-on-new-accelerator",
            }
        )
        assert result.outputs["exit-code"] == "1" and result.failed
        assert result.step("run").returncode == 0 and result.step("comment").ran
        assert "**depaudit diff**: exit 1, over budget or findings" in runner.summary.read_text()
        assert len(github.comments[7]) == 1
        last = result.steps[-1]
        assert last.ran and last.returncode == 1 and "::error::depaudit exited 1" in last.stdout
        quiet = make_runner(workspace, tmp_path, api=github.url).run(
            {
                "command": "diff",
                "fail": "false",
                "args": "HEAD:uv.lock HEAD~1:uv.lock --offline --fail-on-new-accelerator",
            }
        )
        assert quiet.outputs["exit-code"] == "1" and not quiet.failed  # fail: false leaves it to the workflow


def test_lint_sarif_report_and_no_comment_outside_pull_requests(workspace: Path, tmp_path: Path) -> None:
    runner = make_runner(workspace, tmp_path, number=None)
    result = runner.run(
        {
            "command": "lint",
            "args": "Dockerfile",
            "format": "sarif",
            "output": "lint.sarif",
            "comment": "true",
            "fail": "false",
        }
    )
    assert result.outputs["exit-code"] == "1"  # DA302 on a torch-from-PyPI Dockerfile
    sarif = json.loads((workspace / "lint.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"][0]["ruleId"] == "DA302"
    assert result.outputs["report-path"] == str(workspace / "lint.sarif")
    assert "Report (sarif)" in runner.summary.read_text()
    assert "not a pull_request event: no comment posted" in result.step("comment").stdout


def test_bad_inputs_fail_with_an_annotation(workspace: Path, tmp_path: Path) -> None:
    result = make_runner(workspace, tmp_path).run({"command": "rm -rf /"})
    assert (
        result.failed
        and "::error::depaudit action: input `command` must be one of scan, diff, gate, lint" in result.log
    )
    runner = make_runner(workspace, tmp_path)
    missing = runner.run({"command": "diff", "args": "HEAD~9:uv.lock uv.lock --offline"})
    assert missing.outputs["exit-code"] == "3" and missing.outputs["report-path"] == ""
    assert "unknown git revision 'HEAD~9'" in missing.log
    assert "**depaudit diff**: exit 3, failed (see the log)" in runner.summary.read_text()
    unbalanced = make_runner(workspace, tmp_path).run({"command": "lint", "args": "'Docker file"})
    assert unbalanced.failed and "Traceback" not in unbalanced.log
    assert "::error::depaudit action: input `args`: No closing quotation in 'Docker file" in unbalanced.log


def test_a_marker_in_someone_elses_comment_is_not_ours_to_overwrite(workspace: Path, tmp_path: Path) -> None:
    # Anyone can post a comment holding the marker (it is in every diff comment's markdown); the token
    # may edit any comment, so the action must only ever update a comment its own bot account wrote.
    with FakeGitHub(TOKEN, SLUG) as github:
        github.add(7, "what does this mean?\n\n<!-- depaudit-diff -->", user="reviewer")
        runner = make_runner(workspace, tmp_path, api=github.url)
        result = runner.run(
            {"command": "diff", "args": "HEAD~1:uv.lock uv.lock --offline -t linux-x86_64", "comment": "true"}
        )
        assert not result.failed, result.log
        human, ours = github.comments[7]
        assert human["body"] == "what does this mean?\n\n<!-- depaudit-diff -->"  # left alone
        assert ours["user"]["type"] == "Bot" and "| linux-x86_64 |" in ours["body"]


def test_a_comment_cut_to_fit_keeps_its_marker_and_is_updated_not_repeated(tmp_path: Path) -> None:
    # A diff over GitHub's comment limit is cut; the marker is its last line, so cutting the end off
    # made every later run post a new comment instead of updating this one.
    script = load_script()
    report = tmp_path / "diff.md"
    rows = "".join(f"| + | package-{n} |  | 1.0 (1.0 MB) | +1.0 MB |\n" for n in range(2000))
    report.write_text(f"### depaudit diff\n\n{rows}\n{script.MARKER}\n")
    assert len(report.read_text()) > script.COMMENT_LIMIT
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    with FakeGitHub(TOKEN, SLUG) as github:
        env = {
            **os.environ,
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": SLUG,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_OUTPUT": str(tmp_path / "output"),
            "INPUT_REPORT_PATH": str(report),
            "INPUT_GITHUB_TOKEN": TOKEN,
        }
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-I", str(SCRIPT), "comment"], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stdout + done.stderr
        (only,) = github.comments[7]
        assert len(only["body"]) <= 65_536 and only["body"].rstrip().endswith(script.MARKER)
        assert "cut to fit a comment" in only["body"]


def test_marker_is_the_renderers() -> None:
    from depaudit.render.diff import MARKER

    assert load_script().MARKER == MARKER


def test_cache_key_changes_with_the_source(tmp_path: Path) -> None:
    source_digest = load_script().source_digest
    root = tmp_path / "action"
    shutil.copytree(REPO / "depaudit", root / "depaudit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(REPO / "pyproject.toml", root / "pyproject.toml")
    before = source_digest(root)
    assert before == source_digest(REPO)
    (root / "depaudit" / "scan.py").write_text((root / "depaudit" / "scan.py").read_text() + "\n# changed\n")
    assert source_digest(root) != before


@pytest.mark.network
@pytest.mark.slow  # creates a venv and pip-installs this checkout with its dependencies (~30 s)
def test_install_step_builds_a_venv_from_the_action_checkout(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {**os.environ, "GITHUB_ACTION_PATH": str(REPO), "DEPAUDIT_ACTION_VENV": str(venv)}
    proc = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "install"], env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = subprocess.run([str(venv / "bin" / "depaudit"), "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == "depaudit 0.1.0"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", "import depaudit; print(depaudit.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    ).stdout
    assert (
        where.startswith(str(venv)) and "site-packages" in where
    )  # installed into the venv, not run from the checkout


def _actionlint() -> list[str] | None:
    for name in ("actionlint", "jactionlint"):
        found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
        if found:
            # jactionlint is a fork of actionlint with extra policy rules; `correctness` is actionlint's set
            return [found, "--no-color"] + (["--profile", "correctness"] if name == "jactionlint" else [])
    return None


def test_action_and_example_workflows_pass_actionlint(tmp_path: Path) -> None:
    command = _actionlint()
    if command is None:
        pytest.skip("actionlint is not installed (the dev group installs jactionlint)")
    root = tmp_path / "lint"
    (root / ".github" / "workflows").mkdir(parents=True)
    shutil.copyfile(REPO / "action.yml", root / "action.yml")
    for example in (REPO / "docs" / "ci").glob("*.yml"):
        shutil.copyfile(example, root / ".github" / "workflows" / example.name)
    # a workflow that uses the action locally, so its inputs and outputs are checked against action.yml
    (root / ".github" / "workflows" / "local.yml").write_text(
        "name: local\non: [pull_request]\npermissions: {contents: read, pull-requests: write}\njobs:\n"
        "  diff:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - id: d\n        uses: ./\n        with:\n          command: diff\n          args: origin/main:uv.lock\n"
        '          comment: "true"\n      - run: echo "$CODE $REPORT"\n        env:\n'
        "          CODE: ${{ steps.d.outputs.exit-code }}\n          REPORT: ${{ steps.d.outputs.report-path }}\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, timeout=30)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # shellcheck
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # and it does catch a wrong input name, so a pass above means something
    (root / ".github" / "workflows" / "local.yml").write_text(
        (root / ".github" / "workflows" / "local.yml").read_text().replace("comment:", "comments:")
    )
    bad = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 1 and 'input "comments" is not defined' in bad.stdout
