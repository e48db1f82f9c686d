"""uv itself is the reference for what installs.

For every fixture lock and every selection option, `uv export --frozen --no-default-groups
--format pylock.toml` (uv is a dev tool of this project; the export reads only the lock) says which
packages `uv sync` would install, each with the marker under which it does. Those markers are
evaluated per target with `packaging.markers`; depaudit's package set and versions must be equal.
A selection uv refuses (unknown member or group, conflicting extras) must be refused by depaudit too.

The same exports are then scanned as pylock.toml files: package set, chosen wheel, size and label
must equal the scan of the uv.lock they came from.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker

from depaudit.errors import UsageError
from depaudit.model import Selection
from depaudit.names import canonical_name
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock
from depaudit.targets import make_target, python_from_requires

from fixture_paths import LOCKS

TARGETS = (
    "linux-x86_64",
    "linux-aarch64",
    "macos-arm64",
    "windows-amd64",
    "x86_64-unknown-linux-musl",
    "aarch64-pc-windows-msvc",
    "x86_64-apple-darwin",
)
COMMON = ([], ["--all-extras"], ["--all-groups"], ["--all-extras", "--all-groups"])
SELECTIONS: dict[str, list[list[str]]] = {
    "torch-2.8": [*COMMON],
    "torch-2.8-sizes": [[]],
    "torch-default": [*COMMON],
    "transitive-torch": [*COMMON],
    "environments": [*COMMON],
    "docling": [[], ["--all-extras"]],
    "extras-dev": [
        *COMMON,
        ["--extra", "onnx"],
        ["--extra", "gpu"],
        ["--group", "dev"],
        ["--group", "lint"],
        ["--dev"],
        ["--extra", "onnx", "--group", "lint"],
        ["--extra", "nope"],
        ["--group", "nope"],
    ],
    "conflicts": [
        [],
        ["--extra", "np1"],
        ["--extra", "np2"],
        ["--extra", "torch28"],
        ["--extra", "torchnew"],
        ["--group", "img-old"],
        ["--group", "img-new"],
        ["--extra", "np1", "--group", "img-new"],
        ["--extra", "np1", "--extra", "np2"],
    ],
    "sources": [[], ["--package", "hdr-core"], ["--package", "hdr-scripts"], ["--all-packages"], ["--package", "nope"]],
    "workspace-virtual": [
        [],
        ["--package", "hdr-worker"],
        ["--package", "hdr-api"],
        ["--all-packages"],
        ["--group", "dev"],
        ["--package", "hdr-api", "--group", "dev"],
        ["--package", "hdr-worker", "--group", "dev"],
    ],
    "workspace-root-package": [
        [],
        ["--package", "hdr-full"],
        ["--package", "hdr-cli"],
        ["--package", "hdr-core"],
        ["--package", "hdr-full", "--extra", "vision"],
        ["--package", "hdr-full", "--package", "hdr-cli"],
        ["--all-packages"],
        ["--all-packages", "--all-extras"],
        ["--all-packages", "--all-groups"],
        ["--group", "dev"],
        ["--extra", "fast"],
        ["--package", "hdr-full", "--group", "dev"],
        ["--package", "hdr-full", "--group", "test"],
        ["--group", "test"],
        ["--extra", "vision"],
        ["--package", "hdr-full", "--package", "hdr-cli", "--group", "dev"],
        ["--all-packages", "--group", "test"],
    ],
    "workspace-virtual-groups": [
        [],
        ["--group", "lint"],
        ["--package", "score", "--group", "lint"],
        ["--package", "ingest", "--group", "lint"],
        ["--package", "ingest", "--group", "dev"],
        ["--group", "dev"],
        ["--package", "score", "--extra", "gpu"],
        ["--extra", "cpu"],
        ["--package", "ingest", "--extra", "images"],
        ["--extra", "images", "--extra", "cpu"],
        ["--all-groups"],
        ["--all-packages", "--all-extras"],
        ["--extra", "cpu", "--extra", "gpu"],
    ],
    "platforms": [[]],
    "torch-family": [[]],
    "jax-cuda-plugin": [[]],
    "torch-no-nvidia-edges": [[]],
    "torch-1.12": [[]],
    "torch-beside-ort-gpu": [[]],
    **{f"revisions/{lock.name}": [[]] for lock in sorted((LOCKS / "revisions").glob("uv-*.lock"))},
}
CASES = [(name, args) for name, selections in SELECTIONS.items() for args in selections]
REFUSED = {  # selections uv refuses; the first test checks that uv does and depaudit does too
    ("extras-dev", "--extra nope"),
    ("extras-dev", "--group nope"),
    ("conflicts", "--extra np1 --extra np2"),
    ("sources", "--package nope"),
    ("workspace-virtual", "--package hdr-api --group dev"),
    ("workspace-root-package", "--group test"),
    ("workspace-root-package", "--extra vision"),
    ("workspace-root-package", "--package hdr-full --package hdr-cli --group dev"),
    ("workspace-virtual-groups", "--package ingest --group dev"),
    ("workspace-virtual-groups", "--all-packages --all-extras"),
    ("workspace-virtual-groups", "--extra cpu --extra gpu"),
}


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        pytest.fail("uv is not installed: it is a dev dependency of this project (pip install --group dev)")
    return found


def selection_of(args: list[str]) -> Selection:
    values: dict[str, list[str]] = {"--package": [], "--extra": [], "--group": []}
    flags = set()
    it = iter(args)
    for arg in it:
        if arg in values:
            values[arg].append(next(it))
        else:
            flags.add(arg)
    groups = values["--group"] + (["dev"] if "--dev" in flags else [])
    return Selection(
        extras=tuple(values["--extra"]),
        all_extras="--all-extras" in flags,
        groups=tuple(groups),
        packages=tuple(values["--package"]),
        all_packages="--all-packages" in flags,
        all_groups="--all-groups" in flags,
    )


def export(project: Path, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    out = tmp_path / "pylock.toml"
    uv_args = [x for a in args for x in (["--group", "dev"] if a == "--dev" else [a])]
    return subprocess.run(
        [
            uv(),
            "export",
            "--frozen",
            "--no-default-groups",
            "--format",
            "pylock.toml",
            "--quiet",
            "--project",
            str(project),
            "-o",
            str(out),
            *uv_args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def project_for(fixture: str, tmp_path: Path) -> Path:
    """The fixture's project folder; a lock of `revisions/` is copied beside its pyproject.toml as
    uv.lock (uv reads only that name)."""
    if not fixture.startswith("revisions/"):
        return LOCKS / fixture
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(LOCKS / "revisions" / "pyproject.toml", project / "pyproject.toml")
    shutil.copy(LOCKS / fixture, project / "uv.lock")
    return project


def uv_installs(pylock: dict, env: dict[str, str]) -> dict[str, str | None]:
    out = {}
    for entry in pylock["packages"]:
        marker = entry.get("marker")
        if marker is None or Marker(marker).evaluate(env):
            out[canonical_name(entry["name"])] = entry.get("version")
    return out


@pytest.mark.parametrize("fixture,args", CASES, ids=[f"{n}:{' '.join(a) or 'default'}" for n, a in CASES])
def test_install_set_equals_uv_export(fixture, args, tmp_path):
    project = project_for(fixture, tmp_path)
    lock = load_lock(project / "uv.lock")
    proc = export(project, args, tmp_path)
    selection = selection_of(args)
    assert (proc.returncode != 0) == ((fixture, " ".join(args)) in REFUSED), proc.stderr
    if proc.returncode != 0:  # uv refuses the selection: so must depaudit (exit 2)
        assert proc.returncode == 2, proc.stderr
        with pytest.raises(UsageError):
            scan_lock(lock, targets=["linux-x86_64"], selection=selection, offline=True, cache_dir=None)
        return
    exported = tomllib.loads((tmp_path / "pylock.toml").read_text())
    pythons = sorted({python_from_requires(lock.requires_python), "3.12", "3.13"})
    for python in pythons:
        report = scan_lock(
            lock, targets=list(TARGETS), python=python, selection=selection, offline=True, cache_dir=None
        )
        for target in report.targets:
            expected = uv_installs(exported, make_target(target.target.name, python).marker_environment)
            if not target.supported:
                assert (
                    "supported-markers" in target.unsupported_reason or "requires-python" in target.unsupported_reason
                )
                continue
            ours = {p.name: p.package.version for p in target.packages if p.package.source.kind != "virtual"}
            members = {lock.packages[lock.index.by_name[m][0]] for m in report.scope.packages}
            ours.update({m.name: m.version for m in members if m.source.kind != "virtual"})
            where = f"{fixture} {' '.join(args)} {target.target.name} py{python}"
            assert set(ours) == set(expected), (where, sorted(set(ours) ^ set(expected)))
            for name, version in expected.items():
                if version is not None:  # pylock omits the version of directory/VCS entries
                    assert ours[name] == version, (where, name)


def comparable(report, members: set[str]):
    """Per target: (supported, {(name, version, wheel, size, label, label basis, install kind)}).
    pylock.toml records no version for a local directory (uv omits it), so those versions are left out on
    both sides, and no workspace: a member there is a local path, as it is installed."""
    out = {}
    for target in report.targets:
        out[target.target.name] = (
            target.supported,
            {
                (
                    p.name,
                    None if p.package.source.kind in ("directory", "editable") else p.package.version,
                    p.wheel.filename if p.wheel else None,
                    p.size,
                    p.accelerator,
                    p.accelerator_basis,
                    "local" if p.install_kind == "workspace" else p.install_kind,
                )
                for p in target.packages
                if p.name not in members
            },
        )
    return out


PYLOCK_CASES = [(n, a) for n, a in CASES if (n, " ".join(a)) not in REFUSED]


@pytest.mark.parametrize("fixture,args", PYLOCK_CASES, ids=[f"{n}:{' '.join(a) or 'default'}" for n, a in PYLOCK_CASES])
def test_pylock_export_scans_like_its_uv_lock(fixture, args, tmp_path, size_cache):
    project = project_for(fixture, tmp_path)
    proc = export(project, args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    lock_report = scan_lock(
        project / "uv.lock", targets=list(TARGETS), selection=selection_of(args), offline=True, cache_dir=size_cache
    )
    pylock_report = scan_lock(
        tmp_path / "pylock.toml",
        targets=list(TARGETS),
        offline=True,
        cache_dir=size_cache,
        python=lock_report.targets[0].target.python,
    )
    members = set(lock_report.scope.packages)  # the project itself: a root in uv.lock, an entry in pylock
    assert comparable(pylock_report, members) == comparable(lock_report, members)
