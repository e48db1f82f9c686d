"""The scan report in markdown: every cell that comes from the lock stays in its column."""

from __future__ import annotations

import re
from pathlib import Path

from depaudit.model import Via
from depaudit.render.scan_markdown import render_markdown
from depaudit.scan import scan_lock

from fixture_paths import LOCKS

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def test_a_pipe_in_a_name_or_version_does_not_split_the_row(size_cache: Path) -> None:
    report = scan_lock(LOCKS / "torch-2.8" / "uv.lock", offline=True, cache_dir=size_cache, targets=["linux-x86_64"])
    target = report.targets[0]
    first = target.packages[0]
    # A lock is input (in CI, maybe from a pull request): names and versions are whatever it says.
    evil = first._replace(
        package=first.package._replace(name="evil|name", version="1|2"),
        path=Via("evil|name", first.path.parent),
    )
    report = report._replace(targets=(target._replace(packages=(evil, *target.packages[1:])),))
    text = render_markdown(report, top=None)
    rows = text.split("### linux-x86_64", 1)[1].split("\n\n", 2)[1].splitlines()
    assert rows[0] == "| package | version | size | accelerator | via |"
    assert all(len(UNESCAPED_PIPE.findall(row)) == 6 for row in rows), rows
    assert any(row.startswith("| `evil\\|name` | `1\\|2` |") for row in rows)
