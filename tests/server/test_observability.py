"""Metrics through prometheus_client (registry per app, bounded labels) and request correlation
(X-Request-Id in headers, access log, engine log lines, error bodies and metric exemplars)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from livesrv import LiveServer, assert_error, wait_for
from prometheus_client.parser import text_string_to_metric_families

from auralis_core.server import ServerConfig, create_app

SLOW_TEXT = " ".join(f"Sentence number {i} is here." for i in range(30))


class Capture(logging.Handler):
    """Collects records of the ``auralis`` tree with the request id the logging filter adds."""

    def __init__(self) -> None:
        from auralis_core.log_context import RequestIdFilter

        super().__init__(logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    handler = Capture()
    logger = logging.getLogger("auralis")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def access_lines(handler: Capture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in handler.records if r.name == "auralis.server.access"]


@pytest.fixture
def tone_server(tone_engine_registered):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", max_concurrency=2)
    with LiveServer(create_app(ServerConfig(), tts=tts)) as server:
        yield server, tts
    tts.shutdown()


def families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_random_methods_do_not_create_series(tone_server):
    server, _ = tone_server
    with httpx.Client() as client:
        for i in range(60):
            client.request(f"M{i}ETHOD", server.url + f"/v1/nope/{i}")
        # methods every HTTP parser passes on (httptools, which uvicorn picks when installed, as
        # with ray[serve], refuses the made-up ones above itself)
        for i, method in enumerate(("PROPFIND", "MKCOL", "LOCK", "PURGE", "REPORT", "SUBSCRIBE")):
            client.request(method, server.url + f"/v1/nope/webdav{i}")
    samples = families(httpx.get(server.url + "/metrics").text)["auralis_http_requests"]
    methods = {s.labels["method"] for s in samples}
    routes = {s.labels["route"] for s in samples}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, methods
    assert "other" in methods and not any(r.startswith("/v1/nope/") for r in routes), routes
    assert len(samples) < 10


def test_each_app_has_its_own_registry(tone_engine_registered):
    """Two apps in one process: separate counts, no duplicate-timeseries errors, parseable output."""
    from auralis_core import TTS

    tts_a, tts_b = TTS.from_pretrained("tone"), TTS.from_pretrained("tone")
    try:
        with LiveServer(create_app(ServerConfig(), tts=tts_a)) as a, LiveServer(create_app(ServerConfig(), tts=tts_b)) as b:
            body = {"model": "tone", "voice": "low", "input": "One two.", "response_format": "pcm"}
            for _ in range(3):
                assert httpx.post(a.url + "/v1/audio/speech", json=body).status_code == 200
            assert httpx.post(b.url + "/v1/audio/speech", json=body).status_code == 200

            def speech_count(url: str) -> float:
                samples = families(httpx.get(url + "/metrics").text)["auralis_engine_requests"]
                return sum(s.value for s in samples if s.labels.get("status") == "ok" and s.name.endswith("_total"))

            assert wait_for(lambda: speech_count(a.url) == 3 and speech_count(b.url) == 1, 5)
            parsed = families(httpx.get(a.url + "/metrics").text)
            for name in ("auralis_http_requests", "auralis_synthesis_requests", "auralis_audio_seconds",
                         "auralis_time_to_first_audio_seconds", "auralis_real_time_factor", "auralis_in_flight_requests",
                         "auralis_requests_active", "auralis_queue_depth", "auralis_rejected_requests"):
                assert name in parsed, name
    finally:
        tts_a.shutdown()
        tts_b.shutdown()


def test_metrics_module_has_no_hand_written_exposition():
    """One tracker: the server's metrics are prometheus_client objects, not formatted strings."""
    import auralis_core.server.metrics as server_metrics

    assert not hasattr(server_metrics, "Histogram") and not hasattr(server_metrics, "render")
    from auralis_core.metrics import MetricsTracker

    a, b = MetricsTracker(), MetricsTracker()
    assert a.registry is not b.registry
    record = a.start("r1", "tone")
    a.finish(record, "ok")
    a.finish(record, "cancelled")  # a second finish of one request changes nothing
    assert a.totals["requests"] == 1 and a.totals["cancelled"] == 0 and a.in_flight == 0 and b.totals["requests"] == 0


def test_client_request_id_is_used_everywhere(tone_server, captured):
    server, tts = tone_server
    body = {"model": "tone", "voice": "low", "input": "Hello. World.", "response_format": "pcm"}
    response = httpx.post(server.url + "/v1/audio/speech", json=body, headers={"X-Request-Id": "client-req.42"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "client-req.42"
    assert wait_for(lambda: tts.metrics.last() is not None, 5)
    assert tts.metrics.last().request_id == "client-req.42"
    # engine-side log lines (scheduler loop, another thread) carry the id through the context
    engine_lines = [r for r in captured.records if r.name == "auralis.metrics"]
    assert engine_lines and all(r.request_id == "client-req.42" for r in engine_lines)
    # the access line is written once the response has gone out, so it may trail the client a little
    assert wait_for(lambda: any(a["request_id"] == "client-req.42" for a in access_lines(captured)), 5)
    # metrics: the id is an exemplar of the latency histogram (OpenMetrics exposition)
    om = httpx.get(server.url + "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert 'request_id="client-req.42"' in om.text
    # errors carry it too (header; 500 messages name it)
    err = httpx.post(server.url + "/v1/audio/speech", json={**body, "voice": "nobody"}, headers={"X-Request-Id": "e-1"})
    assert_error(err, 404)
    assert err.headers["x-request-id"] == "e-1"


@pytest.mark.parametrize("bad", ["x" * 65, "has space", "semi;colon", "new\tline", "ünï"])
def test_unsafe_request_ids_are_replaced(tone_server, bad):
    server, _ = tone_server
    response = httpx.get(server.url + "/v1/models", headers={"X-Request-Id": bad.encode("utf-8")})
    issued = response.headers["x-request-id"]
    assert issued != bad and 1 <= len(issued) <= 64 and issued.isalnum()


def test_internal_error_message_names_the_request_id():
    from auralis_core.log_context import request_id_var
    from auralis_core.server.errors import to_api_error

    token = request_id_var.set("abc123")
    try:
        err = to_api_error(RuntimeError("boom"))
    finally:
        request_id_var.reset(token)
    assert err.status == 500 and "abc123" in err.message and "boom" not in err.message


def test_access_log_shows_a_disconnect(tone_engine_registered, captured):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", max_concurrency=2, delays={i: 0.1 for i in range(40)})
    try:
        with LiveServer(create_app(ServerConfig(), tts=tts)) as server:
            with httpx.stream("POST", server.url + "/v1/audio/speech", headers={"X-Request-Id": "leaver"},
                              json={"model": "tone", "voice": "low", "input": SLOW_TEXT, "response_format": "pcm"}) as response:
                next(response.iter_bytes())
            assert wait_for(lambda: any(a["request_id"] == "leaver" for a in access_lines(captured)), 5)
            httpx.get(server.url + "/v1/models", headers={"X-Request-Id": "stayer"})
            assert wait_for(lambda: any(a["request_id"] == "stayer" for a in access_lines(captured)), 5)
    finally:
        tts.shutdown()
    by_id = {a["request_id"]: a for a in access_lines(captured)}
    assert by_id["leaver"]["outcome"] == "disconnect", by_id["leaver"]
    assert by_id["stayer"]["outcome"] == "complete"
