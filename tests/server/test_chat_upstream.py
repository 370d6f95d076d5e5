"""Voice chat against a real, misbehaving upstream (`fake_llm.FakeLLM`) through a real uvicorn
server on loopback: where keys go (SSRF), slots on every path, disconnects and timeouts, and
every upstream fault as a clean 502 or an SSE error event (issue 12: items 1, 2, 3, 9, 15)."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from fake_llm import REPLY, SECRET, FakeLLM
from livesrv import LiveServer, assert_error, wait_for

from auralis_core.server import ServerConfig, create_app

SPEECH = {"model": "tts-1", "voice": "alloy", "input": "Still here.", "response_format": "pcm"}


def chat(script: str = "hi", **extra: object) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": script}], **extra}


@pytest.fixture(scope="module")
def espeak_tts() -> Iterator[object]:
    from auralis_core import TTS

    tts = TTS.from_pretrained("espeak")
    yield tts
    tts.shutdown()


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture(scope="module")
def other_llm() -> Iterator[FakeLLM]:
    """A second upstream: the 'attacker' when not allow-listed, an allowed one otherwise."""
    with FakeLLM() as server:
        yield server


def serve(tts: object, **config: object) -> LiveServer:
    return LiveServer(create_app(ServerConfig(**config), tts=tts))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fault_server(espeak_tts, llm) -> Iterator[LiveServer]:
    with serve(espeak_tts, llm_base_url=llm.url, llm_api_key="server-key", llm_timeout=1.0) as server:
        yield server


@pytest.fixture
def chat_log() -> Iterator[list[str]]:
    """Lines the chat relay logs (a handler of its own: the CLI's setup may stop propagation)."""
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("auralis.server.chat")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def runtime(server: LiveServer):
    return server.app.state.runtime


# --- 1. where the server's key goes ------------------------------------------------------------
def test_server_key_never_leaves_for_a_request_url(espeak_tts, llm, other_llm):
    other_llm.seen.clear()
    with serve(espeak_tts, llm_base_url=llm.url, llm_api_key="server-key") as server:
        url = server.url + "/v1/chat/completions"
        # off by default: refused before anything is sent anywhere
        assert_error(httpx.post(url, json=chat(llm_base_url=other_llm.url, modalities=["text"])), 400,
                     "llm_base_url", "llm_override_disabled")
        assert_error(httpx.post(url, json=chat(llm_base_url=other_llm.url, llm_api_key="mine")), 400,
                     "llm_base_url", "llm_override_disabled")
        # the configured upstream does get the server's key
        before = len(llm.seen)
        assert httpx.post(url, json=chat(modalities=["text"]), timeout=30).status_code == 200
        assert llm.seen[before].auth == "Bearer server-key"
    assert other_llm.seen == []


def test_allow_listed_url_needs_its_own_key(espeak_tts, llm, other_llm):
    other_llm.seen.clear()
    with serve(espeak_tts, llm_base_url=llm.url, llm_api_key="server-key", llm_allowed_urls=[other_llm.url]) as server:
        url = server.url + "/v1/chat/completions"
        assert_error(httpx.post(url, json=chat(llm_base_url=other_llm.url)), 400, "llm_api_key", "missing_required_parameter")
        port = other_llm.port
        for outside in (f"http://127.0.0.1:{llm.port}/v1",  # same host, other port
                        f"http://localhost:{port}/v1",  # other host name
                        f"http://127.0.0.1:{port}/v2",  # sibling path
                        f"http://127.0.0.1:{port}/v1x",
                        f"https://127.0.0.1:{port}/v1",  # other scheme
                        f"http://127.0.0.1:{port}/v1/%2e%2e/admin",
                        f"http://user:pw@127.0.0.1:{port}/v1",
                        f"http://127.0.0.1:{port}/v1?target=x",
                        "file:///etc/passwd", "http://[::1", "http://127.0.0.1:99999/v1"):
            assert_error(httpx.post(url, json=chat(llm_base_url=outside, llm_api_key="mine")), 400, "llm_base_url")
        assert other_llm.seen == []
        ok = httpx.post(url, json=chat(llm_base_url=other_llm.url + "/", llm_api_key="client-key", modalities=["text"]), timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json()["choices"][0]["message"]["content"] == "".join(REPLY)
    assert [s.auth for s in other_llm.seen] == ["Bearer client-key"]
    assert not any("server-key" in json.dumps(s.headers) for s in other_llm.seen)


def test_bad_allow_list_is_refused_at_start():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="llm_allowed_urls"):
        ServerConfig(llm_allowed_urls=["http://user:pw@example.com/v1"])
    with pytest.raises(ValidationError, match="llm_base_url"):
        ServerConfig(llm_base_url="ftp://example.com")


@pytest.mark.parametrize(("script", "status", "code"), [("500", 502, "upstream_error"), ("401", 502, "upstream_auth_failed")])
def test_upstream_error_bodies_are_logged_not_echoed(fault_server, chat_log, script, status, code):
    response = httpx.post(fault_server.url + "/v1/chat/completions", json=chat(script), timeout=30)
    assert_error(response, status, code=code)
    assert SECRET not in response.text
    assert any(SECRET in line for line in chat_log)  # the operator still sees it


def test_upstream_401_is_not_the_clients_key_failing(fault_server):
    client = openai.OpenAI(base_url=fault_server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "401"}])
    assert not isinstance(caught.value, openai.AuthenticationError)
    assert caught.value.status_code == 502 and "credentials" in caught.value.message


# --- 2. bad input: 400 naming the field, and the slot comes back --------------------------------
BAD_INPUTS = [
    (json.dumps(chat(llm_api_key="ключ")), "llm_api_key"),
    ('{"model": "m", "messages": [{"role": "user", "content": "hi \\ud800 there"}]}', "messages[0].content"),
    ('{"model": "m", "messages": [{"role": "user", "content": "hi", "weight": NaN}]}', "messages[0].weight"),
    ('{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": Infinity}', "temperature"),
    (json.dumps(chat(llm_base_url="http://[::1", llm_api_key="k")), "llm_base_url"),
]


def test_bad_input_is_400_and_never_holds_a_slot(espeak_tts, llm):
    with serve(espeak_tts, llm_base_url=llm.url, llm_api_key="server-key", max_concurrency=1, max_queue=1,
               llm_allowed_urls=[llm.url]) as server:
        for raw, param in BAD_INPUTS * 2:
            response = httpx.post(server.url + "/v1/chat/completions", content=raw.encode(),
                                  headers={"Content-Type": "application/json"}, timeout=30)
            assert_error(response, 400, param)
        assert runtime(server).active == 0
        for _ in range(2):
            speech = httpx.post(server.url + "/v1/audio/speech", json=SPEECH, timeout=30)
            assert speech.status_code == 200 and len(speech.content) > 1000


# --- 3. a slow upstream never outlives its client -----------------------------------------------
def test_client_leaving_frees_the_slot_of_a_trickling_upstream(fault_server, llm):
    llm.closed.pop("trickle", None)
    left = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(fault_server.url + "/v1/chat/completions", json=chat("trickle"), timeout=1.0)
    assert wait_for(lambda: runtime(fault_server).active == 0, 5)
    assert wait_for(lambda: "trickle" in llm.closed, 5)  # and the upstream connection is closed
    assert llm.closed["trickle"] - left < 4


def test_client_leaving_a_stream_frees_the_slot(fault_server, llm):
    llm.closed.pop("trickle", None)
    with httpx.stream("POST", fault_server.url + "/v1/chat/completions", json=chat("trickle", stream=True), timeout=10) as r:
        assert r.status_code == 200
        next(r.iter_lines())
    assert wait_for(lambda: runtime(fault_server).active == 0, 5)
    assert wait_for(lambda: "trickle" in llm.closed, 5)


def test_request_timeout_bounds_the_whole_upstream_reply(espeak_tts, llm):
    with serve(espeak_tts, llm_base_url=llm.url, request_timeout=1.5) as server:
        started = time.monotonic()
        response = httpx.post(server.url + "/v1/chat/completions", json=chat("trickle"), timeout=30)
        assert_error(response, 504, code="timeout")
        assert 1.4 < time.monotonic() - started < 5
        with httpx.stream("POST", server.url + "/v1/chat/completions", json=chat("trickle", stream=True), timeout=30) as r:
            events = [line[5:].strip() for line in r.iter_lines() if line.startswith("data:")]
        assert events[-1] == "[DONE]" and json.loads(events[-2])["error"]["code"] == "timeout"
        assert wait_for(lambda: runtime(server).active == 0, 5)


# --- 9. upstream faults -------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["nonjson", "garbage", "shape", "shape-content", "inband-error", "silence",
                                    "cut", "nodone", "json", "redirect", "500"])
def test_upstream_fault_is_502(fault_server, script):
    response = httpx.post(fault_server.url + "/v1/chat/completions", json=chat(script), timeout=30)
    assert_error(response, 502, code="upstream_error")
    assert SECRET not in response.text
    assert wait_for(lambda: runtime(fault_server).active == 0, 5)


@pytest.mark.parametrize("script", ["late-nonjson", "late-shape", "late-inband-error", "cut", "nodone"])
def test_fault_after_the_stream_started_is_an_sse_error(fault_server, script):
    body = chat(script, stream=True, audio={"voice": "alloy", "format": "pcm16"})
    with httpx.stream("POST", fault_server.url + "/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        events = [line[5:].strip() for line in response.iter_lines() if line.startswith("data:")]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] == "upstream_error" and SECRET not in json.dumps(events)
    finished = [e for e in events[:-2] if any(c.get("finish_reason") for c in json.loads(e)["choices"])]
    assert finished == []  # a cut reply is never marked complete
    # the official client raises instead of returning a truncated reply
    client = openai.OpenAI(base_url=fault_server.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="m", messages=body["messages"], stream=True):
            pass
    assert wait_for(lambda: runtime(fault_server).active == 0, 5)


# --- 15. one shared client, overlapped speech, described in the schema --------------------------
def test_one_shared_upstream_client_per_app(espeak_tts, llm):
    app = create_app(ServerConfig(llm_base_url=llm.url), tts=espeak_tts)  # type: ignore[arg-type]
    with LiveServer(app) as server:
        before = len(llm.seen)
        for _ in range(3):
            assert httpx.post(server.url + "/v1/chat/completions", json=chat(modalities=["text"]), timeout=30).status_code == 200
        ports = {s.peer_port for s in llm.seen[before:]}
        assert len(ports) == 1  # one keep-alive connection of one client, not a client per request
        client = app.state.chat.client
    assert client.is_closed  # closed with the app


def test_next_sentence_is_generated_while_one_is_sent(tone_engine_registered, llm):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", delays={0: 0.25}, max_concurrency=4)
    try:
        with serve(tts, llm_base_url=llm.url) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            transcripts, audio = [], b""
            for chunk in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                        stream=True, audio={"voice": "alloy", "format": "pcm16"}):
                delta = chunk.choices[0].delta.model_dump() if chunk.choices else {}
                if delta.get("audio"):
                    audio += base64.b64decode(delta["audio"]["data"])
                    if delta["audio"].get("transcript"):
                        transcripts.append(delta["audio"]["transcript"].strip())
        assert tts.engine.max_active >= 2  # sentence n+1 was being generated while sentence n streamed
        # in order and complete (a sentence whose audio the resampler still holds hands its
        # transcript on to the next piece)
        assert " ".join(transcripts) == "Hello there! I am a scripted model. This is my second sentence. And a third one"
        assert len(transcripts) >= 2 and len(audio) / 2 / 24000 > 0.1
    finally:
        tts.shutdown()


def test_chat_stream_is_described_in_the_schema(fault_server):
    schema = httpx.get(fault_server.url + "/openapi.json").json()
    answer = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"]["$ref"].endswith("/ChatCompletion")
    item = answer["text/event-stream"]["itemSchema"]["properties"]["data"]["contentSchema"]
    refs = [option["$ref"].rsplit("/", 1)[-1] for option in item["anyOf"]]
    assert set(refs) <= set(schema["components"]["schemas"]) and "ChatCompletionChunk" in refs
    assert "502" in schema["paths"]["/v1/chat/completions"]["post"]["responses"]


def test_serve_flags_reach_the_relay(llm, other_llm):
    """`auralis serve --llm-allow-url … --llm-timeout …` end to end, in its own process."""
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    other_llm.seen.clear()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auralis_core.cli.main", "serve", "--engine", "espeak", "--port", str(port),
         "--llm-url", llm.url, "--llm-api-key", "server-key", "--llm-allow-url", other_llm.url, "--llm-timeout", "1",
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(base + "/health/ready").status_code == 200
            except httpx.TransportError:
                return False

        assert wait_for(ready, 60), proc.stderr.read().decode() if proc.poll() is not None else "not ready"
        url = base + "/v1/chat/completions"
        ok = httpx.post(url, json=chat(llm_base_url=other_llm.url, llm_api_key="client-key", modalities=["text"]), timeout=30)
        assert ok.status_code == 200, ok.text
        assert [s.auth for s in other_llm.seen] == ["Bearer client-key"]
        assert_error(httpx.post(url, json=chat(llm_base_url=other_llm.url, modalities=["text"])), 400, "llm_api_key")
        started = time.monotonic()
        assert_error(httpx.post(url, json=chat("silence"), timeout=30), 502, code="upstream_error")
        assert time.monotonic() - started < 5  # --llm-timeout 1, not the default 60 s
    finally:
        proc.terminate()
        proc.wait(20)
