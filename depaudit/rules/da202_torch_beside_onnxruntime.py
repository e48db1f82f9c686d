"""DA202: torch sits in the runtime dependencies next to an inference runtime (info)."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.families import is_torch_family
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import ProjectSubject

INFERENCE_RUNTIMES = ("onnxruntime", "tinygrad", "openvino", "tflite-runtime")


@register
class TorchBesideInferenceRuntimeRule(Rule[ProjectSubject]):
    id = "DA202"
    severity = "info"
    summary = "torch in runtime dependencies beside an inference runtime"
    fixable = True

    def check(self, subject: ProjectSubject) -> Iterator[Finding]:
        names = subject.runtime_dependencies()
        runtimes = [n for n, _ in names if n in INFERENCE_RUNTIMES]
        if not runtimes:
            return
        for name, line in names:
            if is_torch_family(name):
                fix = runtimes[0] if runtimes[0] in ("onnxruntime", "tinygrad") else None
                how = f" (`depaudit fix --to {fix}`)" if fix else ""
                yield self.finding(
                    f"{name} is a runtime dependency beside {runtimes[0]}; if it only exports the model or "
                    f"regenerates goldens, move it to a dev group{how}",
                    subject.path,
                    line,
                )
