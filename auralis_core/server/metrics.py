"""Prometheus text exposition of server and engine metrics (hand-written: no global registry, so
several apps in one process, as in tests, never clash)."""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runtime import ServerRuntime

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_RTF_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(self.buckets, value)] += 1
            self.sum += value
            self.count += 1

    def render(self, name: str, labels: str = "") -> list[str]:
        lines, cumulative = [], 0
        sep = "," if labels else ""
        with self._lock:
            for bound, n in zip(self.buckets, self.counts):
                cumulative += n
                lines.append(f'{name}_bucket{{{labels}{sep}le="{bound:g}"}} {cumulative}')
            lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.count}')
            lines.append(f"{name}_sum{{{labels}}} {self.sum:.6f}" if labels else f"{name}_sum {self.sum:.6f}")
            lines.append(f"{name}_count{{{labels}}} {self.count}" if labels else f"{name}_count {self.count}")
        return lines


class ServerMetrics:
    """What the HTTP layer observes: requests by route/status, audio sent, latency to first audio."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.outcomes: Counter[str] = Counter()  # speech/chat streams: ok / error / cancelled
        self.audio_seconds = 0.0
        self.time_to_first_audio = Histogram(_LATENCY_BUCKETS)
        self.real_time_factor = Histogram(_RTF_BUCKETS)
        self.rejected = 0
        self._lock = threading.Lock()

    def record_request(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1

    def record_synthesis(self, outcome: str, audio_seconds: float, wall: float, ttfa: float | None) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
            self.audio_seconds += audio_seconds
        if ttfa is not None:
            self.time_to_first_audio.observe(ttfa)
        if outcome == "ok" and audio_seconds > 0:
            self.real_time_factor.observe(wall / audio_seconds)


def render(runtime: ServerRuntime) -> str:
    m = runtime.metrics
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    family("auralis_http_requests_total", "counter", "HTTP requests by method, route and status code.")
    with m._lock:
        for (method, route, status), n in sorted(m.requests.items()):
            out.append(f'auralis_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
        outcomes = dict(m.outcomes)
        audio = m.audio_seconds
    family("auralis_synthesis_requests_total", "counter", "Speech streams by outcome (ok, error, cancelled).")
    for outcome in ("ok", "error", "cancelled"):
        out.append(f'auralis_synthesis_requests_total{{outcome="{outcome}"}} {outcomes.get(outcome, 0)}')
    family("auralis_rejected_requests_total", "counter", "Requests answered 429 because the queue was full.")
    out.append(f"auralis_rejected_requests_total {m.rejected}")
    family("auralis_audio_seconds_total", "counter", "Seconds of audio sent to clients.")
    out.append(f"auralis_audio_seconds_total {audio:.6f}")
    family("auralis_time_to_first_audio_seconds", "histogram", "Request start to first audio bytes ready.")
    out += m.time_to_first_audio.render("auralis_time_to_first_audio_seconds")
    family("auralis_real_time_factor", "histogram", "Wall seconds per audio second of finished requests (<1 is faster than real time).")
    out += m.real_time_factor.render("auralis_real_time_factor")
    family("auralis_requests_active", "gauge", "Requests holding an admission slot (running or queued).")
    out.append(f"auralis_requests_active {runtime.active}")
    family("auralis_ready", "gauge", "1 when the model is loaded and serving.")
    out.append(f"auralis_ready {1 if runtime.status == 'ok' else 0}")
    tts = runtime.tts
    if tts is not None:
        sched, eng = tts.scheduler, tts.engine_name
        family("auralis_in_flight_requests", "gauge", "Requests inside the scheduler.")
        out.append(f'auralis_in_flight_requests{{engine="{eng}"}} {tts.metrics.in_flight}')
        family("auralis_in_flight_segments", "gauge", "Segments running phase 2 right now.")
        out.append(f'auralis_in_flight_segments{{engine="{eng}"}} {sched.in_flight}')
        family("auralis_queue_depth", "gauge", "Segments waiting for a phase-2 slot.")
        out.append(f'auralis_queue_depth{{engine="{eng}"}} {sched.queue_depth}')
        totals = dict(tts.metrics.totals)
        family("auralis_engine_requests_total", "counter", "Scheduler requests by status.")
        failed, cancelled = int(totals.get("failed", 0)), int(totals.get("cancelled", 0))
        ok = int(totals.get("requests", 0)) - failed - cancelled
        for status, n in (("ok", ok), ("error", failed), ("cancelled", cancelled)):
            out.append(f'auralis_engine_requests_total{{engine="{eng}",status="{status}"}} {n}')
        family("auralis_engine_audio_seconds_total", "counter", "Seconds of audio the engine generated.")
        out.append(f'auralis_engine_audio_seconds_total{{engine="{eng}"}} {float(totals.get("audio_seconds", 0.0)):.6f}')
    return "\n".join(out) + "\n"
