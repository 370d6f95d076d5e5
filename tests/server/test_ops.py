"""Operations: disconnect cancels generation, graceful shutdown, readiness, metrics, the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from livesrv import LiveServer, assert_error, wait_for

from auralis_core.server import ServerConfig, create_app

SLOW_TEXT = " ".join(f"Sentence number {i} is here." for i in range(30))


@pytest.fixture
def slow_tone(tone_engine_registered):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", max_concurrency=2, delays={i: 0.1 for i in range(40)})
    yield tts
    tts.shutdown()


def test_client_disconnect_cancels_generation(slow_tone):
    with LiveServer(create_app(ServerConfig(), tts=slow_tone)) as server:
        with httpx.stream("POST", server.url + "/v1/audio/speech",
                          json={"model": "tone", "voice": "low", "input": SLOW_TEXT, "response_format": "pcm"}) as response:
            assert response.status_code == 200
            # Hold the iterator: a dropped `iter_bytes()` generator closes the connection at once
            # (httpcore closes on GeneratorExit), and the server could see the disconnect first.
            chunks = response.iter_bytes()
            next(chunks)
            assert slow_tone.metrics.in_flight == 1
            chunks.close()
        # the client is gone after ~1 of 30 segments: the engine work must stop, not run to the end
        assert wait_for(lambda: slow_tone.metrics.in_flight == 0 and slow_tone.scheduler.in_flight == 0, 5)
        assert slow_tone.metrics.totals["cancelled"] == 1
        assert slow_tone.metrics.last().audio_seconds < 2.0
        metrics = httpx.get(server.url + "/metrics").text
        assert wait_for(lambda: 'auralis_synthesis_requests_total{outcome="cancelled"} 1' in httpx.get(server.url + "/metrics").text, 5), metrics
        assert 'auralis_engine_requests_total{engine="tone",status="cancelled"} 1' in httpx.get(server.url + "/metrics").text
        assert "auralis_requests_active 0" in httpx.get(server.url + "/metrics").text


def test_sse_disconnect_cancels_too(slow_tone):
    with LiveServer(create_app(ServerConfig(), tts=slow_tone)) as server:
        with httpx.stream("POST", server.url + "/v1/audio/speech",
                          json={"model": "tone", "voice": "low", "input": SLOW_TEXT, "response_format": "pcm", "stream_format": "sse"}) as response:
            next(response.iter_lines())
        assert wait_for(lambda: slow_tone.metrics.in_flight == 0, 5)
        assert slow_tone.metrics.totals["cancelled"] == 1


def test_graceful_shutdown_finishes_in_flight(slow_tone):
    server = LiveServer(create_app(ServerConfig(), tts=slow_tone), graceful_timeout=20).start()
    result: dict = {}
    text = " ".join(f"Part {i} of it." for i in range(8))

    def client() -> None:
        response = httpx.post(server.url + "/v1/audio/speech", timeout=30,
                              json={"model": "tone", "voice": "low", "input": text, "response_format": "pcm", "native_sample_rate": True})
        result["status"], result["bytes"] = response.status_code, len(response.content)

    thread = threading.Thread(target=client)
    thread.start()
    assert wait_for(lambda: slow_tone.metrics.in_flight == 1, 5)
    server.stop()  # like SIGTERM: stop accepting, finish what runs
    thread.join(30)
    assert result["status"] == 200
    assert slow_tone.metrics.totals["requests"] == 1 and slow_tone.metrics.totals["cancelled"] == 0
    assert result["bytes"] / 2 / 8000 == pytest.approx(slow_tone.metrics.last().audio_seconds, rel=0.01)


def test_readiness_reflects_model_loading(tone_engine_registered):
    from auralis_core import register_engine
    from auralis_core.registry.registry import unregister_engine
    from toy_engine import ToneEngine

    class SlowLoadingTone(ToneEngine):
        @classmethod
        def from_pretrained(cls, model_name_or_path=None, **kwargs):
            time.sleep(1.0)
            return cls(**kwargs)

    register_engine("slowtone", SlowLoadingTone, capabilities=ToneEngine.capabilities)
    try:
        with LiveServer(create_app(ServerConfig(engine="slowtone"))) as server:
            assert httpx.get(server.url + "/health").json()["status"] == "loading"
            assert_error(httpx.get(server.url + "/health/ready"), 503, code="model_not_ready")
            busy = httpx.post(server.url + "/v1/audio/speech", json={"model": "tone", "voice": "low", "input": "Hi."})
            assert_error(busy, 503)
            assert "retry-after" in busy.headers
            assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 10)
            assert httpx.get(server.url + "/health").json() == {"status": "ok", "engine": "slowtone", "detail": None}
            assert "auralis_ready 1" in httpx.get(server.url + "/metrics").text
    finally:
        unregister_engine("slowtone")


def test_failed_load_is_not_ready():
    with LiveServer(create_app(ServerConfig(engine="no-such-engine-xyz"))) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health").json()["status"] == "failed", 10)
        err = assert_error(httpx.get(server.url + "/health/ready"), 503)
        assert "no-such-engine-xyz" in err["message"]


def test_metrics_exposition(espeak_server):
    httpx.post(espeak_server.url + "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "Metrics please.", "response_format": "wav"})
    text = httpx.get(espeak_server.url + "/metrics").text
    for family in ("auralis_http_requests_total", "auralis_audio_seconds_total", "auralis_real_time_factor_bucket",
                   "auralis_time_to_first_audio_seconds_bucket", "auralis_queue_depth", "auralis_in_flight_requests",
                   "auralis_synthesis_requests_total"):
        assert family in text
    assert 'auralis_http_requests_total{method="POST",route="/v1/audio/speech",status="200"}' in text
    # every sample line parses as "name{labels} value"
    for line in text.splitlines():
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_cli_serve_subprocess(tmp_path):
    """`auralis serve` as a user runs it: a real process, --api-key, access log, SIGTERM exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "auralis_core.cli.main", "serve", "--engine", "espeak", "--port", str(port),
           "--api-key", "k1", "--max-queue", "4", "--voices-dir", str(tmp_path / "v"), "--cors-origins", "http://a.example"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "AURALIS_LOG_LEVEL": "INFO"})
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            try:
                return httpx.get(url + "/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(ready, 30)
        assert httpx.get(url + "/v1/models").status_code == 401
        response = httpx.post(url + "/v1/audio/speech", headers={"Authorization": "Bearer k1", "Origin": "http://a.example"},
                              json={"model": "tts-1", "voice": "alloy", "input": "From the CLI.", "response_format": "wav"})
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "http://a.example"
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, -15), out  # uvicorn re-raises SIGTERM after a clean shutdown
    assert "Application shutdown complete" in out
    assert '"event": "access"' in out and '"route": "/v1/audio/speech"' in out
