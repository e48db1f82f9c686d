"""uv.lock wheel lists read by one regex before the TOML parser (sources/uvlock.py, `_parse_lifted`)
must give exactly what parsing the whole text gives: the same Lock, or the same error at the same
line. Checked on every real lock in the repository, the benchmark's generated shapes, hand-written
lines just outside the lifted form, and random edits of real wheel lines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depaudit.errors import InputError
from depaudit.names import canonical_name
from depaudit.sources import uvlock
from depaudit.sources.pylock import lock_from_pylock
from depaudit.sources.tomlparse import parse_toml

from fixture_paths import FIXTURES, LOCKS, TESTS

REPO = TESTS.parent
REAL_LOCKS = sorted({*FIXTURES.rglob("uv.lock"), *(REPO / "examples").rglob("uv.lock"), REPO / "uv.lock"})
PATH = Path("uv.lock")


def whole(text: str):
    """The reference: the whole text through the TOML parser, as before lifting existed."""
    data = parse_toml(text, PATH)
    if "lock-version" in data:
        return lock_from_pylock(data, PATH, text)
    return uvlock.lock_from_uvlock(data, PATH, text)


def outcome(parse, text: str):
    try:
        return "lock", parse(text)
    except InputError as exc:
        return "error", str(exc)


def assert_same(text: str) -> None:
    assert outcome(lambda t: uvlock.lock_from_text(t, PATH), text) == outcome(whole, text)


@pytest.mark.parametrize("path", REAL_LOCKS, ids=lambda p: str(p.relative_to(REPO)))
def test_real_locks_lift_and_parse_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if "\nwheels = [\n" in text:  # every lock with registry wheels takes the fast path
        assert uvlock._parse_lifted(text, PATH) is not None
    assert_same(text)


def _lockshapes():
    spec = importlib.util.spec_from_file_location("lockshapes", REPO / "benchmarks" / "lockshapes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lockshapes", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("shape", ["flat", "chain", "forks", "fanout"])
def test_generated_shapes_parse_the_same(shape: str) -> None:
    _, text = _lockshapes().render(shape, 300)
    assert uvlock._parse_lifted(text, PATH) is not None
    assert_same(text)


BASE = (LOCKS / "torch-2.8" / "uv.lock").read_text(encoding="utf-8")
LINE = BASE[BASE.index("wheels = [\n") + len("wheels = [\n") :].split("\n", 1)[0] + "\n"


def with_first_wheel_line(replacement: str) -> str:
    return BASE.replace(LINE, replacement, 1)


@pytest.mark.parametrize(
    "edit",
    [
        lambda line: line.replace("hash = ", "hash =  "),  # spacing uv never writes
        lambda line: line.replace(", size", ",\tsize"),
        lambda line: line.replace("sha256:", "sha256:\\u0041"),  # an escape: the text is not the value
        lambda line: line.replace("sha256:", "sha256:\t"),  # a tab inside a basic string is valid TOML
        lambda line: line.replace("size = ", "size = 0"),  # a leading zero is not TOML
        lambda line: line.replace("size = ", "size = 1_"),  # underscores are TOML
        lambda line: line.replace("size = ", "size = -"),
        lambda line: line.replace(".whl", ".whl?x=1"),
        lambda line: line.replace(".whl", ".whl#frag"),
        lambda line: line.replace("/torch-", "/torch%2D"),
        lambda line: line.replace("/torch-", "/a?b=/torch-"),  # basename stops at the query
        lambda line: line.replace(".whl", ".zip"),
        lambda line: line.replace("-cp", "_cp"),
        lambda line: line.replace(" }", ", zstd = { size = 1 } }"),
        lambda line: line.replace("{ url = ", '{ hash = "x", url = '),
        lambda line: line.replace('", hash', '"  , hash'),
        lambda line: line + '    { url = "https://x/a-1-py3-none-any.whl" },\n',
        lambda line: line.replace("\n", "\r\n"),
        lambda line: line.replace("url = ", "path = "),
        lambda line: '    { url = "" },\n',
        lambda line: line + "    # a comment\n",
    ],
)
def test_lines_outside_the_form_parse_the_same(edit) -> None:
    assert_same(with_first_wheel_line(edit(LINE)))


def test_wheel_lists_in_other_places_parse_the_same() -> None:
    block = "wheels = [\n" + LINE + "]\n"
    inside_string = BASE.replace("[[package]]\n", f'[[package]]\nnote = """\n{block}"""\n', 1)
    literal_closed_in_url = BASE.replace(
        "[[package]]\n", "[[package]]\nnote = '''\n" + block.replace(".whl", ".whl'''\"") + "\n", 1
    )
    extra_named_wheels = BASE + f"\n[package.optional-dependencies]\n{block}"  # of the last package
    twice = BASE.replace("wheels = [\n", block + "wheels = [\n", 1)
    crlf = BASE.replace("\n", "\r\n")
    in_metadata = BASE.replace("[package.metadata]\n", f"[package.metadata]\n{block}", 1)
    for text in (inside_string, literal_closed_in_url, extra_named_wheels, twice, crlf, in_metadata):
        assert text != BASE
        assert_same(text)
    assert uvlock._parse_lifted(inside_string, PATH) is None  # its block is not a package's wheels


ALPHABET = st.sampled_from([*list("\"\\'\t\n #?%/{},=-_.[]ü\x00\x7f"), "size = ", "hash = ", " }", ".whl", "'''"])


@pytest.mark.slow  # ~15 s: 500 edited real locks parsed twice
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(0, 10_000), st.integers(0, 200), st.lists(ALPHABET, min_size=1, max_size=4))
def test_random_edits_of_wheel_lines_parse_the_same(line_number: int, column: int, inserted: list[str]) -> None:
    lines = BASE.splitlines(keepends=True)
    wheel_lines = [i for i, line in enumerate(lines) if line.startswith("    { url = ")]
    index = wheel_lines[line_number % len(wheel_lines)]
    line = lines[index]
    at = column % len(line)
    lines[index] = line[:at] + "".join(inserted) + line[at:]
    assert_same("".join(lines))


@pytest.mark.parametrize(
    "path", [*REAL_LOCKS, *sorted(FIXTURES.rglob("pylock.toml"))], ids=lambda p: str(p.relative_to(REPO))
)
def test_each_package_knows_the_line_of_its_table(path: Path) -> None:
    """Findings point at `package.line`: the line of the package's `[[package]]` (`[[packages]]`) header."""
    text = path.read_text(encoding="utf-8")
    lock = uvlock.lock_from_text(text, path)
    lines = text.splitlines()
    header = "[[packages]]" if lock.format == "pylock.toml" else "[[package]]"
    packages = lock.packages[1:] if lock.format == "pylock.toml" else lock.packages  # pylock: a synthetic root first
    assert packages and all(lines[p.line - 1] == header for p in packages)
    for package in packages:  # the line after the header names this very package
        written = lines[package.line].removeprefix('name = "').removesuffix('"')
        assert canonical_name(written) == package.name


def test_lines_are_unknown_rather_than_wrong_when_headers_do_not_match_tables() -> None:
    text = BASE.replace("[[package]]\n", '[[package]]\nnote = """\n[[package]]\n"""\n', 1)
    assert all(p.line is None for p in uvlock.lock_from_text(text, PATH).packages)
