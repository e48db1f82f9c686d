"""Which kind of input a file is, from its content, on real files of every kind (the fixtures were made
by uv, Poetry, PDM and by hand as their folders say). A name that says otherwise changes nothing."""

from __future__ import annotations

import pytest

from depaudit.sources.detect import detect_kind

from fixture_paths import FIXTURES, LOCKS, TESTS

REPO = TESTS.parent

CASES = [
    (LOCKS / "docling" / "uv.lock", "uv.lock"),
    (LOCKS / "workspace-virtual" / "uv.lock", "uv.lock"),
    (LOCKS / "torch-2.8" / "pylock.toml", "pylock.toml"),
    (FIXTURES / "inputs" / "poetry-cuda" / "poetry.lock", "poetry.lock"),
    (FIXTURES / "inputs" / "pdm-cuda" / "pdm.lock", "pdm.lock"),
    (FIXTURES / "inputs" / "poetry-cuda" / "pyproject.toml", "pyproject"),
    (FIXTURES / "inputs" / "requirements" / "torch-cuda.txt", "requirements"),
    (REPO / "docker" / "Dockerfile.onnxruntime", "dockerfile"),
]


@pytest.mark.parametrize(("path", "kind"), CASES, ids=[f"{p.parent.name}/{p.name}" for p, _ in CASES])
def test_each_kind_is_known_by_its_content(path, kind):
    text = path.read_text()
    assert detect_kind(path, text) == kind
    assert detect_kind("renamed.txt", text) == kind or kind == "requirements"
    assert detect_kind(path, "\ufeff" + text) == kind  # a byte-order mark changes nothing
