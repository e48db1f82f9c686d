"""The Dockerfile parser: lines, continuations, directives, comments, forms, flags, stages, build args,
heredocs, command splitting with file offsets; and bad input as InputError (never anything else)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depaudit.errors import InputError
from depaudit.sources.dockerfile import MAX_EXPANDED, expand, parse_dockerfile, read_dockerfile

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dockerfiles"
ALL_FIXTURES = sorted(FIXTURES.rglob("*Dockerfile"))


def test_instructions_lines_and_continuations():
    text = (
        "# syntax=docker/dockerfile:1\n"
        "FROM python:3.11-slim\n"
        "RUN apt-get update \\\n"
        "    # a comment inside the continuation\n"
        "\n"
        " && apt-get install -y curl \\  \n"
        " && rm -rf /var/lib/apt/lists/*\n"
        'CMD ["python", "-m", "app"]\n'
    )
    df = parse_dockerfile(text)
    run = df.instructions[1]
    assert [(i.keyword, i.line, i.end_line) for i in df.instructions] == [("FROM", 2, 2), ("RUN", 3, 7), ("CMD", 8, 8)]
    assert "# a comment" not in run.arguments and "apt-get install -y curl" in run.arguments
    assert run.comments == ("# a comment inside the continuation",)
    assert [c.argv for c in run.commands()] == [
        ("apt-get", "update"),
        ("apt-get", "install", "-y", "curl"),
        ("rm", "-rf", "/var/lib/apt/lists/*"),
    ]
    assert df.instructions[2].exec_form == ("python", "-m", "app")
    assert text[run.start : run.end].startswith("RUN") and text[run.start : run.end].endswith("lists/*")


def test_token_offsets_point_at_the_raw_text():
    text = "FROM x\nRUN  FOO=1 pip  install \\\n  'torch==2.1' && echo \"a b\"\n"
    df = parse_dockerfile(text)
    cmds = df.instructions[1].commands()
    assert cmds[0].env == {"FOO": "1"}
    assert [text[t.start : t.end] for t in cmds[0].words] == ["pip", "install", "'torch==2.1'"]
    assert cmds[1].argv == ("echo", "a b")
    assert text[cmds[1].words[1].start : cmds[1].words[1].end] == '"a b"'


def test_escape_directive_backtick():
    text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN dir C:\\ `\n  && echo done\n"
    df = parse_dockerfile(text)
    assert df.escape == "`"
    assert df.instructions[1].end_line == 4
    assert df.instructions[1].arguments.startswith("dir C:\\")


def test_directive_after_a_comment_is_just_a_comment():
    df = parse_dockerfile("# hello\n# escape=`\nFROM x\n")
    assert df.escape == "\\"


def test_flags_stages_and_references():
    text = (
        "ARG BASE=python:3.11-slim\nARG TAG\n"
        "FROM --platform=linux/amd64 ${BASE} AS Builder\n"
        "RUN --network=host pip install x\n"
        "FROM builder AS test\n"
        "FROM ${BASE:-debian}\n"
        "COPY --from=builder --chown=app:app /opt/venv /opt/venv\n"
        "COPY --from=0 /a /b\n"
    )
    df = parse_dockerfile(text)
    assert [(s.name, s.base, s.parent, s.line) for s in df.stages] == [
        ("builder", "python:3.11-slim", None, 3),
        ("test", "builder", 0, 5),
        (None, "python:3.11-slim", None, 6),
    ]
    assert df.instructions[3].flag("network") == "host"
    copy = df.instructions[6]
    assert copy.flag("from") == "builder" and copy.flag("chown") == "app:app" and copy.flag("link") is None
    assert df.stage_named("builder").index == 0 and df.stage_named("0").index == 0
    assert df.stage_named("python:3.11") is None
    assert dict(df.global_args) == {"BASE": "python:3.11-slim", "TAG": None}


def test_build_args_override_defaults():
    df = parse_dockerfile("ARG BASE=python:3.11-slim\nFROM $BASE\n", build_args={"BASE": "debian:12"})
    assert df.stages[0].base == "debian:12"


@pytest.mark.parametrize(
    "value, env, expected",
    [
        ("${A}", {"A": "x"}, "x"),
        ("$A/b", {"A": "x"}, "x/b"),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A:+alt}", {"A": "x"}, "alt"),
        ("${A:+alt}", {}, ""),
        ("${A}", {}, None),
        ("${A}", {"A": None}, None),
        ("plain", {}, "plain"),
    ],
)
def test_expand(value, env, expected):
    assert expand(value, env) == expected


def test_heredoc_run_is_split_into_commands():
    text = "FROM x\nRUN <<EOF\npip install numpy\nuv pip install torch\nEOF\nUSER 1\n"
    df = parse_dockerfile(text)
    run = df.instructions[1]
    assert (run.line, run.end_line) == (2, 5)
    argvs = [c.argv for c in run.commands()]
    assert ("pip", "install", "numpy") in argvs and ("uv", "pip", "install", "torch") in argvs
    assert df.instructions[2].keyword == "USER" and df.instructions[2].line == 6


def test_comment_block_above_is_kept_and_blank_line_resets_it():
    df = parse_dockerfile("FROM x\n# far\n\n# near\nRUN true\n")
    assert df.instructions[1].comments == ("# near",)


def test_crlf_line_endings():
    df = parse_dockerfile("FROM x\r\nRUN a \\\r\n  && b\r\nUSER 1\r\n")
    assert [c.argv for c in df.instructions[1].commands()] == [("a",), ("b",)]
    assert df.instructions[2].line == 4


def test_env_and_arg_words():
    df = parse_dockerfile('FROM x\nENV A="a b" C=d\nARG E=1 F\n')
    assert [w.value for w in df.instructions[1].words] == ["A=a b", "C=d"]
    assert [w.value for w in df.instructions[2].words] == ["E=1", "F"]


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("", "empty Dockerfile", None),
        ("# only a comment\n\n", "empty Dockerfile", None),
        ("RUN echo\n", "RUN before the first FROM", 1),
        ("ARG A=1\n", "no FROM instruction", None),
        ("FROM x\nFROB y\n", "unknown instruction 'FROB'", 2),
        ('FROM x\n{"a": 1}\n', "not an instruction", 2),
        ("FROM x\nRUN <<EOF\necho\n", "heredoc <<EOF is never closed", 2),
        ("# escape=x\nFROM x\n", "invalid escape character", 1),
        ("FROM\n", "FROM needs an image", 1),
        ("FROM a b c d\n", "FROM takes", 1),
        ("FROM x\nRUN a\x00b\n", "NUL", 2),
    ],
)
def test_invalid_dockerfiles_raise_input_error(text, message, line):
    with pytest.raises(InputError) as err:
        parse_dockerfile(text, "df")
    assert message in err.value.what
    assert err.value.line == line
    assert str(err.value).startswith("df")


def test_unreadable_inputs(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        read_dockerfile(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_dockerfile(tmp_path / "missing")
    bad = tmp_path / "Dockerfile"
    bad.write_bytes(b"FROM x\nRUN echo \xff\xfe\n")
    with pytest.raises(InputError) as err:
        read_dockerfile(bad)
    assert err.value.line == 2 and "UTF-8" in err.value.what
    empty = tmp_path / "Empty.Dockerfile"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_dockerfile(empty)


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root reads files regardless of mode bits")
def test_permission_denied(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM x\n")
    path.chmod(0)
    with pytest.raises(InputError, match="cannot read"):
        read_dockerfile(path)


def test_every_fixture_parses():
    assert len(ALL_FIXTURES) >= 15
    for path in ALL_FIXTURES:
        df = read_dockerfile(path)
        assert df.stages and df.instructions


_MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "dup_line", "drop_line"]),
        st.integers(min_value=0, max_value=10_000),
        st.binary(min_size=0, max_size=6)
        | st.sampled_from(
            [
                b"\\",
                b"\\\n",
                b"`",
                b"<<EOF",
                b"\n",
                b"#",
                b"'",
                b'"',
                b"${",
                b"[",
                b"&&",
                b"--from=",
                b"\r",
                b"# escape=`\n",
                b"FROM",
                b" AS ",
                b"\x00",
                b"\xff",
            ]
        ),
    ),
    min_size=1,
    max_size=6,
)


def _mutate(data: bytes, mutations) -> bytes:
    for kind, pos, chunk in mutations:
        pos = pos % (len(data) + 1)
        if kind == "insert":
            data = data[:pos] + chunk + data[pos:]
        elif kind == "delete":
            data = data[:pos] + data[pos + len(chunk) + 1 :]
        elif kind == "replace":
            data = data[:pos] + chunk + data[pos + len(chunk) :]
        else:
            lines = data.split(b"\n")
            i = pos % len(lines)
            lines[i : i + 1] = [lines[i], lines[i]] if kind == "dup_line" else []
            data = b"\n".join(lines)
    return data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_FIXTURES), _MUTATIONS)
def test_mutated_fixtures_parse_or_raise_input_error(tmp_path_factory, path, mutations):
    """Random byte/line mutations never crash the parser, the rules or the fixer with anything but
    InputError."""
    from depaudit.fixers.dockerfile import plan_dockerfile_fix
    from depaudit.lint import lint_dockerfile

    target = tmp_path_factory.mktemp("mut") / "Dockerfile"
    target.write_bytes(_mutate(path.read_bytes(), mutations))
    try:
        lint_dockerfile(target)
        text = target.read_bytes().decode("utf-8")
    except InputError:
        return
    edit = plan_dockerfile_fix(target, text)
    again = plan_dockerfile_fix(target, edit.after)
    assert again.after == edit.after  # idempotent even on odd input


def test_expansion_is_bounded():
    # `ARG X=${X}${X}` forty times doubles X to 2^40 characters: an expanded value over the cap is
    # unknown (None), and everything built from it stays unknown instead of growing.
    assert expand("${X}${X}", {"X": "a" * (MAX_EXPANDED // 2)}) == "a" * MAX_EXPANDED
    assert expand("${X}${X}x", {"X": "a" * (MAX_EXPANDED // 2)}) is None
    text = "ARG X=a\n" + "ARG X=${X}${X}\n" * 40 + "FROM python:3.11-slim$X\nENV Y=$X$X\nUSER app\n"
    df = parse_dockerfile(text)
    assert dict(df.global_args)["X"] is None and df.stages[0].base is None
