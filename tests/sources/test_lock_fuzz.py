"""Property test: thousands of mutations of real fixture locks never produce a traceback — only a
clean parse or an InputError (and a clean parse then scans or fails with a DepauditError)."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depaudit.errors import DepauditError, InputError
from depaudit.scan import scan_lock
from depaudit.sources.uvlock import load_lock

from fixture_paths import LOCKS

SOURCES = [
    (LOCKS / "torch-2.8" / "uv.lock").read_text(),
    (LOCKS / "conflicts" / "uv.lock").read_text(),
    (LOCKS / "sources" / "uv.lock").read_text(),
    (LOCKS / "extras-dev" / "pylock.toml").read_text(),
    (LOCKS / "workspace-virtual-groups" / "uv.lock").read_text(),  # [manifest.dependency-groups], metadata
    (LOCKS / "torch-family" / "pylock.toml").read_text(),
]
VALUES = ["1", '"x"', "[]", "{}", "true", "-5", "1.5", '{ name = "torch" }', "[{ url = 3 }]", "\"extra == 'a'\""]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SOURCES))
    kind = draw(st.sampled_from(["truncate", "retype", "drop", "junk", "rename"]))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    lines = text.splitlines(keepends=True)
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "retype":
        line = lines[index]
        if "=" in line:
            key = line.split("=", 1)[0]
            lines[index] = f"{key}= {draw(st.sampled_from(VALUES))}\n"
    elif kind == "drop":
        count = draw(st.integers(1, 40))
        del lines[index : index + count]
    elif kind == "junk":
        junk = draw(st.binary(min_size=1, max_size=12)).decode("latin-1")
        lines.insert(index, junk)
    else:
        lines[index] = re.sub(
            r'name = "[^"]+"', f'name = "{draw(st.sampled_from(["ghost", "torch", "numpy"]))}"', lines[index]
        )
    return "".join(lines)


@pytest.mark.slow  # ~20 s: 2,000 mutated real locks through the parser and the scan
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_locks_never_traceback(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / ("pylock.toml" if "lock-version" in text else "uv.lock")
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    try:
        lock = load_lock(path)
    except InputError as exc:
        assert str(exc).startswith(str(path))
        return
    with contextlib.suppress(DepauditError):
        scan_lock(lock, offline=True, cache_dir=None)
