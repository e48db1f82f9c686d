"""Property tests: for generated pyproject documents, fixing twice equals fixing once, the result is
valid TOML, and every section the fix does not own is byte-for-byte unchanged."""

from __future__ import annotations

import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depaudit.fixers.pyproject import CpuIndexNeeds, plan_cpu_index_text, plan_runtime_swap_text

NAMES = st.sampled_from(["numpy", "pillow", "httpx", "torch", "torchvision", "sentence-transformers", "fastapi"])
SPECS = st.sampled_from(["", ">=1", "==2.8.0", "<3,>=1.2", "~=0.4"])
COMMENT = st.sampled_from(["", "  # why", "\t# pinned", " #"])
QUOTE = st.sampled_from(['"', "'"])
KEY = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
OWNED = ("[project]", "[tool.uv]", "[tool.uv.sources]", "[[tool.uv.index]]", "[dependency-groups]")


@st.composite
def requirement_list(draw) -> str:
    items = draw(st.lists(st.tuples(NAMES, SPECS, QUOTE, COMMENT), max_size=5, unique_by=lambda t: t[0]))
    if draw(st.booleans()) or not items:
        return "[" + ", ".join(f"{q}{n}{s}{q}" for n, s, q, _ in items) + "]"
    lines = [f"    {q}{n}{s}{q},{c}" for n, s, q, c in items]
    return "[\n" + "\n".join(lines) + "\n]"


@st.composite
def other_section(draw) -> str:
    header = draw(
        st.sampled_from(
            ["[tool.ruff]", "[tool.pytest.ini_options]", "[build-system]", "[tool.black]", "[tool.hatch.build]"]
        )
    )
    keys = draw(st.lists(KEY, min_size=1, max_size=3, unique=True))
    values = draw(
        st.lists(
            st.sampled_from(["1", '"x"', "true", "[1, 2]", "'lit'", "{ a = 1 }"]),
            min_size=len(keys),
            max_size=len(keys),
        )
    )
    comment = draw(COMMENT)
    body = "\n".join(f"{k} = {v}{comment}" for k, v in zip(keys, values, strict=True))
    return f"{header}\n{body}\n"


@st.composite
def pyproject(draw) -> tuple[str, list[str]]:
    preamble = draw(st.sampled_from(["", "# service config\n", "# a\n# b\n\n"]))
    sections = [f'[project]\nname = "svc"\nversion = "0.1"\ndependencies = {draw(requirement_list())}\n']
    others = draw(st.lists(other_section(), max_size=3, unique_by=lambda s: s.split("\n")[0]))
    if draw(st.booleans()):
        sections.append("[tool.uv]\nmanaged = true\n")
    if draw(st.booleans()):
        sections.append(f"[dependency-groups]\ndev = {draw(requirement_list())}\n")
    sections += others
    order = draw(st.permutations(sections))
    return preamble + "\n".join(order), others


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pyproject(), st.sampled_from([("torch",), ("torch", "torchvision")]), st.booleans())
def test_cpu_index_fix_is_idempotent_and_local(doc, packages, promote) -> None:
    text, others = doc
    promotions = ((("dependencies", None), "torch==2.8.0"),) if promote else ()
    needs = CpuIndexNeeds(packages, promotions)
    once = plan_cpu_index_text(text, "pyproject.toml", needs).after
    twice = plan_cpu_index_text(once, "pyproject.toml", needs).after
    assert twice == once
    data = tomllib.loads(once)
    assert all(data["tool"]["uv"]["sources"][p] == {"index": "pytorch-cpu"} for p in packages)
    for section in others:
        assert section in once
    # Tables the fix adds are separated from their neighbours by a blank line.
    lines = once.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[") and i > 0 and line not in text.splitlines():
            assert lines[i - 1] == "", once


@settings(max_examples=80, deadline=None)
@given(pyproject(), st.sampled_from(["onnxruntime", "tinygrad"]))
def test_runtime_swap_is_idempotent_and_local(doc, runtime) -> None:
    text, others = doc
    once = plan_runtime_swap_text(text, "pyproject.toml", runtime).after
    assert plan_runtime_swap_text(once, "pyproject.toml", runtime).after == once
    data = tomllib.loads(once)
    assert runtime in data["project"]["dependencies"]
    for section in others:
        assert section in once
