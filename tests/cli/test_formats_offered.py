"""Every command offers in its help exactly the formats its renderer table writes (render/formats.py), and
refuses another when the command line is read (exit 2), before any work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from depaudit.render.diff import DIFF_RENDERERS
from depaudit.render.fix import FIX_RENDERERS
from depaudit.render.formats import offered
from depaudit.render.gate import GATE_RENDERERS
from depaudit.render.image import COMPARE_RENDERERS, MEASURE_RENDERERS
from depaudit.render.lint import LINT_RENDERERS
from depaudit.render.port import PORT_RENDERERS
from depaudit.render.scan import SCAN_RENDERERS

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [
    (["scan"], SCAN_RENDERERS),
    (["lint"], LINT_RENDERERS),
    (["gate"], GATE_RENDERERS),
    (["diff"], DIFF_RENDERERS),
    (["image", "measure"], MEASURE_RENDERERS),
    (["image", "compare"], COMPARE_RENDERERS),
    (["port"], PORT_RENDERERS),
    (["fix"], FIX_RENDERERS),
]


def _depaudit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "240", "PYTHONPATH": str(REPO), "DEPAUDIT_FAST_PATH": "0"}
    return subprocess.run(
        [sys.executable, "-m", "depaudit", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize(("command", "table"), COMMANDS, ids=lambda c: " ".join(c) if isinstance(c, list) else "")
def test_help_offers_exactly_the_formats_written(command, table):
    help_text = _depaudit(*command, "--help").stdout
    match = re.search(r"--format\s+\[([a-z|]+)\]", help_text)
    assert match, help_text
    assert match.group(1).split("|") == [f.value for f in offered(table)]


def test_a_format_the_command_does_not_write_is_refused_at_once():
    refused = _depaudit("fix", "no-such-project", "--format", "sarif")
    assert refused.returncode == 2 and "reports no findings and writes table, json, markdown" in refused.stderr
    refused = _depaudit("image", "measure", "no:such", "--format", "gnu")
    assert refused.returncode == 2 and "reports no findings and writes table, json, markdown" in refused.stderr
