"""Per-request and aggregate synthesis metrics (audio seconds, real-time factor, time to first audio)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("auralis.metrics")


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
    """Keeps the last ``history`` finished requests and running totals; thread-safe."""

    def __init__(self, history: int = 1000) -> None:
        self._recent: deque[RequestMetrics] = deque(maxlen=history)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.totals: dict[str, float] = {"requests": 0, "failed": 0, "cancelled": 0, "audio_seconds": 0.0}

    def start(self, request_id: str, engine: str) -> RequestMetrics:
        with self._lock:
            self.in_flight += 1
        return RequestMetrics(request_id, engine)

    def finish(self, metrics: RequestMetrics, status: str = "ok") -> None:
        metrics.finished_at = time.perf_counter()
        metrics.status = status
        with self._lock:
            self.in_flight -= 1
            self._recent.append(metrics)
            self.totals["requests"] += 1
            self.totals["audio_seconds"] += metrics.audio_seconds
            if status == "error":
                self.totals["failed"] += 1
            elif status == "cancelled":
                self.totals["cancelled"] += 1
        log.info("request finished %s", metrics.as_dict())

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

        with self._lock:
            totals = dict(self.totals)
            in_flight = self.in_flight
        return {
            **totals,
            "in_flight": in_flight,
            "mean_real_time_factor": sum(rtf) / len(rtf) if rtf else None,
            "p50_time_to_first_audio": pct(ttfa, 0.5),
            "p95_time_to_first_audio": pct(ttfa, 0.95),
        }
