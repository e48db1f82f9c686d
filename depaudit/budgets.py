"""Budget checks over a scan report: download size per target and accelerator bytes."""

from __future__ import annotations

from dataclasses import dataclass

from depaudit.model import SizeReport
from depaudit.units import format_size


@dataclass(frozen=True)
class Breach:
    """One exceeded budget: which target, what was measured, the limit and the biggest offenders."""

    target: str
    what: str  # "download" | "accelerator"
    measured: int
    limit: int
    offenders: tuple[tuple[str, int | None], ...]

    def message(self, binary: bool = False) -> str:
        names = ", ".join(f"{n} {format_size(s, binary)}" for n, s in self.offenders)
        return (f"{self.target}: {self.what} {format_size(self.measured, binary)} exceeds the budget of "
                f"{format_size(self.limit, binary)}; biggest: {names}")


def check_budgets(report: SizeReport, *, max_download: int | None = None, max_accelerator: int | None = None,
                  offenders: int = 5) -> list[Breach]:
    """Breaches per supported target. `max_accelerator=0` forbids accelerator wheels even of unknown size."""
    breaches = []
    for t in report.targets:
        if not t.supported:
            continue
        ranked = sorted(t.packages, key=lambda p: -(p.size or 0))
        if max_download is not None and t.total_bytes > max_download:
            top = tuple((p.name, p.size) for p in ranked[:offenders])
            breaches.append(Breach(t.target.name, "download", t.total_bytes, max_download, top))
        if max_accelerator is not None:
            accel = [p for p in ranked if p.accelerator]
            if t.accelerator_bytes > max_accelerator or (max_accelerator == 0 and accel):
                top = tuple((p.name, p.size) for p in accel[:offenders])
                breaches.append(Breach(t.target.name, "accelerator", t.accelerator_bytes, max_accelerator, top))
    return breaches
