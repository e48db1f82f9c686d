"""Markdown that a pull-request comment can carry safely: every name, version, path and message from a lock is
a code span, so no HTML, link, image or @mention written into a lock comes through. Checked by rendering the
real outputs (scan, diff, gate of a real lock with hostile names) with a CommonMark + GFM-tables parser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from depaudit.render.markdown import code, code_cell

from childrun import run_depaudit
from fixture_paths import FIXTURES

BEFORE = FIXTURES / "diff" / "cpu-index" / "before" / "uv.lock"
HOSTILE = {  # what a pull request can write into a lock: names and versions with markup and mentions
    '"filelock"': '"<img src=x onerror=alert(1)>@octocat"',
    '"jinja2"': '"[click](https://evil.example)`x`|y"',
    '"2.13.0+cpu"': '"2.13.0+<b>cpu</b>"',
}


class _Text(HTMLParser):
    """Collects each text node with whether it sits inside <code>, and every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.texts, self.tags = 0, [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.depth += tag == "code"

    def handle_endtag(self, tag):
        self.depth -= tag == "code"

    def handle_data(self, data):
        self.texts.append((data, self.depth > 0))


def _html(markdown: str) -> _Text:
    parser = _Text()
    parser.feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return parser


@pytest.fixture
def hostile(tmp_path):
    text = (FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock").read_text()
    for old, new in HOSTILE.items():
        text = text.replace(old, new)
    (tmp_path / "uv.lock").write_text(text)
    return tmp_path / "uv.lock"


def _outputs(lock, tmp_path):
    common = ["--offline", "-t", "linux-x86_64", "-t", "macos-arm64", "--format", "markdown"]
    yield run_depaudit("scan", str(lock), *common, "--all", "--max-download", "1MB", cwd=tmp_path).stdout
    yield run_depaudit("diff", str(BEFORE), str(lock), *common, "--all", "--max-increase", "1", cwd=tmp_path).stdout
    yield run_depaudit("diff", str(lock), str(BEFORE), *common, "--fail-on-new-accelerator", cwd=tmp_path).stdout
    yield run_depaudit("gate", "--lock", str(lock), "--max-download", "1MB", *common, cwd=tmp_path).stdout


def test_nothing_from_a_lock_renders_as_markup(hostile, tmp_path):
    outputs = list(_outputs(hostile, tmp_path))
    shown = [m for m in outputs if "octocat" in m and "evil-example" in m]  # names (PEP 503 form) shown...
    assert len(shown) >= 3, outputs  # scan and both diffs list every package; gate only its biggest
    for markdown in outputs:
        html = _html(markdown)
        assert not {"img", "a", "b"} & set(html.tags), (html.tags, markdown)  # ...but no tag is made of them
        for text, in_code in html.texts:
            if re.search(r"@octocat|evil-example|onerror|<b>", text):
                assert in_code, (text, markdown)  # an @mention or URL outside code would be live on GitHub


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("torch", "`torch`"),
        ("a`b", "``a`b``"),
        ("`edge", "`` `edge ``"),
        ("x``y", "```x``y```"),
        ("", ""),
        ("esc\x1b[2J", "`esc\\x1b[2J`"),
    ],
)
def test_code_spans(text, span):
    assert code(text) == span
    assert code_cell("a|b") == "`a\\|b`"
