"""Reading pyproject.toml: dependency lists, uv indexes and sources, errors with path:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.errors import InputError
from depaudit.sources.pyproject import load_pyproject, parse_pyproject

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_lists_extras_groups_and_uv_tables() -> None:
    project = load_pyproject(FIXTURES / "projects" / "cuda-extras" / "pyproject.toml")
    assert project.name == "trainer"
    assert project.extras == ("cpu", "cu124")
    assert [(d.name, d.where) for d in project.declared] == [("torch", ("extra", "cpu")), ("torch", ("extra", "cu124"))]
    assert [(i.name, i.explicit, i.line) for i in project.indexes] == [
        ("pytorch-cpu", True, 22),
        ("pytorch-cu124", True, 27),
    ]
    assert [(s.package, s.index, dict(s.fields).get("extra"), s.line) for s in project.sources] == [
        ("torch", "pytorch-cpu", "cpu", 15),
        ("torch", "pytorch-cu124", "cu124", 15),
    ]


def test_groups_skip_include_group_and_record_lines() -> None:
    project = load_pyproject(FIXTURES / "projects" / "groups" / "pyproject.toml")
    assert [(d.name, d.where, d.line) for d in project.declared_in(("group", "export"))] == [
        ("torch", ("group", "export"), 8),
        ("onnx", ("group", "export"), 8),
    ]
    assert [d.name for d in project.declared_in(("group", "test"))] == ["pytest"]


def test_legacy_dev_dependencies_and_workspace() -> None:
    legacy = load_pyproject(FIXTURES / "projects" / "legacy-dev" / "pyproject.toml")
    assert legacy.has_uv_dev_dependencies and [d.name for d in legacy.declared_in(("uv-dev", None))] == [
        "pytest",
        "ruff",
    ]
    workspace = load_pyproject(FIXTURES / "locks" / "sources" / "pyproject.toml")
    assert workspace.workspace_members == ("packages/*",)
    assert workspace.sources_for("gitlib")[0].index is None


def test_invalid_toml_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\nversion = 1.0.0\n')
    with pytest.raises(InputError) as info:
        load_pyproject(path)
    assert str(info.value).startswith(f"{path}:3:") and "not valid TOML" in str(info.value)


def test_invalid_requirement_names_line() -> None:
    with pytest.raises(InputError, match=r"^p:4: invalid requirement 'torch>=>2'"):
        parse_pyproject('[project]\nname = "x"\ndependencies = [\n  "torch>=>2",\n]\n', "p")


def test_invalid_requirement_is_one_line() -> None:
    """packaging's multi-line message (the text, a caret under the error) becomes one `path:line: what`."""
    with pytest.raises(InputError) as info:
        parse_pyproject('[project]\nname = "x"\ndependencies = [\n  "torch ===",\n]\n', "p")
    message = str(info.value)
    assert "\n" not in message and message.startswith("p:4: invalid requirement 'torch ===': "), message


@pytest.mark.parametrize(
    "text, what",
    [
        ("[project]\ndependencies = 'torch'\n", "must be an array"),
        ("[tool.uv]\nsources = 3\n", "must be a table"),
        ("[[tool.uv.index]]\nname = 'x'\n", "needs a url"),
    ],
)
def test_ill_typed_tables(text: str, what: str) -> None:
    with pytest.raises(InputError, match=what):
        parse_pyproject(text, "p")


def test_missing_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_pyproject(tmp_path / "nope.toml")
    bad = tmp_path / "pyproject.toml"
    bad.write_bytes(b'[project]\nname = "\xff"\n')
    with pytest.raises(InputError, match=r":2: not UTF-8"):
        load_pyproject(bad)


# --- requirements read without packaging: the same name as packaging, or left to packaging ---

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from packaging.requirements import InvalidRequirement, Requirement  # noqa: E402
from packaging.utils import canonicalize_name as reference_name  # noqa: E402

from depaudit.sources.pyproject import _plain_requirement, canonicalize_name  # noqa: E402

PIECES = st.lists(
    st.sampled_from(
        [
            "torch",
            "Torch_Vision",
            "a.b-c",
            "x",
            "[",
            "]",
            "cpu",
            ",",
            "gpu",
            "==",
            ">=",
            "~=",
            "<",
            "!=",
            "2.8.0",
            "1",
            ".*",
            "+cpu",
            "rc1",
            " ",
            ";",
            "python_version",
            "'3.12'",
            "@",
            "https://x/y.whl",
            "(",
            ")",
            "===",
            "abc",
        ]
    ),
    max_size=9,
)


@settings(max_examples=3000, deadline=None)
@given(PIECES)
def test_plain_requirements_read_like_packaging(pieces):
    item = "".join(pieces)
    plain = _plain_requirement(item)
    if plain is None:
        return  # packaging reads it (or rejects it), as before
    try:
        expected = Requirement(item)
    except InvalidRequirement:
        raise AssertionError(f"{item!r} read as {plain!r} but packaging rejects it") from None
    assert canonicalize_name(plain) == reference_name(expected.name) and expected.marker is None


def test_plain_requirement_examples():
    assert _plain_requirement("torch==2.8.0") == "torch"
    assert _plain_requirement("docling[vlm,easyocr] >=2, <3") == "docling"
    assert _plain_requirement("torch ; sys_platform == 'linux'") is None
    assert _plain_requirement("six @ https://example.org/six.whl") is None
    assert _plain_requirement("torch==>2") is None
