"""Which URLs a size look-up may fetch (`analysis.host_policy.url_problem`): every host form a lock can
write is a one-line reason or a host a resolver reads one way only."""

from __future__ import annotations

import pytest

from depaudit.analysis.host_policy import url_problem


@pytest.mark.parametrize(
    "host",
    [
        "pypi.org",
        "files.pythonhosted.org.",
        "EXAMPLE.com",
        "a_b.example",
        "xn--zca.example",
        "127.0.0.1",
        "127.0.0.1:8443",
        "[::1]",
        "[2001:db8::1]:443",
        "user:token@pypi.org",
        "x" * 63 + ".example",
    ],
)
def test_hosts_that_may_be_looked_up(host):
    assert url_problem(f"https://{host}/a-1.0-py3-none-any.whl") is None


@pytest.mark.parametrize(
    "host, reason",
    [
        ("0177.0.0.1", "numeric host"),
        ("127.1", "numeric host"),
        ("0x7f.0.0.1", "numeric host"),
        ("2130706433", "numeric host"),
        ("256.1.1.1", "numeric host"),
        ("1.2.3.04", "numeric host"),
        ("a..b", "empty label"),
        (".a", "empty label"),
        ("x" * 64 + ".example", "not a DNS label"),
        ("-a.example", "not a DNS label"),
        ("a-.example", "not a DNS label"),
        ("a!b.example", "not a DNS label"),
        ("a." * 127 + "com", "longer than 253"),
        ("[::1", "malformed"),
        ("[nope]", "malformed"),
    ],
)
def test_hosts_refused_in_one_line(host, reason):
    problem = url_problem(f"https://{host}/a-1.0-py3-none-any.whl")
    assert problem is not None and reason in problem and "\n" not in problem
