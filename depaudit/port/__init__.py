"""`depaudit port`: move a team's own torch model to ONNX Runtime and prove the outputs are the same.

    from depaudit.port import build_request, run_port
    report = run_port(build_request("model.py:Net", ["x=1x3x224x224"], [], Path("out")))

Needs torch (the user's own), onnx, onnxscript and onnxruntime: `pip install 'depaudit[port]'` beside
torch. depaudit itself never imports torch; this package imports it only when `run_port` is called, so
`import depaudit` and every other command stay torch-free and fast, and a missing dependency is one
message (exit 4) instead of an ImportError.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from depaudit.errors import EXIT_TOOL, DepauditError
from depaudit.port.request import DynamicAxis, InputSpec, PortRequest, build_request

if TYPE_CHECKING:
    from depaudit.port.report import PortReport

REQUIRED = ("torch", "onnx", "onnxscript", "onnxruntime", "numpy")
INSTALL_HINT = "pip install 'depaudit[port]' in the environment that has your torch (torch itself is yours to install)"


class MissingDependency(DepauditError):
    """torch or an ONNX package is not importable here (exit 4, a one-line install hint)."""

    exit_code = EXIT_TOOL


def missing_dependencies() -> list[str]:
    """The REQUIRED packages this interpreter cannot import."""
    missing = []
    for name in REQUIRED:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, a broken parent
            found = False
        if not found:
            missing.append(name)
    return missing


def check_dependencies() -> None:
    """Raise MissingDependency (exit 4, one line with the install hint) when REQUIRED is incomplete."""
    missing = missing_dependencies()
    if missing:
        raise MissingDependency(f"depaudit port needs {', '.join(missing)}: {INSTALL_HINT}")


def run_port(request: PortRequest, model: object = None) -> PortReport:
    """Port `request.model` (or the given nn.Module) and write the hand-over files; see pipeline.run_port.
    Raises MissingDependency, InputError, UsageError."""
    check_dependencies()
    from depaudit.port.pipeline import run_port as _run  # imports torch (~2 s): only when porting

    return _run(request, model)  # type: ignore[arg-type]


__all__ = [
    "DynamicAxis",
    "InputSpec",
    "MissingDependency",
    "PortRequest",
    "build_request",
    "check_dependencies",
    "run_port",
]
