"""Reading pip requirements files: options with line numbers, continuations, comments, hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from depaudit.errors import InputError
from depaudit.sources.requirements import load_requirements, parse_requirements

TEXT = """\
# production requirements
-r base.txt
-c constraints.txt
--index-url=https://pypi.org/simple
--extra-index-url https://download.pytorch.org/whl/cpu
-fhttps://example.org/wheels/
--no-index
numpy>=1.26 ; python_version >= "3.11"   # arrays
torch==2.8.0+cpu \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
./vendor/lib
-e ./editable
"""


def test_options_and_requirements_with_lines() -> None:
    parsed = parse_requirements(TEXT, "req.txt")
    options = [(o.option, o.value, o.line) for o in parsed.lines if o.option]
    assert options == [
        ("--requirement", "base.txt", 2),
        ("--constraint", "constraints.txt", 3),
        ("--index-url", "https://pypi.org/simple", 4),
        ("--extra-index-url", "https://download.pytorch.org/whl/cpu", 5),
        ("--find-links", "https://example.org/wheels/", 6),
        ("--no-index", None, 7),
        ("--editable", "./editable", 13),
    ]
    reqs = {r.name: r for r in parsed.requirements}
    assert reqs["numpy"].marker == 'python_version >= "3.11"' and reqs["numpy"].line == 8
    torch = reqs["torch"]
    assert (torch.line, torch.end_line, torch.hashes, torch.pinned_version) == (
        9,
        11,
        ("sha256:aaaa", "sha256:bbbb"),
        "2.8.0+cpu",
    )
    assert [r.requirement for r in parsed.lines if r.name is None and r.option is None] == ["./vendor/lib"]


def test_invalid_requirement_names_line() -> None:
    with pytest.raises(InputError, match=r"^r.txt:3: invalid requirement"):
        parse_requirements("numpy\n\ntorch>=>2\n", "r.txt")


@pytest.mark.parametrize("line", ["torch ===", "torch==2.0 ; python_version >", "torch[ ==1"])
def test_invalid_requirement_is_one_line(line: str) -> None:
    """packaging's message carries the text and a caret on lines of their own: depaudit reports one line
    `path:line: what`."""
    with pytest.raises(InputError) as info:
        parse_requirements(f"numpy\n{line}\n", "r.txt")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"r.txt:2: invalid requirement {line!r}: "), message


def test_option_without_value() -> None:
    with pytest.raises(InputError, match=r"^r.txt:1: --extra-index-url needs a value"):
        parse_requirements("--extra-index-url\n", "r.txt")


def test_load_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_requirements(tmp_path / "requirements.txt")
