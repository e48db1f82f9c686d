"""Each DA4xx rule catches its hazard at the user's file:line (found by torch's machinery) and stays
quiet on the twin model that does the same job without it. Every case runs the whole port pipeline."""

from __future__ import annotations

import pytest
from port_helpers import MODELS, marker_line, shown

pytestmark = pytest.mark.slow  # each case exports a model and runs torch and ONNX Runtime (2-10 s)

# (rule, hazard model, twin, inputs, dynamic axes)
RULES = [
    ("DA401", "ValueBranch", "WhereBranch", ["x=1x3x8x8"], []),
    ("DA402", "ToPython", "KeepTensor", ["x=1x3x8x8"], []),
    ("DA403", "SqrtTokens", "ReshapeTokens", ["x=1x16x4"], ["x:1=tokens"]),
    ("DA404", "AssertPositive", "AssertRank", ["x=1x3x8x8"], []),
    ("DA405", "TensorFromShape", "ArangeFromShape", ["x=1x3x8x8"], ["x:3=width"]),
    ("DA406", "OddPad", "EvenOnly", ["x=1x3x8x8"], ["x:3=width"]),
    ("DA407", "UnevenPool", "EvenPool", ["x=1x4x64x64"], []),
]


def _located(report, rule):
    return [(f.path, f.line) for f in report.findings if f.rule == rule]


@pytest.mark.parametrize("rule,model,twin,inputs,dynamic", RULES, ids=[r[0] for r in RULES])
def test_rule_catches_at_user_line(port_model, rule, model, twin, inputs, dynamic):
    report = port_model(model, inputs, dynamic)
    assert _located(report, rule) == [(shown(MODELS), marker_line(rule))]


@pytest.mark.parametrize("rule,model,twin,inputs,dynamic", RULES, ids=[r[0] for r in RULES])
def test_rule_quiet_on_twin(port_model, rule, model, twin, inputs, dynamic):
    report = port_model(twin, inputs, dynamic)
    assert report.findings == []
    assert report.passed, [c.failures for c in report.cases]
    assert report.exporter == "dynamo"


def test_value_branch_fails_verification_naming_the_line(port_model):
    report = port_model("ValueBranch", ["x=1x3x8x8"])
    where = f"{shown(MODELS)}:{marker_line('DA401')}"
    assert not report.passed
    failed = [c for c in report.cases if not c.passed]
    assert failed, "some generated case must take the other side of the branch"
    assert all(any(where in text for text in c.failures) for c in failed)
    assert {c.name for c in failed} & {"dark", "small"}  # the extremes are what flips mean() > 0.5


def test_tensor_to_python_fails_on_inputs_unlike_the_example(port_model):
    report = port_model("ToPython", ["x=1x3x8x8"])
    assert not report.passed
    assert [c.name for c in report.cases if c.passed] == ["noise"]  # only the traced input agrees


def test_shape_guard_fails_at_the_other_parity(port_model):
    report = port_model("OddPad", ["x=1x3x8x8"], ["x:3=width"])
    by_name = {c.name: c for c in report.cases}
    assert not by_name["noise-plus1"].passed  # width 9: torch pads, the exported graph does not
    assert by_name["noise-double"].passed
    assert not report.passed


def test_specialised_axis_is_exported_static_and_said(port_model):
    report = port_model("SqrtTokens", ["x=1x16x4"], ["x:1=tokens"])
    assert report.exported and report.exporter == "dynamo"
    assert any("exported static" in note for note in report.notes)
    assert not report.passed  # the user asked for a dynamic axis and did not get one


def test_assert_is_dropped_but_outputs_agree(port_model):
    report = port_model("AssertPositive", ["x=1x3x8x8"])
    assert {s["name"] for s in report.skipped} == {"small", "large"}  # torch raised on negative inputs
    assert all("AssertionError" in s["reason"] for s in report.skipped)
    assert all(c.passed for c in report.cases)
    assert report.passed  # DA404 is a warning: the check is gone, the numbers are right


def test_uneven_pool_rewritten_and_verified(port_model):
    report = port_model("UnevenPool", ["x=1x4x64x64"])
    finding = next(f for f in report.findings if f.rule == "DA407")
    assert "depaudit applied" in finding.message and "3x3" in finding.message
    assert report.passed, [c.failures for c in report.cases]


def test_inline_ignore_drops_the_finding(port_model):
    report = port_model("IgnoredBranch", ["x=1x3x8x8"])
    assert _located(report, "DA401") == []
    assert not report.passed  # the cases still show the traced branch is wrong for dark inputs
