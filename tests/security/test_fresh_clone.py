"""The pull request every defect class at once: a fresh clone carrying an unknowable marker (CUDA torch
behind `'SMP' in platform_version`), an edited lock size, a secret-leaking symlink and a credential in
a requirements file. The workflow's commands run on it as CI runs them: the gate fails where it should,
nothing outside the clone changes, and no secret appears in any output.

The lock is the real `uv lock` of tests/fixtures/locks/unknowable-marker, pointed at a PEP 691 index on
127.0.0.1 (tests/tls_server.py) that lists each wheel with the size PyPI gave; the pull request edits
numpy's linux-x86_64 wheel to `size = 1`. The pull request also commits a fix journal (in the place
depaudit 0.1 kept it) that names a folder outside the clone and the clone's git hooks, and a
`[tool.depaudit]` that ignores the budget rules, narrows the targets, turns the look-ups off, points the
gate at a decoy lock and allows a loopback host.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hostile import SECRET, Surroundings, assert_no_secret, home_with_secret, hostile_clone, run_in
from tls_server import IndexServer, make_certificates

from fixture_paths import LOCKS

FIXTURE = LOCKS / "unknowable-marker"
WHEEL = re.compile(r'\{ url = "(https://files\.pythonhosted\.org/[^"]*/([^"/]+\.whl))", hash = "([^"]+)", size = (\d+)')
NUMPY_X86 = "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def local_lock(server: IndexServer) -> str:
    """The fixture lock served by `server`: every wheel URL and the registry moved there, each project's
    page listing its wheels with the lock's own (PyPI's) sizes; then numpy's x86_64 size edited to 1."""
    text = FIXTURE.joinpath("uv.lock").read_text()
    project_of: dict[str, str] = {}
    for block in text.split("[[package]]")[1:]:
        name = re.search(r'^name = "([^"]+)"', block, re.M)
        for match in WHEEL.finditer(block):
            assert name is not None
            project_of[match.group(2)] = name.group(1)
            server.projects.setdefault(name.group(1), []).append(
                {"filename": match.group(2), "url": f"/files/{match.group(2)}", "size": int(match.group(4))}
            )
    assert NUMPY_X86 in project_of
    text = WHEEL.sub(
        lambda m: f'{{ url = "{server.url("files/" + m.group(2))}", hash = "{m.group(3)}", size = {m.group(4)}', text
    )
    text = text.replace('registry = "https://pypi.org/simple"', f'registry = "{server.url("simple")}"')
    return re.sub(rf'({re.escape(NUMPY_X86)}", hash = "[^"]+", size = )\d+', r"\g<1>1", text)


def test_the_workflow_on_a_hostile_clone(tmp_path: Path, certificates) -> None:
    world = tmp_path / "runner"
    home = home_with_secret(world)
    with IndexServer(certificates) as server:
        files = {
            "pyproject.toml": FIXTURE.joinpath("pyproject.toml").read_text(),
            "uv.lock": local_lock(server),
            "requirements.txt": f"--extra-index-url https://ci:{SECRET}@pypi.example.com/simple\nnumpy\n",
        }
        links = {"requirements-dev.txt": "/proc/self/environ", "constraints.txt": f"{home}/token.txt"}
        victim = world / "victim"
        victim.mkdir()
        (victim / "keep.txt").write_text("the runner's\n")
        files["pyproject.toml"] += (
            '\n[tool.depaudit]\nignore = ["DA502", "DA503", "DA504", "DA105"]\ntargets = ["macos-arm64"]\n'
            'offline = true\nlock = "decoy.lock"\nallow-hosts = ["127.0.0.2"]\n'
        )
        files["decoy.lock"] = 'version = 1\nrequires-python = ">=3.11"\n'
        files[".depaudit-fix.journal.json"] = json.dumps(
            {
                "state": "staging",
                "stage": str(victim),
                "token": "0123456789abcdef",
                "targets": [".git/hooks/pre-commit"],
                "temps": {"requirements.txt": ".git/hooks/pre-commit"},
            }
        )
        clone = hostile_clone(world, files, links)
        hooks = sorted(p.name for p in (clone / ".git" / "hooks").iterdir())
        around = Surroundings(world, clone)
        env = {"SSL_CERT_FILE": str(certificates.ca), "DEPAUDIT_CACHE_DIR": str(tmp_path / "cache")}
        online = ("--allow-host", "127.0.0.1")
        gate = run_in(
            clone,
            *("gate", "--lock", "uv.lock", "--max-accelerator", "0", "--no-accelerator-target", "linux-x86_64"),
            *("--max-download", "5GB", "--format", "json", *online),
            **env,
        )
        # the hook's budgets are the project's own; the workflow names the target it cares about, which
        # the file's `targets` cannot take away
        hook = run_in(clone, "hook", "lock", "uv.lock", "-t", "linux-x86_64", **env)
        scan = run_in(clone, "scan", "-t", "linux-x86_64", "--max-download", "5GB", *online, **env)
        diff = run_in(clone, "diff", "uv.lock", "uv.lock", "-t", "linux-x86_64", *online, **env)
    fix = run_in(clone, "fix", ".", "--dry-run", **env)
    lint = run_in(clone, "lint", ".", **env)
    lint_lock = run_in(clone, "lint", "uv.lock", "requirements.txt", "--format", "sarif", **env)
    for result in (gate, hook, scan, diff, fix, lint, lint_lock):
        assert_no_secret(result)
    doc = json.loads(gate.stdout)
    assert gate.returncode == 1 and not doc["passed"]
    failed = {(c["check"], c["target"]) for c in doc["checks"] if c["verdict"] == "fail"}
    assert {("accelerator", "linux-x86_64"), ("no-accelerator", "linux-x86_64")} <= failed
    assert any(f["rule"] == "DA105" and NUMPY_X86 in f["message"] for f in doc["findings"])
    assert hook.returncode == 1 and scan.returncode == 1 and diff.returncode == 1
    assert "may install" in scan.stdout and "DA105" in diff.stderr
    assert lint.returncode == 3 and ("/proc" in lint.stderr or "out of the project" in lint.stderr)
    assert "ignored (depaudit keeps fix --lock recovery state outside the project" in fix.stderr
    assert "[tool.depaudit]" in gate.stderr  # what the file was not allowed to do, said
    assert (victim / "keep.txt").exists() and sorted(p.name for p in (clone / ".git" / "hooks").iterdir()) == hooks
    assert around.changed() == []
