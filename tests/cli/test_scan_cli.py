"""`depaudit scan` from the command line: formats, budgets with exit codes, settings precedence."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_paths import LOCKS, SIZE_CACHE

TORCH28 = LOCKS / "torch-2.8" / "uv.lock"


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = dict(os.environ, NO_COLOR="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], capture_output=True, text=True, timeout=120, env=full_env, cwd=cwd
    )


@pytest.fixture
def cache(tmp_path):
    target = tmp_path / "cache"
    shutil.copytree(SIZE_CACHE, target)
    return str(target)


def test_table_names_the_largest_accelerator_wheels(cache):
    proc = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "-t", "linux-x86_64")
    assert proc.returncode == 0, proc.stderr
    assert "888.1 MB" in proc.stdout and "nvidia-cudnn-cu12" in proc.stdout and "706.8 MB" in proc.stdout
    assert "what each direct dependency costs" in proc.stdout


def test_binary_units(cache):
    proc = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "-t", "linux-x86_64", "--binary")
    assert "846.9 MiB" in proc.stdout


def test_json_to_file_and_markdown(cache, tmp_path):
    out = tmp_path / "report.json"
    proc = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "--format", "json", "--output", str(out))
    assert proc.returncode == 0 and proc.stdout == ""
    doc = json.loads(out.read_text())
    assert [t["target"] for t in doc["targets"]] == ["linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64"]
    md = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "--format", "markdown")
    assert md.stdout.startswith("## depaudit scan") and "| linux-x86_64 | 3.11 |" in md.stdout


def test_accelerator_budget_zero_fails_naming_target_and_offenders(cache):
    proc = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "--max-accelerator", "0", "--format", "json")
    assert proc.returncode == 1
    assert "linux-x86_64: accelerator" in proc.stderr and "nvidia-cudnn-cu12" in proc.stderr
    assert "macos-arm64" not in proc.stderr
    ok = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "--max-accelerator", "0", "-t", "macos-arm64")
    assert ok.returncode == 0, ok.stderr


def test_download_budget(cache):
    over = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "-t", "linux-x86_64", "--max-download", "1GB")
    assert over.returncode == 1 and "download 3.9 GB exceeds the budget of 1.0 GB" in over.stderr
    under = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "-t", "linux-x86_64", "--max-download", "5GB")
    assert under.returncode == 0


def test_bad_size_and_unknown_target_are_usage_errors(cache):
    assert run("scan", str(TORCH28), "--offline", "--max-download", "lots").returncode == 2
    proc = run("scan", str(TORCH28), "--offline", "-t", "plan9-mips")
    assert proc.returncode == 2 and "unknown target" in proc.stderr and "Traceback" not in proc.stderr


def test_budgets_from_every_layer_apply_and_the_smallest_wins(tmp_path, cache):
    """The download is 3.9 GB on linux-x86_64. The project's budget applies; the environment and the
    command line (the command line's replacing the environment's) can tighten it, never raise it."""
    project = tmp_path / "p"
    shutil.copytree(LOCKS / "torch-2.8", project)
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.depaudit]\nmax-download = "5GB"\ntargets = ["linux-x86_64"]\n')
    lock = str(project / "uv.lock")
    scan = ("scan", lock, "--offline", "--cache-dir", cache)
    assert run(*scan).returncode == 0  # the project's 5 GB
    assert run(*scan, env={"DEPAUDIT_MAX_DOWNLOAD": "3GB"}).returncode == 1  # the environment's is smaller
    assert run(*scan, "--max-download", "10GB", env={"DEPAUDIT_MAX_DOWNLOAD": "3GB"}).returncode == 0
    tighter = run(*scan, "--max-download", "1GB")
    assert tighter.returncode == 1 and "budget exceeded: linux-x86_64: download 3.9 GB" in tighter.stderr
    text = (project / "pyproject.toml").read_text().replace('max-download = "5GB"', 'max-download = "10GB"')
    (project / "pyproject.toml").write_text(text)
    looser = run(*scan, "--max-download", "2GB")  # a project budget above the command line's changes nothing
    assert looser.returncode == 1 and "max-download 10.0 GB would loosen the command line's 2.0 GB" in looser.stderr


def test_offline_without_cache_reports_unknown_never_zero(tmp_path):
    proc = run(
        "scan",
        str(TORCH28),
        "--offline",
        "--cache-dir",
        str(tmp_path / "empty"),
        "--format",
        "json",
        "-t",
        "linux-x86_64",
    )
    assert proc.returncode == 0
    linux = json.loads(proc.stdout)["targets"][0]
    torch = next(p for p in linux["packages"] if p["name"] == "torch")
    assert torch["size"] is None and torch["size_error"] == "offline"
    assert "torch" in linux["unknown_size"]
    assert linux["total_bytes"] == sum(p["size"] for p in linux["packages"] if p["size"] is not None)
    assert "wheel sizes unknown (offline)" in proc.stderr


def test_unsupported_target_says_so(cache):
    proc = run("scan", str(LOCKS / "environments" / "uv.lock"), "--offline", "--cache-dir", cache, "--format", "json")
    windows = next(t for t in json.loads(proc.stdout)["targets"] if t["target"] == "windows-amd64")
    assert windows["supported"] is False and windows["total_bytes"] is None and "supported-markers" in windows["reason"]
    table = run(
        "scan", str(LOCKS / "environments" / "uv.lock"), "--offline", "--cache-dir", cache, "-t", "windows-amd64"
    )
    assert "not supported" in table.stdout


@pytest.mark.network
def test_online_lookup_fills_what_the_lock_lacks(tmp_path):
    proc = run("scan", str(TORCH28), "--cache-dir", str(tmp_path / "fresh"), "--format", "json", "-t", "linux-x86_64")
    assert proc.returncode == 0, proc.stderr
    linux = json.loads(proc.stdout)["targets"][0]
    torch = next(p for p in linux["packages"] if p["name"] == "torch")
    assert torch["size"] == 888_063_640 and linux["unknown_size"] == []
    again = run(
        "scan",
        str(TORCH28),
        "--cache-dir",
        str(tmp_path / "fresh"),
        "--offline",
        "--format",
        "json",
        "-t",
        "linux-x86_64",
    )
    assert json.loads(again.stdout)["targets"][0]["total_bytes"] == linux["total_bytes"]  # served from the cache


@pytest.mark.network
def test_installed_sizes_exceed_download_sizes(tmp_path, cache):
    lock = str(LOCKS / "revisions" / "uv-0.13.9.lock")
    download = run("scan", lock, "--offline", "--cache-dir", cache, "--format", "json", "-t", "linux-x86_64")
    installed = run(
        "scan", lock, "--installed", "--cache-dir", str(tmp_path / "c"), "--format", "json", "-t", "linux-x86_64"
    )
    assert installed.returncode == 0, installed.stderr
    doc = json.loads(installed.stdout)
    assert doc["size_kind"] == "installed"
    small = {p["name"]: p["size"] for p in json.loads(download.stdout)["targets"][0]["packages"]}
    big = {p["name"]: p["size"] for p in doc["targets"][0]["packages"]}
    assert set(small) == set(big) == {"numpy", "pillow"}
    for name in big:  # a wheel is a zip: unpacked is bigger than downloaded
        assert big[name] > small[name] > 0


def test_unknown_option_is_exit_2_without_traceback():
    proc = run("scan", "--no-such-option")
    assert proc.returncode == 2 and "No such option" in proc.stderr and "Traceback" not in proc.stderr
    assert run("--version").stdout.startswith("depaudit ")


WORKSPACE = LOCKS / "workspace-root-package"


def uv_export_names(cwd: Path, *args: str) -> set[str]:
    """What `uv export` (uv sync's set, production install) lists when run in `cwd`."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    proc = subprocess.run(
        [uv, "export", "--frozen", "--no-default-groups", "--no-hashes", "--no-header", "--no-annotate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr
    return {line.split("==")[0].split(" ")[0] for line in proc.stdout.splitlines() if "==" in line}


@pytest.mark.parametrize("sub", [".", "packages/hdr-full", "packages/hdr-cli/src"])
def test_lock_found_from_the_working_directory_as_uv_finds_it(sub, cache, tmp_path):
    project = tmp_path / "ws"
    shutil.copytree(WORKSPACE, project)
    cwd = project / sub
    cwd.mkdir(exist_ok=True)
    proc = run("scan", "--offline", "--cache-dir", cache, "--format", "json", "-t", "linux-x86_64", cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["lockfile"] == str(project / "uv.lock")
    ours = {p["name"] for p in doc["targets"][0]["packages"] if p["version"] and p["wheel"]}
    assert ours == uv_export_names(cwd)


def test_directory_argument_and_package_selection(cache):
    proc = run("scan", str(WORKSPACE), "--offline", "--cache-dir", cache, "--format", "json", "-t", "linux-x86_64")
    doc = json.loads(proc.stdout)
    assert doc["selection"] == {
        "packages": ["hdr-core"],
        "how": "root project",
        "extras": [],
        "groups": [],
        "production": True,
    }
    assert {p["name"] for p in doc["targets"][0]["packages"]} == {"numpy", "pillow"}
    full = run(
        "scan",
        str(WORKSPACE),
        "--offline",
        "--cache-dir",
        cache,
        "--package",
        "hdr-full",
        "--max-accelerator",
        "0",
        "-t",
        "linux-x86_64",
    )
    assert full.returncode == 1 and "nvidia-cudnn-cu12" in full.stderr
    assert "hdr-full (--package)" in full.stdout


def test_unknown_package_is_exit_2_naming_the_members(cache):
    proc = run("scan", str(WORKSPACE), "--offline", "--cache-dir", cache, "--package", "nope")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no workspace member named nope" in proc.stderr and "hdr-cli, hdr-core, hdr-full" in proc.stderr


def test_header_names_the_production_install_and_the_size_basis(cache):
    table = run("scan", str(WORKSPACE), "--offline", "--cache-dir", cache, "-t", "linux-x86_64")
    flat = " ".join(table.stdout.split())
    assert "production install: no dependency groups" in flat and "Sizes: wheel download size" in flat
    md = run(
        "scan",
        str(WORKSPACE),
        "--offline",
        "--cache-dir",
        cache,
        "-t",
        "linux-x86_64",
        "--group",
        "dev",
        "--format",
        "markdown",
    )
    assert "dependency groups: `dev`" in md.stdout


def test_any_uv_platform_name_and_free_threaded_python(cache):
    proc = run(
        "scan",
        str(LOCKS / "platforms" / "uv.lock"),
        "--offline",
        "--cache-dir",
        cache,
        "--format",
        "json",
        "-t",
        "x86_64-unknown-linux-musl",
        "-t",
        "aarch64-pc-windows-msvc",
        "--python",
        "3.14t",
    )
    assert proc.returncode == 0, proc.stderr
    musl, arm = json.loads(proc.stdout)["targets"]
    assert musl["target"] == "x86_64-unknown-linux-musl" and musl["python"] == "3.14t"
    assert any("musllinux" in (p["wheel"] or "") for p in musl["packages"])
    assert all(p["wheel"] is None or p["wheel"].endswith(("win_arm64.whl", "-any.whl")) for p in arm["packages"])
    bad = run("scan", str(LOCKS / "platforms" / "uv.lock"), "--offline", "-t", "sparc-sun-solaris")
    assert bad.returncode == 2 and "x86_64-unknown-linux-musl" in bad.stderr


def test_targets_from_tool_depaudit(tmp_path, cache):
    project = tmp_path / "p"
    shutil.copytree(LOCKS / "platforms", project)
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.depaudit]\ntargets = ["aarch64-unknown-linux-musl", "x86_64-apple-darwin"]\n')
    proc = run("scan", str(project), "--offline", "--cache-dir", cache, "--format", "json")
    assert [t["target"] for t in json.loads(proc.stdout)["targets"]] == [
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
    ]


def test_gate_measures_the_selected_member(cache, tmp_path):
    """The issue's case: at the root of a workspace whose slim root package passes, the full member
    installs CUDA on the same target; `gate --package` sees it."""
    lock = str(LOCKS / "workspace-root-package" / "uv.lock")
    args = [
        "gate",
        "--lock",
        lock,
        "--no-accelerator-target",
        "linux-x86_64",
        "--offline",
        "--pyproject",
        str(LOCKS / "workspace-root-package" / "pyproject.toml"),
    ]
    env = {"DEPAUDIT_CACHE_DIR": cache}
    root = run(*args, env=env, cwd=tmp_path)
    assert root.returncode == 0, root.stderr
    member = run(*args, "--package", "hdr-full", env=env, cwd=tmp_path)
    assert member.returncode == 1 and "nvidia-cudnn-cu12" in member.stdout + member.stderr


def test_package_selection_on_a_pylock_is_a_usage_error():
    proc = run("scan", str(LOCKS / "torch-family" / "pylock.toml"), "--offline", "--package", "x")
    assert proc.returncode == 2 and "pylock.toml" in proc.stderr and "Traceback" not in proc.stderr


def test_bytecode_basis_is_named_in_every_format(cache):
    doc = json.loads(
        run(
            "scan",
            str(TORCH28),
            "--offline",
            "--cache-dir",
            cache,
            "--bytecode",
            "--format",
            "json",
            "-t",
            "linux-x86_64",
        ).stdout
    )
    assert doc["size_basis"] == "bytecode" and doc["size_kind"] == "installed"
    table = run("scan", str(TORCH28), "--offline", "--cache-dir", cache, "--bytecode", "-t", "linux-x86_64")
    assert "installed with compiled bytecode (.pyc), estimated" in " ".join(table.stdout.split())


def test_deep_chain_output_is_bounded_and_parents_recover_the_path(tmp_path):
    """A valid lock that is a 300-package chain (benchmarks/lockshapes.py writes it): `via` stays
    bounded (root + last 31 names), `parent` links give back the whole path, the table elides."""
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parents[2] / "benchmarks" / "lockshapes.py"),
            "chain",
            "300",
            str(tmp_path / "chain"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    lock = str(tmp_path / "chain" / "uv.lock")
    doc = json.loads(run("scan", lock, "--offline", "--format", "json", "-t", "linux-x86_64").stdout)
    packages = {p["name"]: p for p in doc["targets"][0]["packages"]}
    deepest = packages["p00300"]
    assert deepest["depth"] == 300 and len(deepest["via"]) == 32 and deepest["via_omitted"] == 301 - 32
    assert deepest["via"][0] == "shape-root" and deepest["via"][-2:] == ["p00299", "p00300"]
    chain, name = [], "p00300"
    while name in packages:
        chain.append(name)
        name = packages[name]["parent"]
    assert name == "shape-root" and len(chain) == 300
    assert "via_omitted" not in packages["p00010"] and packages["p00010"]["via"][-1] == "p00010"
    table = run("scan", lock, "--offline", "--all", "-t", "linux-x86_64")
    row = next(line for line in table.stdout.splitlines() if "p00300" in line)
    assert "more" in row and len(row) < 200
