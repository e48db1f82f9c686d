"""Control characters from lock, package and file text never reach a terminal raw."""

from __future__ import annotations

import pytest

from depaudit.cli import main
from depaudit.render.escaping import escape_control, escape_lines


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("torch\x1b[2J", "torch\\x1b[2J"),
        ("a\rb", "a\\x0db"),
        ("bell\x07", "bell\\x07"),
        ("evil\u202enurt", "evil\\u202enurt"),
        ("tab\there", "tab\\x09here"),
        ("c1\x9b", "c1\\x9b"),
        ("naïve ünïcode 日本", "naïve ünïcode 日本"),
    ],
)
def test_escape_control(raw, shown):
    assert escape_control(raw) == shown


def test_escape_lines_keeps_newlines():
    assert escape_lines("one\x1b\ntwo") == "one\\x1b\ntwo"


def test_error_messages_are_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "Dockerfile.\x1b[31mred"
    (tmp_path / name).write_text("FROM x\nFROB y\n")
    with pytest.raises(SystemExit) as done:
        main(["lint", name])
    err = capsys.readouterr().err
    assert done.value.code == 3 and "\x1b" not in err and "Dockerfile.\\x1b[31mred:2: unknown instruction" in err
