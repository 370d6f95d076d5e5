"""The HTTP layer's metrics, in a ``prometheus_client`` registry per app, exposed with the engine's.

Only facts the HTTP layer alone knows live here (requests by route, 429s, speech/chat streams by
outcome, admission and readiness); audio seconds, latency and in-flight requests come from the
TTS's `MetricsTracker`, whose registry is collected into this one. Label values are bounded:
methods outside the HTTP verbs and unmatched paths are folded into ``other`` / ``unmatched``, so
a client cannot create series at will.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

if TYPE_CHECKING:
    from .runtime import ServerRuntime

KNOWN_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STREAM_OUTCOMES = ("ok", "error", "cancelled")


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class ServerMetrics:
    def __init__(self, runtime: ServerRuntime) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter("auralis_http_requests", "HTTP requests by method, route and status code.",
                                 ["method", "route", "status"], registry=self.registry)
        self._streams = Counter("auralis_synthesis_requests", "Speech and chat streams by outcome (ok, error, cancelled).",
                                ["outcome"], registry=self.registry)
        self._rejected = Counter("auralis_rejected_requests", "Requests answered 429 because the queue was full.",
                                 registry=self.registry)
        for outcome in STREAM_OUTCOMES:
            self._streams.labels(outcome)
        self.registry.register(_RuntimeCollector(runtime))

    def record_request(self, method: str, route: str, status: int) -> None:
        """``route`` is the matched route template (or ``unmatched``), never the raw path."""
        self._requests.labels(method_label(method), route, str(status)).inc()

    def record_synthesis(self, outcome: str) -> None:
        self._streams.labels(outcome if outcome in STREAM_OUTCOMES else "error").inc()

    def record_rejected(self) -> None:
        self._rejected.inc()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """Body and content type for ``/metrics``: OpenMetrics (with exemplars) when asked for, else text 0.0.4."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _RuntimeCollector:
    """Gauges read at scrape time from the runtime and scheduler, and the loaded TTS's own registry."""

    def __init__(self, runtime: ServerRuntime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        yield _gauge("auralis_requests_active", "Requests holding an admission slot (running or queued).", runtime.active)
        yield _gauge("auralis_ready", "1 when the model is loaded and serving.", 1 if runtime.status == "ok" else 0)
        tts = runtime.tts
        if tts is None:
            return
        engine = tts.engine_name
        yield _gauge("auralis_in_flight_segments", "Segments running phase 2 right now.", tts.scheduler.in_flight, engine)
        yield _gauge("auralis_queue_depth", "Segments waiting for a phase-2 slot.", tts.scheduler.queue_depth, engine)
        yield from tts.metrics.registry.collect()


def _gauge(name: str, documentation: str, value: float, engine: str | None = None) -> GaugeMetricFamily:
    if engine is None:
        return GaugeMetricFamily(name, documentation, value=value)
    family = GaugeMetricFamily(name, documentation, labels=["engine"])
    family.add_metric([engine], value)
    return family
