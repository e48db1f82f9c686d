"""DA101: a CPU target installs accelerator (CUDA/ROCm) wheels it can never use."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from depaudit.analysis.cuda_intent import cuda_intent
from depaudit.families import is_torch_family
from depaudit.model import Finding, InstalledPackage, TargetReport
from depaudit.rules.base import Rule, register
from depaudit.rules.subjects import LockSubject
from depaudit.units import format_size

SHOWN = 4


@register
class AcceleratorOnCpuTargetRule(Rule[LockSubject]):
    id = "DA101"
    severity = "warning"
    summary = "accelerator wheels installed on a CPU target"
    fixable = True

    def check(self, subject: LockSubject) -> Iterator[Finding]:
        intent = cuda_intent(subject.project) if subject.project is not None else []
        for report in subject.report.targets:
            accel = [p for p in report.packages if p.accelerator] if report.supported else []
            installing = [p for p in accel if p.install_kind != "none"]
            stranded = [p for p in accel if p.install_kind == "none"]
            if installing:
                yield self._installs(subject, report, installing, stranded, intent)
            elif stranded:
                yield self._stranded(subject, report, stranded)

    def _installs(
        self,
        subject: LockSubject,
        report: TargetReport,
        accel: Sequence[InstalledPackage],
        stranded: Sequence[InstalledPackage],
        intent: Sequence[str],
    ) -> Finding:
        known = sum(p.size for p in accel if p.size is not None)
        unknown = sum(1 for p in accel if p.size is None)
        size = format_size(known) + (f" + {unknown} of unknown size" if unknown else "")
        biggest = max(accel, key=lambda p: p.size or 0)
        names = ", ".join(p.name for p in sorted(accel, key=lambda p: -(p.size or 0))[:SHOWN])
        more = f" and {len(accel) - SHOWN} more" if len(accel) > SHOWN else ""
        via = " -> ".join(biggest.via) if biggest.via else biggest.name
        torch_driven = any(is_torch_family(n) for p in accel for n in p.via)
        target = report.target.name
        if torch_driven and intent:
            # `fix --to cpu-index` refuses such a project (exit 5): advise what it can do instead
            reason = intent[0].split(": ", 1)[-1]  # without the pyproject's path:line
            hint = (
                f"; the project asks for CUDA on purpose ({reason}): budget it "
                f"(`--max-accelerator {target}=SIZE`) or split a CPU target (a `cpu` extra or group whose torch "
                "comes from the CPU index)"
            )
        elif torch_driven:
            hint = "; `depaudit fix --to cpu-index` takes torch from the CPU index"
        else:
            hint = ""
        if stranded:
            hint += f"; {_stranded_text(target, stranded)}"
        return Finding(
            self.id,
            self.severity,
            f"{target} installs {_count(len(accel))} ({size}: {names}{more}); nothing on a CPU machine loads "
            f"them (largest via {via}){hint}",
            subject.lock.path,
            biggest.package.line,
            fixable=torch_driven and not intent,
            target=target,
        )

    def _stranded(self, subject: LockSubject, report: TargetReport, stranded: Sequence[InstalledPackage]) -> Finding:
        first = stranded[0]
        via = " -> ".join(first.via) if first.via else first.name
        return Finding(
            self.id,
            self.severity,
            f"{_stranded_text(report.target.name, stranded)} (via {via}); limit them with a marker for the "
            "platforms they are built for (e.g. `sys_platform == 'linux'`)",
            subject.lock.path,
            first.package.line,
            fixable=False,
            target=report.target.name,
        )


def _count(n: int) -> str:
    return f"{n} accelerator package{'s' if n != 1 else ''}"


def _stranded_text(target: str, stranded: Sequence[InstalledPackage]) -> str:
    names = ", ".join(p.name for p in stranded[:SHOWN]) + (
        f" and {len(stranded) - SHOWN} more" if len(stranded) > SHOWN else ""
    )
    return f"{target} cannot install {_count(len(stranded))} its lock lists ({names}: no wheel and no sdist for it)"
