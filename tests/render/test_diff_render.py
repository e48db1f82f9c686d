"""Rendering of `depaudit diff` (depaudit/render/diff.py): the JSON contract, the PR-comment
markdown and the terminal tables, from diffs built out of model objects."""

from __future__ import annotations

import json
from io import StringIO

from rich.console import Console

from depaudit.analysis.lockdiff import diff_reports
from depaudit.diff import DiffOutcome
from depaudit.model import InstalledPackage, Package, SizeReport, Source, TargetReport, Wheel
from depaudit.render.diff import MARKER, diff_json, diff_renderables, render_diff_markdown, signed_size
from depaudit.render.formats import RenderOptions
from depaudit.targets import make_target

LINUX, MAC = make_target("linux-x86_64"), make_target("macos-arm64")


def pkg(name: str, version: str, size: int | None, accelerator: str | None = None) -> InstalledPackage:
    package = Package(name, version, Source("registry", "https://pypi.org/simple"))
    return InstalledPackage(
        package, Wheel(f"{name}-{version}-py3-none-any.whl", None, size), (name,), accelerator=accelerator, size=size
    )


def sample():
    before = SizeReport(
        "origin/main:uv.lock",
        (
            TargetReport(
                LINUX,
                True,
                (
                    pkg("torch", "2.8.0", 888_063_640, "torch-cuda"),
                    pkg("nvidia-cudnn-cu12", "9.10", 706_800_000, "nvidia"),
                ),
            ),
            TargetReport(MAC, False, unsupported_reason="excluded by tool.uv.environments"),
        ),
    )
    after = SizeReport(
        "uv.lock",
        (
            TargetReport(LINUX, True, (pkg("torch", "2.8.0+cpu", None), pkg("numpy", "2.4.6", 16_900_000))),
            TargetReport(MAC, True, (pkg("numpy", "2.4.6", 5_500_000),)),
        ),
    )
    return diff_reports(before, after)


def test_json_contract_with_nulls_never_zero() -> None:
    doc = json.loads(diff_json(DiffOutcome(sample()), RenderOptions()))
    assert (
        doc["schema"] == 1
        and doc["python"] == "3.11"
        and (doc["base"], doc["head"]) == ("origin/main:uv.lock", "uv.lock")
    )
    linux, mac = doc["targets"]
    assert linux == {
        "target": "linux-x86_64",
        "before_bytes": 1_594_863_640,
        "after_bytes": 16_900_000,
        "delta_bytes": 16_900_000 - 1_594_863_640,
        "before_accelerator_bytes": 1_594_863_640,
        "after_accelerator_bytes": 0,
        "added": [{"name": "numpy", "version": "2.4.6", "size": 16_900_000, "accelerator": None}],
        "removed": [{"name": "nvidia-cudnn-cu12", "version": "9.10", "size": 706_800_000, "accelerator": "nvidia"}],
        "changed": [
            {
                "name": "torch",
                "before_version": "2.8.0",
                "after_version": "2.8.0+cpu",
                "before_size": 888_063_640,
                "after_size": None,
                "before_accelerator": "torch-cuda",
                "after_accelerator": None,
            }
        ],
        "before_unknown_size": [],
        "after_unknown_size": ["torch"],
        "before_builds": [],
        "after_builds": [],
        "before_not_installable": [],
        "after_not_installable": [],
        "exact": False,
        "new_accelerator_causes": [],
    }
    assert mac["before_bytes"] is None and mac["delta_bytes"] is None and mac["after_bytes"] == 5_500_000


def test_markdown_comment() -> None:
    text = render_diff_markdown(sample())
    lines = text.splitlines()
    assert lines[0] == "### depaudit diff: `origin/main:uv.lock` → `uv.lock`" and lines[-1] == MARKER
    assert "Python 3.11 · targets: linux-x86_64, macos-arm64 · download size" in lines
    assert "| linux-x86_64 | 1.6 GB | 16.9 MB | **-1.6 GB (inexact)** | 1.6 GB → 0 B |" in lines
    assert (
        "| macos-arm64 | not supported (`excluded by tool.uv.environments`) | 5.5 MB | **unknown** | n/a → 0 B |"
        in lines
    )
    assert "<details><summary>linux-x86_64: 1 added, 1 removed, 1 changed</summary>" in lines
    rows = [line for line in lines if line.startswith(("| + ", "| - ", "| ~ "))]
    assert rows[:2] == [
        "| - | `nvidia-cudnn-cu12` | `9.10` (706.8 MB) |  | -706.8 MB |",
        "| + | `numpy` |  | `2.4.6` (16.9 MB) | +16.9 MB |",
    ]
    assert "| ~ | `torch` | `2.8.0` (888.1 MB) | `2.8.0+cpu` (unknown) | unknown |" in rows
    assert "linux-x86_64: size unknown for after: `torch`; the totals leave these out" in text
    assert render_diff_markdown(sample(), top=1).count("| | … 2 more (`--all` shows every change) | | | |") == 1
    assert lines[2].startswith("No diff budget set") and "Largest change: **-1.6 GB (inexact)** on linux-x86_64" in text


def test_terminal_tables_and_signed_sizes() -> None:
    out = StringIO()
    console = Console(file=out, width=200, no_color=True)
    for item in diff_renderables(sample(), top=None):
        console.print(item)
    text = out.getvalue()
    assert (
        text.splitlines()[0]
        == "origin/main:uv.lock → uv.lock · Python 3.11 · targets: linux-x86_64, macos-arm64 · download size"
    )
    assert "linux-x86_64: package changes" in text and "nvidia-cudnn-cu12" in text and "-706.8 MB" in text
    assert [signed_size(v) for v in (None, 0, 1500, -2_000_000_000)] == ["unknown", "0 B", "+1.5 kB", "-2.0 GB"]
    assert signed_size(-(2**30), binary=True) == "-1.0 GiB"


def test_new_accelerator_is_flagged_in_the_row() -> None:
    before = SizeReport("a", (TargetReport(LINUX, True, (pkg("numpy", "2", 10),)),))
    after = SizeReport("b", (TargetReport(LINUX, True, (pkg("numpy", "2", 10), pkg("triton", "3", 5, "triton"))),))
    text = render_diff_markdown(diff_reports(before, after))
    assert "| + | `triton` [triton] |  | `3` (5 B) | +5 B |" in text
    assert "  - cause on linux-x86_64: `triton` brings 1 accelerator package, 5 B: `triton`" in text
