"""Synthesis metrics: the one tracker of what the engine did (requests, audio, latency, in flight).

Values live in ``prometheus_client`` metrics inside a registry owned by the tracker (never the
global one), so several TTS instances or server apps in one process never clash; the server
exposes this registry at ``/metrics``. ``in_flight``, ``totals`` and ``summary()`` read the same
metrics back, so there is no second copy of any number. Time-to-first-audio observations carry
the request id as an exemplar (shown in the OpenMetrics exposition).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .log_context import bind_request_id

log = logging.getLogger("auralis.metrics")

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RTF_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
STATUSES = ("ok", "error", "cancelled")


@dataclass
class RequestMetrics:
    request_id: str
    engine: str
    started_at: float = field(default_factory=time.perf_counter)
    first_audio_at: float | None = None
    finished_at: float | None = None
    audio_seconds: float = 0.0
    segments: int = 0
    status: str = "running"

    def add_audio(self, seconds: float) -> None:
        if self.first_audio_at is None and seconds > 0:
            self.first_audio_at = time.perf_counter()
        self.audio_seconds += seconds

    @property
    def wall_seconds(self) -> float:
        return (self.finished_at or time.perf_counter()) - self.started_at

    @property
    def time_to_first_audio(self) -> float | None:
        return None if self.first_audio_at is None else self.first_audio_at - self.started_at

    @property
    def real_time_factor(self) -> float | None:
        """Wall seconds per audio second (< 1 is faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds > 0 else None

    def as_dict(self) -> dict[str, float | str | int | None]:
        return {
            "request_id": self.request_id,
            "engine": self.engine,
            "status": self.status,
            "segments": self.segments,
            "audio_seconds": round(self.audio_seconds, 4),
            "wall_seconds": round(self.wall_seconds, 4),
            "real_time_factor": None if self.real_time_factor is None else round(self.real_time_factor, 4),
            "time_to_first_audio": None if self.time_to_first_audio is None else round(self.time_to_first_audio, 4),
        }


class MetricsTracker:
    """Keeps the last ``history`` finished requests; every count lives in ``registry``. Thread-safe."""

    def __init__(self, history: int = 1000, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._recent: deque[RequestMetrics] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._requests = Counter("auralis_engine_requests", "Scheduler requests by final status (ok, error, cancelled).",
                                 ["engine", "status"], registry=self.registry)
        self._audio = Counter("auralis_audio_seconds", "Seconds of audio the engine generated.", ["engine"],
                              registry=self.registry)
        self._in_flight = Gauge("auralis_in_flight_requests", "Requests inside the scheduler.", ["engine"],
                                registry=self.registry)
        self._ttfa = Histogram("auralis_time_to_first_audio_seconds", "Request start to its first audio chunk.",
                               ["engine"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._rtf = Histogram("auralis_real_time_factor",
                              "Wall seconds per audio second of finished requests (<1 is faster than real time).",
                              ["engine"], buckets=RTF_BUCKETS, registry=self.registry)

    def start(self, request_id: str, engine: str) -> RequestMetrics:
        """Count the request in flight. Also binds its id to the logging context of the calling task,
        so the scheduler tasks it goes on to create log with the request's id."""
        bind_request_id(request_id)
        self._in_flight.labels(engine).inc()
        for status in STATUSES:  # every series exists from the first request on (0, not absent)
            self._requests.labels(engine, status)
        return RequestMetrics(request_id, engine)

    def finish(self, metrics: RequestMetrics, status: str = "ok") -> None:
        """Record the outcome; a second call for the same request changes nothing."""
        with self._lock:
            if metrics.finished_at is not None:
                return
            metrics.finished_at = time.perf_counter()
            metrics.status = status
            self._recent.append(metrics)
        engine = metrics.engine
        self._in_flight.labels(engine).dec()
        self._requests.labels(engine, status).inc()
        self._audio.labels(engine).inc(metrics.audio_seconds)
        ttfa, rtf = metrics.time_to_first_audio, metrics.real_time_factor
        if ttfa is not None:
            self._ttfa.labels(engine).observe(ttfa, exemplar={"request_id": metrics.request_id[:64]})
        if status == "ok" and rtf is not None:
            self._rtf.labels(engine).observe(rtf)
        log.info("request finished %s", metrics.as_dict())

    def _sum(self, name: str, **match: str) -> float:
        """Sum of a sample over every engine (optionally only where labels match)."""
        total = 0.0
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in match.items()):
                    total += sample.value
        return total

    @property
    def in_flight(self) -> int:
        return int(self._sum("auralis_in_flight_requests"))

    @property
    def totals(self) -> dict[str, float]:
        failed = self._sum("auralis_engine_requests_total", status="error")
        cancelled = self._sum("auralis_engine_requests_total", status="cancelled")
        return {"requests": self._sum("auralis_engine_requests_total"), "failed": failed, "cancelled": cancelled,
                "audio_seconds": self._sum("auralis_audio_seconds_total")}

    def recent(self) -> list[RequestMetrics]:
        with self._lock:
            return list(self._recent)

    def last(self) -> RequestMetrics | None:
        with self._lock:
            return self._recent[-1] if self._recent else None

    def summary(self) -> dict[str, float | int | None]:
        items = [m for m in self.recent() if m.status == "ok"]
        ttfa = sorted(m.time_to_first_audio for m in items if m.time_to_first_audio is not None)
        rtf = [m.real_time_factor for m in items if m.real_time_factor is not None]

        def pct(values: list[float], q: float) -> float | None:
            return values[min(len(values) - 1, int(q * len(values)))] if values else None

        return {
            **self.totals,
            "in_flight": self.in_flight,
            "mean_real_time_factor": sum(rtf) / len(rtf) if rtf else None,
            "p50_time_to_first_audio": pct(ttfa, 0.5),
            "p95_time_to_first_audio": pct(ttfa, 0.95),
        }
