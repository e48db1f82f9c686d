"""depaudit.logs: records reach logging exactly when a handler could exist, and never import logging."""

from __future__ import annotations

import shutil
import subprocess
import sys

from childrun import cli_env, run_depaudit
from fixture_paths import LOCKS, SIZE_CACHE


def _child(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout + done.stderr


def test_without_logging_a_record_is_dropped_and_logging_stays_unloaded() -> None:
    out = _child(
        "import sys\n"
        "from depaudit.logs import get_logger\n"
        "get_logger('depaudit.x').info('hello %s', 1)\n"
        "print('logging' in sys.modules)\n"
    )
    assert out.strip() == "False"


def test_once_logging_is_configured_records_flow_with_their_arguments() -> None:
    out = _child(
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format='%(name)s %(levelname)s %(message)s')\n"
        "from depaudit.logs import get_logger\n"
        "log = get_logger('depaudit.x')\n"
        "log.info('hello %s', 1)\n"
        "log.debug('n=%d', 2)\n"
    )
    assert out.splitlines() == ["depaudit.x INFO hello 1", "depaudit.x DEBUG n=2"]


def _cache(tmp_path):
    target = tmp_path / "cache"
    shutil.copytree(SIZE_CACHE, target)
    return target


def test_verbose_still_shows_the_core_records(tmp_path) -> None:
    done = run_depaudit(
        "scan",
        str(LOCKS / "torch-2.8" / "uv.lock"),
        "--offline",
        "--cache-dir",
        str(SIZE_CACHE),
        "--verbose",
        "-o",
        str(tmp_path / "out.txt"),
        env=cli_env(),
    )
    assert done.returncode in (0, 1), done.stderr
    assert "depaudit: " in done.stderr and "silenced" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("depaudit: ")]
    assert any("not run" in line or "setting" in line or "settings file" in line for line in lines), lines
