"""Control characters from lock, package and file text never reach a terminal raw."""

from __future__ import annotations

import pytest

from depaudit.cli import main
from depaudit.render.escaping import escape_control, escape_lines

from fixture_paths import FIXTURES


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


CPU_LOCK = FIXTURES / "diff" / "cpu-index" / "after" / "uv.lock"
HOSTILE = "file[bold red]lock|x\\u001b[31m\\u202e"  # TOML escapes: ESC and RIGHT-TO-LEFT OVERRIDE


@pytest.fixture
def hostile_lock(tmp_path):
    """The CPU-index fixture lock with `filelock` renamed to a name carrying markup, a pipe, ESC and RLO
    (a hand-edited lock in a pull request)."""
    lock = tmp_path / "uv.lock"
    lock.write_text(CPU_LOCK.read_text(encoding="utf-8").replace('"filelock"', f'"{HOSTILE}"'), encoding="utf-8")
    return lock


@pytest.mark.parametrize(
    "command, fmt",
    [("diff", "table"), ("diff", "markdown"), ("scan", "table"), ("scan", "markdown")],
)
def test_package_names_from_a_lock_reach_no_terminal_raw(hostile_lock, capsys, command, fmt):
    locks = [str(CPU_LOCK), str(hostile_lock)] if command == "diff" else [str(hostile_lock)]
    with pytest.raises(SystemExit) as done:
        main([command, *locks, "--offline", "-t", "linux-x86_64", "--all", "-f", fmt])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "\x1b" not in out and "\u202e" not in out, out
    shown = [line for line in out.splitlines() if "\\x1b[31m" in line]
    assert shown and all("\\u202e" in line and "file[bold red]lock" in line for line in shown), out
    if (command, fmt) == ("diff", "markdown"):
        assert all("lock\\|x" in line for line in shown), out  # a pipe does not split the table row


@pytest.mark.parametrize(
    "text, shown",
    [
        ("https://user:tok@h.example/simple", "https://***@h.example/simple"),
        ("pip: git+https://ghp_abc@github.com/o/r@v1#egg=torch", "pip: git+https://***@github.com/o/r@v1#egg=torch"),
        ("see https://a:b@c and ssh://git@github.com:22/x", "see https://***@c and ssh://***@github.com:22/x"),
        ("https://h.example/pkg@1.0/x.whl", "https://h.example/pkg@1.0/x.whl"),  # an @ in the path is no userinfo
        ("mail me@example.com", "mail me@example.com"),
    ],
)
def test_userinfo_in_any_url_is_redacted(text, shown):
    from depaudit.render.escaping import redact_userinfo

    assert redact_userinfo(text) == shown


def test_escape_output_keeps_lines_and_tabs_only():
    from depaudit.render.escaping import escape_output

    text = '{"a": 1}\n\tx = 2\n'
    assert escape_output(text) is text
    assert escape_output("a\x1b[2Jb\r\n\u202ec\td\n") == "a\\x1b[2Jb\\x0d\n\\u202ec\td\n"
