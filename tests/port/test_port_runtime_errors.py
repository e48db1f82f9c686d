"""ONNX Runtime's own errors reach the report whole: a shape error names the input on its first line and
the axis on the next ones, which a first-line cut dropped."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from depaudit.port.cases import Case
from depaudit.port.runner import run_onnxruntime
from depaudit.port.verify import open_session


def _static_identity() -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["out"])],
        "static",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def test_a_shape_error_keeps_the_axis():
    session, error = open_session(_static_identity())
    assert error == ""
    outputs, message = run_onnxruntime(session, ["image"], Case("batch2", (np.zeros((2, 3), np.float32),)))
    assert outputs is None
    assert "Got invalid dimensions for input: image" in message
    assert "index: 0 Got: 2 Expected: 1" in message  # the answer, on ONNX Runtime's second line
    assert "\n" not in message and "\x1b" not in message


def test_a_model_onnx_runtime_cannot_load_is_a_message_not_an_exception():
    session, error = open_session(b"not an onnx model")
    assert session is None and error.startswith(("InvalidProtobuf", "Fail", "RuntimeError", "InvalidGraph"))
