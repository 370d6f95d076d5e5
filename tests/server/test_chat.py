"""Voice chat: relay to a scripted upstream LLM on loopback, speak sentences as they complete."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import openai
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from livesrv import LiveServer, assert_error

from auralis_core.server import ServerConfig, create_app

REPLY = ["Hello", " there!", " I am", " a scripted", " model.", " This is", " my second", " sentence.", " And a", " third one"]


def upstream_app(seen: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if body["messages"][-1]["content"] == "fail":
            return JSONResponse({"error": {"message": "upstream says no", "type": "invalid_request_error", "param": None, "code": None}}, status_code=400)

        async def stream():
            base = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
            yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {'role': 'assistant', 'content': ''}, 'finish_reason': None}]})}\n\n"
            for piece in REPLY:
                await asyncio.sleep(0.03)
                yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {'content': piece}, 'finish_reason': None}]})}\n\n"
            yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def upstream():
    seen: list[dict] = []
    with LiveServer(upstream_app(seen)) as server:
        server.seen = seen  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def voice_server(upstream):
    from auralis_core import TTS

    tts = TTS.from_pretrained("espeak")
    config = ServerConfig(llm_base_url=upstream.url + "/v1", llm_api_key="upstream-key",
                          llm_allowed_urls=[upstream.url + "/v1", "http://127.0.0.1:9/v1"])
    with LiveServer(create_app(config, tts=tts)) as server:
        yield server
    tts.shutdown()


def test_streaming_voice_chat_with_openai_client(voice_server, upstream):
    client = openai.OpenAI(base_url=voice_server.url + "/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "hi"}], stream=True,
        modalities=["text", "audio"], audio={"voice": "alloy", "format": "pcm16"},
    )
    text, transcripts, audio, order, finish = [], [], b"", [], None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta.model_dump()
        if delta.get("content"):
            text.append(delta["content"])
            order.append("text")
        if delta.get("audio"):
            audio += base64.b64decode(delta["audio"]["data"])
            if delta["audio"].get("transcript"):
                transcripts.append(delta["audio"]["transcript"].strip())
            order.append("audio")
        finish = choice.finish_reason or finish
    assert "".join(text) == "".join(REPLY)
    assert transcripts == ["Hello there!", "I am a scripted model.", "This is my second sentence.", "And a third one"]
    assert finish == "stop"
    # audio starts while text is still streaming (sentence by sentence, not after the whole reply)
    assert order.index("audio") < len(order) - 1 - order[::-1].index("text")
    seconds = len(audio) / 2 / 24000  # pcm16 = 24 kHz 16-bit mono
    assert 3.0 < seconds < 15.0
    sent = upstream.seen[-1]
    assert sent["auth"] == "Bearer upstream-key" and sent["body"]["stream"] is True
    assert "audio" not in sent["body"] and "modalities" not in sent["body"] and sent["body"]["model"] == "scripted"


def test_raw_sse_shape_and_done(voice_server):
    body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "stream": True, "audio": {"voice": "en-gb", "format": "wav"}}
    with httpx.stream("POST", voice_server.url + "/v1/chat/completions", json=body, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line[5:].strip() for line in response.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "[DONE]"
    events = [json.loads(x) for x in lines[:-1]]
    assert all(e["object"] == "chat.completion.chunk" for e in events)
    wav = b"".join(base64.b64decode(e["choices"][0]["delta"]["audio"]["data"]) for e in events if e["choices"] and "audio" in e["choices"][0]["delta"])
    assert wav.startswith(b"RIFF")  # one continuous stream across sentences
    assert events[-1]["choices"][0]["finish_reason"] == "stop"  # held back until the audio is done


async def test_non_streaming_voice_chat(voice_server):
    async with openai.AsyncOpenAI(base_url=voice_server.url + "/v1", api_key="x", max_retries=0) as client:
        started = time.perf_counter()
        completion = await client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "hi"}], audio={"voice": "nova", "format": "pcm16"}, modalities=["text", "audio"]
        )
    assert time.perf_counter() - started < 20
    message = completion.choices[0].message
    assert message.content == "".join(REPLY) and message.audio.transcript == message.content
    assert len(base64.b64decode(message.audio.data)) / 2 / 24000 > 3.0


def test_text_only_and_errors(voice_server, upstream):
    body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "stream": True, "modalities": ["text"]}
    with httpx.stream("POST", voice_server.url + "/v1/chat/completions", json=body, timeout=30) as response:
        raw = response.read().decode()
    assert '"audio"' not in raw and "[DONE]" in raw
    fail = {"model": "scripted", "messages": [{"role": "user", "content": "fail"}], "stream": True}
    err = assert_error(httpx.post(voice_server.url + "/v1/chat/completions", json=fail), 400, code="upstream_error")
    assert "upstream says no" not in err["message"]  # upstream bodies are logged, never echoed (issue 12.1)
    bad_voice = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "audio": {"voice": "zz-none"}}
    assert_error(httpx.post(voice_server.url + "/v1/chat/completions", json=bad_voice), 404, "voice")
    # per-request upstream override, allow-listed, with the client's own key (here: nothing listening)
    dead = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "llm_base_url": "http://127.0.0.1:9/v1",
            "llm_api_key": "client-key"}
    assert_error(httpx.post(voice_server.url + "/v1/chat/completions", json=dead), 502, code="upstream_unreachable")
    override = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "llm_base_url": upstream.url + "/v1",
                "modalities": ["text"], "llm_api_key": "client-key"}
    assert httpx.post(voice_server.url + "/v1/chat/completions", json=override).json()["choices"][0]["message"]["content"] == "".join(REPLY)


def test_spoken_reply_takes_engine_options(voice_server, upstream):
    """`audio.options` shape the spoken reply (checked before the upstream is called) and never
    travel upstream."""
    base = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}], "stream": False,
            "modalities": ["text", "audio"]}
    calls = len(upstream.seen)
    bad = {**base, "audio": {"voice": "alloy", "format": "wav", "options": {"pitch": 500}}}
    err = assert_error(httpx.post(voice_server.url + "/v1/chat/completions", json=bad), 400, "pitch")
    assert "valid options: pitch" in err["message"] and len(upstream.seen) == calls
    good = {**base, "audio": {"voice": "alloy", "format": "wav", "options": {"pitch": 90}}}
    reply = httpx.post(voice_server.url + "/v1/chat/completions", json=good, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["audio"]["data"]
    sent = upstream.seen[-1]["body"]
    assert "audio" not in sent and "options" not in json.dumps(sent)
