"""Where a bench report is written and which files it has: images.json, images.md and the SVG charts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from depaudit.fileio import write_text
from reference_service.bench.render import charts, render_markdown

REPORT_FILES = ("images.md", "images.json")


def report_folder(output_dir: Path, overwrite: bool, now: float | None = None) -> Path:
    """Where this run's report goes: ``output_dir`` itself when it holds no bench report yet (or when
    ``overwrite``), else a new ``bench-<UTC time>`` folder inside it, so an earlier report is never replaced
    by accident."""
    if overwrite or not any((output_dir / name).exists() for name in REPORT_FILES):
        return output_dir
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    candidate, n = output_dir / f"bench-{stamp}", 1
    while candidate.exists():
        n += 1
        candidate = output_dir / f"bench-{stamp}-{n}"
    return candidate


def write_report(report: dict[str, Any], folder: Path) -> list[Path]:
    """images.json, the charts that have data and images.md into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    svgs = charts(report)
    for name, svg in svgs.items():
        write_text(folder / name, svg)
        written.append(folder / name)
    write_text(folder / "images.md", render_markdown(report, list(svgs)))
    return [*written, folder / "images.md"]
