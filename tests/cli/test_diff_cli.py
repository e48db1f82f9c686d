"""`depaudit diff BASE HEAD` and `scan --baseline REV` on two real locks of one project: before and
after `depaudit fix --to cpu-index --lock` (tests/fixtures/diff/cpu-index/HOW.md says how they were made).

The diff must agree with two separate `depaudit scan` runs, target by target: totals, accelerator
bytes, and which packages were added, removed and changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_paths import FIXTURES, LOCKS

CASE = FIXTURES / "diff" / "cpu-index"
BEFORE, AFTER = CASE / "before" / "uv.lock", CASE / "after" / "uv.lock"
TARGETS = ["linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"]
CONTRACT = {
    "target",
    "before_bytes",
    "after_bytes",
    "delta_bytes",
    "before_accelerator_bytes",
    "after_accelerator_bytes",
    "added",
    "removed",
    "changed",
}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def scan_json(lock: Path | str, cwd: Path | None = None) -> dict:
    proc = run("scan", str(lock), "--offline", "--format", "json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return {t["target"]: t for t in json.loads(proc.stdout)["targets"]}


def diff_json(base: str, head: str, *extra: str, cwd: Path | None = None) -> dict:
    proc = run("diff", base, head, "--offline", "--format", "json", *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def scans() -> tuple[dict, dict]:
    return scan_json(BEFORE), scan_json(AFTER)


def _versions(target: dict) -> dict[str, tuple[str, str | None, int | None]]:
    return {p["name"]: (p["version"], p["wheel"], p["size"]) for p in target["packages"]}


def test_diff_agrees_with_two_scans_target_by_target(scans) -> None:
    before, after = scans
    doc = diff_json(str(BEFORE), str(AFTER))
    assert doc["schema"] == 1 and doc["python"] == "3.11"
    assert [t["target"] for t in doc["targets"]] == TARGETS
    for t in doc["targets"]:
        old, new = before[t["target"]], after[t["target"]]
        assert set(t) >= CONTRACT
        assert (t["before_bytes"], t["after_bytes"]) == (old["total_bytes"], new["total_bytes"])
        assert t["delta_bytes"] == new["total_bytes"] - old["total_bytes"]
        assert (t["before_accelerator_bytes"], t["after_accelerator_bytes"]) == (
            old["accelerator_bytes"],
            new["accelerator_bytes"],
        )
        a, b = _versions(old), _versions(new)
        assert {p["name"] for p in t["added"]} == b.keys() - a.keys()
        assert {p["name"] for p in t["removed"]} == a.keys() - b.keys()
        assert {p["name"] for p in t["changed"]} == {n for n in a.keys() & b.keys() if a[n] != b[n]}
        for p in t["removed"]:
            assert (p["version"], p["size"]) == (a[p["name"]][0], a[p["name"]][2])
        for p in t["changed"]:
            assert (p["before_version"], p["after_version"]) == (a[p["name"]][0], b[p["name"]][0])
            assert (p["before_size"], p["after_size"]) == (a[p["name"]][2], b[p["name"]][2])


def test_the_cpu_index_fix_shows_as_removed_cuda_and_a_cpu_torch(scans) -> None:
    doc = diff_json(str(BEFORE), str(AFTER), "-t", "linux-x86_64")
    (linux,) = doc["targets"]
    assert linux["after_accelerator_bytes"] == 0 and linux["before_accelerator_bytes"] > 2_000_000_000
    assert linux["added"] == []
    assert len(linux["removed"]) == 19 and all(p["accelerator"] for p in linux["removed"])
    (torch,) = [p for p in linux["changed"] if p["name"] == "torch"]
    assert (torch["before_version"], torch["after_version"]) == ("2.13.0", "2.13.0+cpu")
    assert torch["after_size"] == 191_794_682  # the real torch-2.13.0+cpu wheel the loopback index served
    sizes = [p["size"] for p in linux["removed"]]
    assert sizes == sorted(sizes, reverse=True)  # by impact
    # every size on linux-x86_64 is known, so the package deltas add up to the total delta exactly
    assert linux["exact"] is True
    parts = sum(-p["size"] for p in linux["removed"]) + sum(
        p["after_size"] - p["before_size"] for p in linux["changed"]
    )
    assert parts == linux["delta_bytes"]


def test_a_size_unknown_on_one_side_is_null_and_marks_the_delta_inexact() -> None:
    # The loopback CPU index served only the Linux x86_64 wheel: on macOS the fixed lock has no torch wheel.
    doc = diff_json(str(BEFORE), str(AFTER), "-t", "macos-arm64")
    (mac,) = doc["targets"]
    (torch,) = mac["changed"]
    assert torch["before_size"] > 0 and torch["after_size"] is None
    # no wheel and no sdist: torch cannot install there, listed as the scan lists it (not an unknown wheel size)
    assert mac["after_unknown_size"] == [] and mac["after_not_installable"] == ["torch"] and mac["exact"] is False
    md = run("diff", str(BEFORE), str(AFTER), "--offline", "-t", "macos-arm64", "--format", "markdown")
    assert "(inexact)" in md.stdout
    assert "size unknown for after: `torch` (no wheel for this target: cannot install)" in md.stdout


def test_markdown_is_a_pr_comment_with_the_marker() -> None:
    proc = run("diff", str(BEFORE), str(AFTER), "--offline", "--format", "markdown", "-t", "linux-x86_64", "--top", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("### depaudit diff: ") and lines[-1] == "<!-- depaudit-diff -->"
    assert "| linux-x86_64 | 2.8 GB | 226.3 MB | **-2.5 GB** | 2.7 GB → 0 B |" in lines
    assert "| ~ | `torch` | `2.13.0` (526.6 MB) | `2.13.0+cpu` (191.8 MB) | -334.8 MB |" in lines
    assert "| | … 17 more (`--all` shows every change) | | | |" in lines


def test_table_header_names_python_and_targets_and_does_not_wrap_when_piped() -> None:
    proc = run("diff", str(BEFORE), str(AFTER), "--offline", "-t", "linux-x86_64", "-t", "macos-arm64")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.endswith("· Python 3.11 · targets: linux-x86_64, macos-arm64 · download size")
    assert any("nvidia-cudnn-cu13" in line and "-366.2 MB" in line for line in proc.stdout.splitlines())


def test_table_flags_a_new_accelerator_family_in_brackets() -> None:
    # The same `[family]` tag the markdown shows; rich must not take it for a style tag and drop it.
    proc = run("diff", str(AFTER), str(BEFORE), "--offline", "-t", "linux-x86_64", "--top", "3")
    assert proc.returncode == 0, proc.stderr
    assert any("nvidia-cublas [nvidia]" in line and "+423.1 MB" in line for line in proc.stdout.splitlines())
    assert any("torch [torch-cuda]" in line for line in proc.stdout.splitlines()), proc.stdout


def test_budgets_exit_1_naming_the_target() -> None:
    reverse = run("diff", str(AFTER), str(BEFORE), "--offline", "-t", "linux-x86_64", "--max-increase", "100MB")
    assert reverse.returncode == 1
    assert "linux-x86_64: download-increase +2.5 GB exceeds the budget of 100.0 MB" in reverse.stderr
    new = run("diff", str(AFTER), str(BEFORE), "--offline", "-t", "linux-x86_64", "--fail-on-new-accelerator")
    assert new.returncode == 1 and "20 new accelerator packages: " in new.stderr and "torch (torch-cuda)" in new.stderr
    shrink = run(
        "diff",
        str(BEFORE),
        str(AFTER),
        "--offline",
        "-t",
        "linux-x86_64",
        "--max-increase",
        "0",
        "--fail-on-new-accelerator",
    )
    assert shrink.returncode == 0, shrink.stderr


def test_an_unknown_size_on_the_head_side_fails_the_increase_budget_instead_of_passing() -> None:
    proc = run("diff", str(BEFORE), str(AFTER), "--offline", "-t", "macos-arm64", "--max-increase", "1GB")
    assert proc.returncode == 1
    assert "macos-arm64: download-increase -111.2 MB over known sizes, budget 1.0 GB: cannot verify" in proc.stderr
    assert "size unknown for torch" in proc.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose history holds the lock before (commit 1) and after (commit 2) the fix."""
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True, timeout=30)
    for folder, message in ((CASE / "before", "cuda"), (CASE / "after", "cpu index")):
        for name in ("pyproject.toml", "uv.lock"):
            shutil.copyfile(folder / name, root / name)
        subprocess.run([*git, "add", "."], cwd=root, check=True, timeout=30)
        subprocess.run([*git, "commit", "-q", "-m", message], cwd=root, check=True, timeout=30)
    return root


def test_rev_path_sides_read_from_git_match_the_files(repo: Path) -> None:
    from_git = diff_json("HEAD~1:uv.lock", "HEAD:uv.lock", cwd=repo)
    from_files = diff_json(str(BEFORE), str(AFTER))
    assert (from_git["base"], from_git["head"]) == ("HEAD~1:uv.lock", "HEAD:uv.lock")
    assert from_git["targets"] == from_files["targets"]
    # HEAD defaults to ./uv.lock, the working-tree file
    assert diff_json("main~1:uv.lock", "uv.lock", cwd=repo)["targets"] == from_files["targets"]


def test_scan_baseline_is_the_diff_against_the_lock_at_rev(repo: Path) -> None:
    proc = run("scan", "uv.lock", "--baseline", "HEAD~1", "--offline", "--format", "json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["base"] == "HEAD~1:./uv.lock" and doc["head"] == "uv.lock"
    assert doc["targets"] == diff_json(str(BEFORE), str(AFTER))["targets"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope:uv.lock", "nope:uv.lock: unknown git revision 'nope'"),
        ("HEAD:missing.lock", "HEAD:missing.lock: no file 'missing.lock' at revision 'HEAD'"),
        ("HEAD:./", "HEAD:./: is a folder in git, not a lock file"),
        ("HEAD:notes.txt", "HEAD:notes.txt:1: invalid requirement"),  # not a lock: read as requirements, refused
    ],
)
def test_bad_rev_or_path_is_one_line_exit_3(repo: Path, spec: str, message: str) -> None:
    (repo / "notes.txt").write_text("these are notes, not requirements\n")
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "add", "notes.txt"], cwd=repo, check=True, timeout=30)
    subprocess.run([*git, "commit", "-q", "-m", "notes"], cwd=repo, check=True, timeout=30)
    proc = run("diff", spec, "uv.lock", "--offline", cwd=repo)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"depaudit: error: {message}"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_rev_path_outside_a_repository_is_exit_3(tmp_path: Path) -> None:
    shutil.copyfile(AFTER, tmp_path / "uv.lock")
    proc = run("diff", "HEAD:uv.lock", "uv.lock", "--offline", cwd=tmp_path)
    assert proc.returncode == 3 and "is not inside a git repository" in proc.stderr


@pytest.fixture
def allowed_hosts_seen(monkeypatch) -> list[tuple[str, ...]]:
    """The hosts of every scan_lock call depaudit.diff makes, in order: (allowed by the command line or
    environment, allowed by the project's file) (the real scan still runs)."""
    import depaudit.diff

    seen: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    real = depaudit.diff.scan_lock

    def recording(lock, **options):
        seen.append((tuple(options.get("allow_hosts", ())), tuple(options.get("project_hosts", ()))))
        return real(lock, **options)

    monkeypatch.setattr(depaudit.diff, "scan_lock", recording)
    return seen


def test_size_look_ups_may_reach_the_hosts_the_user_allows(monkeypatch, tmp_path: Path, allowed_hosts_seen) -> None:
    # A lock on a private index needs --allow-host for its sizes, as in scan and gate (diff once offered no
    # way to allow it). allow-hosts in [tool.depaudit] names hosts that are then looked up at global
    # addresses only; the command line's --allow-host reaches any address.
    from depaudit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.depaudit]\nallow-hosts = ["mirror.internal"]\n')
    shutil.copyfile(AFTER, tmp_path / "uv.lock")  # settings come from the pyproject.toml beside HEAD
    both = ((), ("mirror.internal",)), (("10.0.0.5",), ("mirror.internal",))
    for extra, expected in zip(([], ["--allow-host", "10.0.0.5"]), both, strict=True):
        allowed_hosts_seen.clear()
        with pytest.raises(SystemExit) as done:
            main(["diff", str(BEFORE), "uv.lock", "--offline", "-t", "linux-x86_64", "-q", *extra])
        assert done.value.code == 0 and allowed_hosts_seen == [expected, expected]


def test_scan_baseline_looks_up_the_base_side_with_the_allowed_hosts(
    monkeypatch, repo: Path, allowed_hosts_seen
) -> None:
    # `scan --baseline` scans the base lock itself: its size look-ups must reach the hosts the user
    # allowed (--allow-host, allow-hosts in [tool.depaudit]) as the head side's do.
    from depaudit.cli import main

    monkeypatch.chdir(repo)
    with (repo / "pyproject.toml").open("a") as pyproject:
        pyproject.write('\n[tool.depaudit]\nallow-hosts = ["mirror.internal"]\n')
    both = ((), ("mirror.internal",)), (("10.0.0.5",), ("mirror.internal",))
    for extra, expected in zip(([], ["--allow-host", "10.0.0.5"]), both, strict=True):
        allowed_hosts_seen.clear()
        with pytest.raises(SystemExit) as done:
            main(["scan", "uv.lock", "--baseline", "HEAD~1", "--offline", "-t", "linux-x86_64", "-q", *extra])
        assert done.value.code == 0 and allowed_hosts_seen == [expected]


EXTRAS = LOCKS / "extras-dev" / "uv.lock"  # declares the extras onnx and gpu; the diff fixture's locks do not


@pytest.mark.parametrize(("base", "head", "side"), [(AFTER, EXTRAS, "base"), (EXTRAS, AFTER, "head")])
def test_an_extra_one_lock_lacks_is_named_with_its_side(base: Path, head: Path, side: str) -> None:
    proc = run("diff", str(base), str(head), "--offline", "--extra", "onnx")
    assert proc.returncode == 2
    lacking = base if side == "base" else head
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"depaudit: error: {side}: no extra named onnx in "), lines
    assert lines[0].endswith(f"({lacking})")
