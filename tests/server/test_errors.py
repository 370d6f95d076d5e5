"""Status codes and OpenAI's error shape for every failure class (real server, real clients)."""

from __future__ import annotations

import threading

import httpx
import openai
import pytest
from livesrv import LiveServer, assert_error, wait_for

from auralis_core.server import ServerConfig, create_app

SPEECH = {"model": "tts-1", "voice": "alloy", "input": "Hello there.", "response_format": "wav"}


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"response_format": "ogg"}, 400, "response_format"),
        ({"speed": 4.5}, 400, "speed"),
        ({"speed": 0.1}, 400, "speed"),
        ({"speed": "fast"}, 400, "speed"),
        ({"voice": "../../etc/passwd"}, 400, "voice"),
        ({"voice": {"id": "a/b"}}, 400, "voice"),
        ({"voice": "no-such-voice"}, 404, "voice"),
        ({"model": "whisper-1"}, 404, "model"),
        ({"input": ""}, 400, "input"),
        ({"input": "x" * 4097}, 413, "input"),
        ({"stream_format": "chunks"}, 400, "stream_format"),
        ({"language": "xx-nonexistent"}, 400, "language"),
        ({"speaker_audio": ["not base64!"]}, 400, "speaker_audio"),
        ({"top_p": 2}, 400, "top_p"),
    ],
)
def test_bad_speech_fields(espeak_server, change, status, param):
    assert_error(httpx.post(espeak_server.url + "/v1/audio/speech", json={**SPEECH, **change}), status, param)


def test_missing_field_and_bad_json(espeak_server):
    body = {k: v for k, v in SPEECH.items() if k != "voice"}
    assert_error(httpx.post(espeak_server.url + "/v1/audio/speech", json=body), 400, "voice", "missing_required_parameter")
    response = httpx.post(espeak_server.url + "/v1/audio/speech", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(response, 400)


def test_unknown_route_and_method(espeak_server):
    assert_error(httpx.get(espeak_server.url + "/v1/nothing"), 404)
    assert_error(httpx.get(espeak_server.url + "/v1/audio/speech"), 405)


def test_openai_client_sees_typed_errors(espeak_server):
    client = openai.OpenAI(base_url=espeak_server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.audio.speech.create(model="tts-1", voice="nobody-here", input="hi")
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.speech.create(model="tts-1", voice="alloy", input="hi", speed=9.0)
    assert info.value.body["param"] == "speed"


def test_auth_required_except_health():
    app = create_app(ServerConfig(engine="espeak", api_key="s3cret"))
    with LiveServer(app) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 30)
        assert httpx.get(server.url + "/health").status_code == 200
        for method, path, body in [("POST", "/v1/audio/speech", SPEECH), ("GET", "/v1/models", None),
                                   ("GET", "/v1/audio/voices", None), ("GET", "/metrics", None),
                                   ("POST", "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})]:
            err = assert_error(httpx.request(method, server.url + path, json=body), 401, code="invalid_api_key")
            assert "Bearer" in err["message"]
            wrong = httpx.request(method, server.url + path, json=body, headers={"Authorization": "Bearer nope"})
            assert_error(wrong, 401)
        ok = httpx.post(server.url + "/v1/audio/speech", json=SPEECH, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="s3cret", max_retries=0)
        assert [m.id for m in client.models.list()][0] == "espeak"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.url + "/v1", api_key="bad", max_retries=0).models.list()


def test_queue_full_answers_429_with_retry_after(tone_engine_registered):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", max_concurrency=1, delays={i: 0.15 for i in range(20)})
    app = create_app(ServerConfig(max_concurrency=1, max_queue=0, served_model_names=["tts-1"]), tts=tts)
    long_text = " ".join(f"Sentence {i}." for i in range(12))
    try:
        with LiveServer(app) as server:
            started = threading.Event()

            def hold() -> None:
                with httpx.stream("POST", server.url + "/v1/audio/speech",
                                  json={"model": "tone", "voice": "low", "input": long_text, "response_format": "pcm"}) as r:
                    for _ in r.iter_bytes():
                        started.set()

            holder = threading.Thread(target=hold)
            holder.start()
            assert started.wait(10)
            busy = httpx.post(server.url + "/v1/audio/speech", json={"model": "tone", "voice": "low", "input": "Hi there.", "response_format": "wav"})
            assert_error(busy, 429, code="server_busy")
            assert busy.headers["retry-after"] == "1"
            assert "rate_limit_error" == busy.json()["error"]["type"]
            holder.join(30)
            assert httpx.post(server.url + "/v1/audio/speech", json={"model": "tone", "voice": "low", "input": "Hi there.", "response_format": "wav"}).status_code == 200
            assert "auralis_rejected_requests_total 1" in httpx.get(server.url + "/metrics").text
    finally:
        tts.shutdown()


def test_engine_fault_is_500_without_traceback(tone_engine_registered):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", fail_on={0})
    app = create_app(ServerConfig(), tts=tts)
    try:
        with LiveServer(app) as server:
            response = httpx.post(server.url + "/v1/audio/speech", json={"model": "tone", "voice": "low", "input": "Boom.", "response_format": "wav"})
            err = assert_error(response, 500, code="internal_error")
            assert err["type"] == "server_error" and "boom" not in err["message"]
    finally:
        tts.shutdown()


def test_timeout_is_504(tone_engine_registered):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", request_timeout=0.3, delays={0: 2.0})
    app = create_app(ServerConfig(), tts=tts)
    try:
        with LiveServer(app) as server:
            response = httpx.post(server.url + "/v1/audio/speech", json={"model": "tone", "voice": "low", "input": "Slow.", "response_format": "wav"})
            assert_error(response, 504, code="timeout")
    finally:
        tts.shutdown()
