"""depaudit's own marker and PEP 440 evaluation must agree with `packaging` (the reference).

Differential: every marker of every fixture lock on every target and Python, then generated markers,
versions and specifiers (hypothesis). A disagreement is a bug in depaudit.analysis.{markers,versions}.
"""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.specifiers import InvalidSpecifier as PInvalidSpecifier
from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version as PVersion

from depaudit.analysis.markers import MarkerError, MarkerEvaluator, _Parser, _Unsupported, compile_marker
from depaudit.targets import make_target
from depaudit.versions import InvalidSpecifier, holds, parse_specifier, specifier_set_contains

from fixture_paths import LOCKS

TARGETS = [
    "linux-x86_64",
    "linux-aarch64",
    "macos-arm64",
    "windows-amd64",
    "x86_64-unknown-linux-musl",
    "aarch64-pc-windows-msvc",
    "x86_64-apple-darwin",
    "i686-pc-windows-msvc",
]
PYTHONS = ["3.9", "3.10", "3.11", "3.11.5", "3.12", "3.13", "3.13t", "3.14"]
ACTIVE = [
    frozenset(),
    frozenset({"extra-11-hdr-service-np1"}),
    frozenset({"extra-11-hdr-service-np2", "group-11-hdr-service-img-old"}),
    frozenset({"gpu", "dev"}),
]


def fixture_markers() -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("marker",) and isinstance(value, str):
                    found.add(value)
                elif key in ("resolution-markers", "supported-markers", "environments") and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in [*LOCKS.rglob("uv.lock"), *LOCKS.rglob("pylock*.toml"), *(LOCKS / "revisions").glob("uv-*.lock")]:
        walk(tomllib.loads(path.read_text()))
    return found


MARKERS = sorted(fixture_markers())


def reference(marker: str, env: dict, active: frozenset) -> bool:
    environment = dict(env, extra=set(active), extras=set(active), dependency_groups=set(active))
    return Marker(marker).evaluate(environment, context="lock_file")


def test_fixtures_hold_many_distinct_markers_and_all_parse_natively():
    assert len(MARKERS) > 100
    for marker in MARKERS:
        _Parser(marker).parse()  # raises _Unsupported if it would need packaging


@pytest.mark.parametrize("target", TARGETS)
def test_every_fixture_marker_agrees_with_packaging(target):
    for python in PYTHONS:
        env = make_target(target, python).marker_environment
        for marker in MARKERS:
            for active in ACTIVE:
                ours = compile_marker(marker)(dict(env, extra=active, extras=active, dependency_groups=active))
                assert ours == reference(marker, env, active), (marker, target, python, sorted(active))


VERSIONS = st.builds(
    lambda epoch, release, pre, post, dev, local: "".join(
        [f"{epoch}!" if epoch else "", ".".join(str(x) for x in release), pre or "", post or "", dev or "", local or ""]
    ),
    st.sampled_from([0, 0, 0, 1]),
    st.lists(st.integers(0, 12), min_size=1, max_size=4),
    st.sampled_from([None, None, "a1", "b2", "rc1", "rc0", "alpha3", "c1", ".pre2", "-beta"]),
    st.sampled_from([None, None, ".post1", "-1", ".post0", "post2", "r3"]),
    st.sampled_from([None, None, ".dev0", "dev1", ".dev"]),
    st.sampled_from([None, None, "+local", "+ubuntu.1", "+1.2", "+cpu"]),
)
OPS = st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~=", "==="])
# What a marker environment or requires-python check compares: final releases (python_full_version,
# python_version, implementation_version). packaging 26 changed how <V and >V treat pre/post
# releases of V's own release; final candidates are where every PEP 440 reading agrees.
FINAL = st.builds(
    lambda release: ".".join(str(x) for x in release), st.lists(st.integers(0, 12), min_size=1, max_size=4)
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=OPS, spec=VERSIONS, wildcard=st.booleans(), candidate=FINAL)
def test_specifiers_agree_with_packaging(op, spec, wildcard, candidate):
    text = op + spec + (".*" if wildcard else "")
    try:
        reference_spec = Specifier(text)
    except PInvalidSpecifier:
        with pytest.raises(InvalidSpecifier):
            parse_specifier(text)
        return
    parsed = parse_specifier(text)
    assert PVersion(candidate) is not None
    assert holds(*parsed, candidate) == reference_spec.contains(candidate, prereleases=True), text


@pytest.mark.parametrize(
    "spec",
    [">=3.11", ">=3.10,<3.13", "~=3.12.1", "==3.11.*", ">3.9, !=3.10.*", "<4,>=3.8.1", ">=3.12.0rc1", "===3.11.0"],
)
@pytest.mark.parametrize("version", ["3.9", "3.10.0", "3.11", "3.11.5", "3.12.0rc1", "3.12", "3.12.3", "3.13.0", "4.0"])
def test_specifier_sets_agree_with_packaging(spec, version):
    assert specifier_set_contains(spec, version) == SpecifierSet(spec).contains(version, prereleases=True)


KEYS = st.sampled_from(
    [
        "python_version",
        "python_full_version",
        "sys_platform",
        "platform_machine",
        "os_name",
        "platform_system",
        "implementation_name",
        "platform_release",
        "implementation_version",
    ]
)
LITERALS = st.one_of(
    VERSIONS,
    st.sampled_from(
        [
            "linux",
            "win32",
            "darwin",
            "x86_64",
            "AMD64",
            "arm64",
            "aarch64",
            "posix",
            "nt",
            "cpython",
            "",
            "3.*",
            "3.1*",
            "Linux",
        ]
    ),
)
COMPARISON = st.builds(
    lambda key, op, value, reverse: f"'{value}' {op} {key}" if reverse else f"{key} {op} '{value}'",
    KEYS,
    st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "in", "not in"]),
    LITERALS,
    st.booleans(),
)
EXTRA = st.builds(
    lambda op, name: f"extra {op} '{name}'",
    st.sampled_from(["==", "!="]),
    st.sampled_from(["gpu", "dev", "extra-11-hdr-service-np1", "Extra_11.HDR"]),
)
ATOM = st.one_of(COMPARISON, EXTRA)
MARKER = st.recursive(
    ATOM,
    lambda inner: st.builds(
        lambda a, op, b, paren: f"({a} {op} {b})" if paren else f"{a} {op} {b}",
        inner,
        st.sampled_from(["and", "or"]),
        inner,
        st.booleans(),
    ),
    max_leaves=6,
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marker=MARKER, target=st.sampled_from(TARGETS), python=st.sampled_from(PYTHONS), active=st.sampled_from(ACTIVE))
def test_generated_markers_agree_with_packaging(marker, target, python, active):
    env = make_target(target, python).marker_environment
    try:
        expected = reference(marker, env, active)
    except Exception:
        with pytest.raises(MarkerError):
            compile_marker(marker)(dict(env, extra=active, extras=active, dependency_groups=active))
        return
    assert compile_marker(marker)(dict(env, extra=active, extras=active, dependency_groups=active)) == expected, marker


def test_invalid_markers_are_marker_errors():
    for bad in ["sys_platform = 'linux'", "python_version >= ", "nonsense == 'x'", "(sys_platform == 'linux'"]:
        with pytest.raises(MarkerError):
            compile_marker(bad)
    with pytest.raises(_Unsupported):
        _Parser("extras ~= 'x'").parse()


# --- values depaudit cannot know for a target (platform_version, platform_release) ----------------------

# What real machines report (Debian, Ubuntu, Alpine, macOS, Windows), and the empty string.
PROBES = {
    "platform_version": [
        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        "#40~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Tue Nov  5 12:34:56 UTC 2",
        "#1-Alpine SMP PREEMPT_DYNAMIC 2024-08-02 08:44:00",
        "Darwin Kernel Version 23.4.0: Fri Mar 15 00:10:42 PDT 2024; root:xnu-10063.101.17~1/RELEASE_ARM64_T6000",
        "10.0.19045",
        "",
    ],
    "platform_release": ["6.1.0-18-amd64", "5.15.0-1051-azure", "23.4.0", "10", "2022Server", ""],
}
UNKNOWABLE_ATOM = st.builds(
    lambda key, op, value, reverse: f"'{value}' {op} {key}" if reverse else f"{key} {op} '{value}'",
    st.sampled_from(["platform_version", "platform_release"]),
    st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "in", "not in"]),
    st.sampled_from(["SMP", "PREEMPT", "5.10", "6", "23.4.0", "10", "Darwin", ""]),
    st.booleans(),
)
MIXED_MARKER = st.recursive(
    st.one_of(COMPARISON, UNKNOWABLE_ATOM),
    lambda inner: st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["and", "or"]), inner),
    max_leaves=5,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marker=MIXED_MARKER, target=st.sampled_from(TARGETS), python=st.sampled_from(["3.11", "3.13t"]))
def test_a_marker_on_an_unknowable_value_is_decided_only_when_every_value_agrees(marker, target, python):
    """True/False from `decide` must be packaging's answer for every value a machine could report; an
    undecided marker (None) may hold, so callers count it (never evaluated to false)."""
    env = make_target(target, python).marker_environment
    try:
        answers = {
            reference(marker, dict(env, platform_version=version, platform_release=release), frozenset())
            for version in PROBES["platform_version"]
            for release in PROBES["platform_release"]
        }
    except Exception:
        return  # packaging cannot evaluate it (e.g. ~= on a string): the known-value tests cover errors
    verdict = MarkerEvaluator(env).decide(marker)
    if verdict is not None:
        assert answers == {verdict}, (marker, target)
    else:
        assert MarkerEvaluator(env)(marker) is True  # "may hold" counts as holding


@pytest.mark.parametrize(
    "marker, linux, windows",
    [
        ("'SMP' in platform_version", None, None),
        ("platform_release >= '5.10'", None, None),
        ("'SMP' in platform_version and sys_platform == 'linux'", None, False),
        ("'SMP' in platform_version or sys_platform == 'linux'", True, None),
        ("platform.version == 'x' and sys_platform == 'win32'", False, None),  # the dotted alias too
        ("sys_platform == 'linux' and python_version >= '3'", True, False),  # no unknowable value: as before
    ],
)
def test_decide_names_what_it_cannot_know(marker, linux, windows):
    assert MarkerEvaluator(make_target("linux-x86_64").marker_environment).decide(marker) is linux
    assert MarkerEvaluator(make_target("windows-amd64").marker_environment).decide(marker) is windows
