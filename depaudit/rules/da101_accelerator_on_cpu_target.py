"""DA101: a CPU target installs accelerator (CUDA/ROCm) wheels it can never use."""

from __future__ import annotations

from collections.abc import Iterator

from depaudit.analysis.torch_reach import is_torch_family
from depaudit.model import Finding
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import LockSubject
from depaudit.units import format_size


@register
class AcceleratorOnCpuTargetRule(Rule[LockSubject]):
    id = "DA101"
    severity = "warning"
    summary = "accelerator wheels installed on a CPU target"
    fixable = True

    def check(self, subject: LockSubject) -> Iterator[Finding]:
        for report in subject.report.targets:
            accel = [p for p in report.packages if p.accelerator] if report.supported else []
            if not accel:
                continue
            known = sum(p.size for p in accel if p.size is not None)
            unknown = sum(1 for p in accel if p.size is None)
            size = format_size(known) + (f" + {unknown} of unknown size" if unknown else "")
            biggest = max(accel, key=lambda p: p.size or 0)
            names = ", ".join(p.name for p in sorted(accel, key=lambda p: -(p.size or 0))[:4])
            more = f" and {len(accel) - 4} more" if len(accel) > 4 else ""
            via = " -> ".join(biggest.via) if biggest.via else biggest.name
            torch_driven = any(is_torch_family(n) for p in accel for n in p.via)
            hint = "; `depaudit fix --to cpu-index` takes torch from the CPU index" if torch_driven else ""
            yield Finding(
                self.id,
                self.severity,
                f"{report.target.name} installs {len(accel)} accelerator packages ({size}: {names}{more}); "
                f"nothing on a CPU machine loads them (largest via {via}){hint}",
                subject.lock.path,
                biggest.package.line,
                fixable=torch_driven,
                target=report.target.name,
            )
