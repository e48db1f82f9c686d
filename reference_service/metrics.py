"""A minimal, thread-safe Prometheus text-format registry (counters, gauges, histograms).

Written here rather than pulling in ``prometheus_client``: the service needs five metric families
and the text exposition format (version 0.0.4) is a few lines.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_labels(labels: Labels, extra: Labels = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}"


def _fmt_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


class _Family:
    def __init__(self, name: str, help_text: str, kind: str, label_names: tuple[str, ...]):
        self.name, self.help, self.kind, self.label_names = name, help_text, kind, label_names
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> Labels:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.label_names)}")
        return tuple((k, str(labels[k])) for k in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def lines(self) -> list[str]:
        """The family's exposition lines (its header, then one line per series)."""
        raise NotImplementedError


FamilyT = TypeVar("FamilyT", bound=_Family)


class Counter(_Family):
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, label_names: tuple[str, ...] = ()):
        super().__init__(name, help_text, "counter", label_names)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in items]


class Gauge(_Family):
    """A value read at scrape time from a callback, or set explicitly."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float] | None = None):
        super().__init__(name, help_text, "gauge", ())
        self._read = read
        self._value = 0.0

    def set(self, value: float) -> None:
        with self._lock:
            self._value = float(value)

    def lines(self) -> list[str]:
        value = self._read() if self._read is not None else self._value
        return [*self.header(), f"{self.name} {_fmt_value(value)}"]


class Histogram(_Family):
    """Cumulative-bucket histogram per label set."""

    def __init__(
        self, name: str, help_text: str, label_names: tuple[str, ...] = (), buckets: Iterable[float] = LATENCY_BUCKETS
    ):
        super().__init__(name, help_text, "histogram", label_names)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[Labels, list[float]] = {}  # bucket counts..., +Inf count, sum

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-2] += 1
            series[-1] += value

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        out = self.header()
        for key, series in items:
            for bound, count in zip(self.buckets, series, strict=False):  # series ends with +Inf and sum
                out.append(f"{self.name}_bucket{_fmt_labels(key, (('le', _fmt_value(bound)),))} {_fmt_value(count)}")
            out.append(f"{self.name}_bucket{_fmt_labels(key, (('le', '+Inf'),))} {_fmt_value(series[-2])}")
            out.append(f"{self.name}_sum{_fmt_labels(key)} {_fmt_value(series[-1])}")
            out.append(f"{self.name}_count{_fmt_labels(key)} {_fmt_value(series[-2])}")
        return out


class Registry:
    """An ordered set of metric families rendered together."""

    def __init__(self) -> None:
        self._families: list[_Family] = []

    def add(self, family: FamilyT) -> FamilyT:
        self._families.append(family)
        return family

    def render(self) -> str:
        lines: list[str] = []
        for family in self._families:
            lines.extend(family.lines())
        return "\n".join(lines) + "\n"


class ServiceMetrics:
    """The service's metric families, wired to live gauges by the server."""

    def __init__(
        self, queue_depth: Callable[[], float], in_progress: Callable[[], float], ready: Callable[[], float]
    ) -> None:
        self.registry = Registry()
        add = self.registry.add
        self.requests = add(
            Counter(
                "gmnet_http_requests_total",
                "HTTP requests by route template, method and status code.",
                ("route", "method", "status"),
            )
        )
        self.latency = add(
            Histogram(
                "gmnet_http_request_duration_seconds", "HTTP request latency by route template, in seconds.", ("route",)
            )
        )
        self.errors = add(
            Counter("gmnet_errors_total", "Refused or failed requests and jobs by error code.", ("code",))
        )
        self.jobs = add(
            Counter(
                "gmnet_jobs_total",
                "Inference jobs by outcome (accepted, completed, failed, rejected_queue_full, rejected_store_full).",
                ("outcome",),
            )
        )
        self.inference = add(
            Histogram("gmnet_inference_duration_seconds", "Backend predict() time per job, in seconds.", ("backend",))
        )
        add(Gauge("gmnet_queue_depth", "Jobs accepted and waiting for a worker.", queue_depth))
        add(Gauge("gmnet_jobs_in_progress", "Jobs a worker is running now.", in_progress))
        add(Gauge("gmnet_ready", "1 once the backend is loaded and the service accepts work.", ready))
        self.dropped = add(
            Counter(
                "gmnet_connections_dropped_total",
                "Connections closed by the server's guards by reason "
                "(header_timeout, headers_too_large, bad_request, "
                "too_many_connections).",
                ("reason",),
            )
        )
        self.queue_capacity = add(Gauge("gmnet_queue_capacity", "Maximum queued jobs."))
        self.workers = add(Gauge("gmnet_workers", "Inference worker threads."))

    def render(self) -> str:
        """Return the Prometheus text exposition of every family."""
        return self.registry.render()
