"""Golden-file comparison shared by the renderer tests: `DEPAUDIT_UPDATE_GOLDEN=1` rewrites the files."""

from __future__ import annotations

import os

from fixture_paths import FIXTURES

GOLDEN = FIXTURES / "golden"


def golden(name: str, text: str) -> None:
    """Assert `text` equals tests/fixtures/golden/NAME (or write it when DEPAUDIT_UPDATE_GOLDEN is set)."""
    path = GOLDEN / name
    if os.environ.get("DEPAUDIT_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()
