"""Golden diffs of `depaudit fix` planning on real-world-shaped pyproject files.

Each case names what the lock would say (the torch-family packages installed and which list reaches a
transitive torch); the planner's unified diff must equal the golden file, the result must be valid TOML
that `parse_pyproject` accepts, and planning again on the result must change nothing.
Regenerate goldens: DEPAUDIT_UPDATE_GOLDEN=1 pytest tests/fixers/test_fix_golden.py
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from depaudit.errors import FixRefused
from depaudit.fixers.apply import unified_diff
from depaudit.fixers.pyproject import CpuIndexNeeds, plan_cpu_index_text, plan_runtime_swap_text
from depaudit.sources.pyproject import parse_pyproject

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
PROJECTS = ROOT / "projects"
GOLDEN = ROOT / "golden" / "fix"

CPU_CASES = {
    "comments": CpuIndexNeeds(("torch", "torchvision")),
    "inline-tables": CpuIndexNeeds(("torch",)),
    "existing-uv": CpuIndexNeeds(("torch", "torchaudio")),
    "workspace": CpuIndexNeeds(("torch",)),
    "groups": CpuIndexNeeds(("torch",)),
    "extras": CpuIndexNeeds(("torch", "torchvision")),
    "transitive": CpuIndexNeeds(
        ("torch",), ((("dependencies", None), "torch==2.8.0"), (("extra", "rerank"), "torch==2.8.0"))
    ),
    "partial": CpuIndexNeeds(("torch", "torchaudio")),
    "legacy-dev": CpuIndexNeeds(("torch",), ((("uv-dev", None), "torch==2.8.0"),)),
}
SWAP_CASES = {"comments": "onnxruntime", "extras": "tinygrad", "inline-tables": "tinygrad"}


def _check_golden(name: str, diff: str) -> None:
    golden = GOLDEN / f"{name}.diff"
    if os.environ.get("DEPAUDIT_UPDATE_GOLDEN"):
        golden.write_text(diff)
    assert golden.exists(), f"missing golden {golden}; run with DEPAUDIT_UPDATE_GOLDEN=1"
    assert diff == golden.read_text()


@pytest.mark.parametrize("name", sorted(CPU_CASES))
def test_cpu_index_golden(name: str) -> None:
    path = PROJECTS / name / "pyproject.toml"
    text = path.read_text()
    edit = plan_cpu_index_text(text, f"{name}/pyproject.toml", CPU_CASES[name])
    assert edit.changed and edit.summary
    _check_golden(f"cpu-index-{name}", unified_diff(edit))
    data = tomllib.loads(edit.after)
    index = next(i for i in data["tool"]["uv"]["index"] if "download.pytorch.org/whl/cpu" in i["url"])
    assert index["explicit"] is True
    for package in CPU_CASES[name].packages:
        assert data["tool"]["uv"]["sources"][package] == {"index": index["name"]}
    again = plan_cpu_index_text(edit.after, f"{name}/pyproject.toml", CPU_CASES[name])
    assert not again.changed, "a second run must change nothing"
    parse_pyproject(edit.after)


@pytest.mark.parametrize("name", sorted(SWAP_CASES))
def test_runtime_swap_golden(name: str) -> None:
    text = (PROJECTS / name / "pyproject.toml").read_text()
    runtime = SWAP_CASES[name]
    edit = plan_runtime_swap_text(text, f"{name}/pyproject.toml", runtime)
    _check_golden(f"{runtime}-{name}", unified_diff(edit))
    after = parse_pyproject(edit.after)
    runtime_names = {d.name for d in after.declared_in(("dependencies", None))}
    assert runtime in runtime_names
    assert not {"torch", "torchvision", "torchaudio"} & runtime_names
    before = parse_pyproject(text)
    moved = {d.name for d in before.declared_in(("dependencies", None))} & {"torch", "torchvision"}
    assert moved <= {d.name for d in after.declared_in(("group", "dev"))}
    assert not plan_runtime_swap_text(edit.after, "x", runtime).changed


def test_cuda_on_purpose_is_refused_without_force() -> None:
    text = (PROJECTS / "cuda-extras" / "pyproject.toml").read_text()
    with pytest.raises(FixRefused, match=r"pytorch-cu124.*--force"):
        plan_cpu_index_text(text, "cuda-extras/pyproject.toml", CpuIndexNeeds(("torch",)))


def test_cuda_on_purpose_with_force_golden() -> None:
    text = (PROJECTS / "cuda-extras" / "pyproject.toml").read_text()
    edit = plan_cpu_index_text(text, "cuda-extras/pyproject.toml", CpuIndexNeeds(("torch",)), force=True)
    _check_golden("cpu-index-cuda-extras-force", unified_diff(edit))
    data = tomllib.loads(edit.after)
    # Each extra keeps its own entry (the extras' structure stays), all on the CPU index; the CUDA index
    # no source uses any more is removed.
    assert data["tool"]["uv"]["sources"]["torch"] == [
        {"index": "pytorch-cpu", "extra": "cpu"},
        {"index": "pytorch-cpu", "extra": "cu124"},
    ]
    assert [i["name"] for i in data["tool"]["uv"]["index"]] == ["pytorch-cpu"]
    assert data["project"]["optional-dependencies"] == {"cpu": ["torch>=2.6"], "cu124": ["torch>=2.6"]}
    assert data["tool"]["uv"]["conflicts"] == [[{"extra": "cpu"}, {"extra": "cu124"}]]


def test_custom_index_url_and_existing_correct_config_is_left_alone() -> None:
    text = (PROJECTS / "comments" / "pyproject.toml").read_text()
    needs = CpuIndexNeeds(("torch", "torchvision"))
    url = "http://127.0.0.1:9/simple"
    edit = plan_cpu_index_text(text, "p", needs, index_url=url)
    assert tomllib.loads(edit.after)["tool"]["uv"]["index"][0]["url"] == url
    assert not plan_cpu_index_text(edit.after, "p", needs, index_url=url).changed


def test_marker_scoped_cpu_source_is_a_correct_config() -> None:
    # uv's guide: CPU index everywhere but macOS (PyPI's macOS wheels are CPU builds already).
    text = """[project]
name = "x"
dependencies = ["torch>=2.6"]

[tool.uv.sources]
torch = [{ index = "pytorch-cpu", marker = "sys_platform != 'darwin'" }]

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"""
    assert not plan_cpu_index_text(text, "p", CpuIndexNeeds(("torch",))).changed


@pytest.mark.parametrize(
    "marker, added",
    [
        ("platform_machine == 'x86_64'", "sys_platform == 'linux' and platform_machine == 'aarch64'"),
        (
            "sys_platform == 'linux' and platform_machine == 'aarch64'",
            "sys_platform == 'linux' and platform_machine == 'x86_64'",
        ),
        ("sys_platform == 'win32'", "sys_platform == 'linux'"),
    ],
)
def test_marker_scoped_cpu_source_is_extended_to_every_linux_arch(marker: str, added: str) -> None:
    """A CPU source scoped to x86_64 left linux-aarch64 on PyPI's CUDA torch while fix said "already fixed"."""
    text = f"""[project]
name = "x"
dependencies = ["torch>=2.6"]

[tool.uv.sources]
torch = {{ index = "pytorch-cpu", marker = "{marker}" }}

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"""
    edit = plan_cpu_index_text(text, "p", CpuIndexNeeds(("torch",)))
    assert tomllib.loads(edit.after)["tool"]["uv"]["sources"]["torch"] == [
        {"index": "pytorch-cpu", "marker": marker},
        {"index": "pytorch-cpu", "marker": added},
    ]
    assert any("extend the CPU source of torch to linux-" in s for s in edit.summary)
    assert not plan_cpu_index_text(edit.after, "p", CpuIndexNeeds(("torch",))).changed


def test_stale_lock_still_covers_directly_declared_torch() -> None:
    from depaudit.fixers.pyproject import needs_from_reach

    project = parse_pyproject('[project]\nname = "x"\ndependencies = ["torchvision"]\n')
    assert needs_from_reach(project, []).packages == ("torchvision",)
