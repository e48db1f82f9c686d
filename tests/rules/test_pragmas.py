"""The one pragma grammar (depaudit.rules.pragmas): parsing, and what a pragma covers."""

from __future__ import annotations

import pytest

from depaudit.rules.pragmas import parse_pragmas, pragma_ids


@pytest.mark.parametrize(
    "line, expected",
    [
        ("RUN x  # depaudit: ignore=DA302", ("ignore", {"DA302"})),
        ("# depaudit: ignore=DA201 DA202", ("ignore", {"DA201", "DA202"})),
        ("# depaudit: ignore=DA201,DA202", ("ignore", {"DA201", "DA202"})),
        ("#depaudit:ignore = da201 , DA202 GPU build on purpose", ("ignore", {"DA201", "DA202"})),
        ("# depaudit: ignore-file=DA301", ("ignore-file", {"DA301"})),
        ("# DEPAUDIT: IGNORE=DA104", ("ignore", {"DA104"})),
        ("# depaudit: ignore=DA302 reason mentions DA303", ("ignore", {"DA302"})),  # IDs after the reason are prose
        ("RUN echo \"x\" 'y'  # depaudit: ignore=DA302", ("ignore", {"DA302"})),  # quotes closed before the comment
        ('torch ; python_version < "3.12"  # depaudit: ignore=DA202', ("ignore", {"DA202"})),
        ("  # note # depaudit: ignore=DA304", ("ignore", {"DA304"})),
    ],
)
def test_pragma_ids(line, expected):
    kind, ids = pragma_ids(line)
    assert (kind, set(ids)) == expected


@pytest.mark.parametrize(
    "line",
    [
        "# depaudit ignore=DA302",
        "# depaudit: ignore=E501",
        "torch  # noqa",
        "# depaudit: ignore=",
        "# depaudit: skip=DA302",
        # inside a quoted string, not a comment: text a build writes must not silence a rule
        'RUN echo "# depaudit: ignore=DA302" && pip install torch',
        "ENV NOTE='# depaudit: ignore=DA309' API_TOKEN=abc",
        'description = "see # depaudit: ignore=DA202"',
        'RUN echo "a \\" # depaudit: ignore=DA302"',
        # a `#` glued to a word starts no comment (shell, pip)
        "RUN pip install torch#depaudit:ignore=DA302",
    ],
)
def test_not_a_pragma(line):
    assert pragma_ids(line) is None


def test_same_line_line_above_and_statement_span():
    text = "\n".join(
        [
            "a",  # 1
            "# depaudit: ignore=DA201 DA202",  # 2  comment block above line 4
            "# another comment",  # 3
            "b",  # 4
            "",  # 5  a blank line ends a comment block
            "# depaudit: ignore=DA303",  # 6
            "",  # 7
            "c \\",  # 8  statement 8..9
            "  d  # depaudit: ignore=DA304",  # 9
        ]
    )
    pragmas = parse_pragmas(text)
    assert pragmas.suppresses("DA201", 4) and pragmas.suppresses("DA202", 4)
    assert not pragmas.suppresses("DA203", 4)
    assert not pragmas.suppresses("DA201", 1)
    assert not pragmas.suppresses("DA303", 8, 9)  # not directly above: a blank line between
    assert pragmas.suppresses("DA304", 8, 9) and not pragmas.suppresses("DA304", 8)
    assert not pragmas.suppresses("DA201", None)


def test_whole_file_pragma_covers_findings_without_a_line():
    pragmas = parse_pragmas("x = 1\n# depaudit: ignore-file=DA101 DA102\n")
    assert pragmas.suppresses("DA101", None) and pragmas.suppresses("DA102", 1) and not pragmas.suppresses("DA103", 1)


def test_a_pragma_in_a_string_silences_nothing(lint_text):
    text = 'FROM python:3.11-slim\nRUN echo "# depaudit: ignore=DA302" && pip install --no-cache-dir torch\nUSER app\n'
    assert lint_text(text, rule="DA302") == [(2, "DA302")]
