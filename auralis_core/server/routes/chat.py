"""``POST /v1/chat/completions``: voice chat. The request is relayed to an upstream
OpenAI-compatible LLM; its text deltas are streamed back unchanged and, as sentences complete,
spoken with the chosen voice. Audio rides in the same SSE stream in OpenAI's audio-output shape:

``{"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"audio": {"id": ...,
"data": <base64 audio>, "transcript": <sentence, on its first audio chunk>}}}]}``

The upstream's final chunk (``finish_reason``, ``usage``) is held back until the audio is done,
then ``data: [DONE]``. All ``data`` pieces concatenated form one valid stream of ``audio.format``
(``pcm16`` = 24 kHz 16-bit mono, as OpenAI). With ``stream: false`` the same pipeline runs and
the reply is one ``chat.completion`` with ``message.audio = {id, data, transcript}``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...request import TTSRequest
from ...text_stream import SentenceBuffer
from ..auth import require_api_key
from ..encoding import OPENAI_PCM_RATE, AudioStreamEncoder
from ..errors import ERROR_RESPONSES, APIError, to_api_error
from ..schemas import ChatAudioParams, ChatRequest
from ..streaming import ClosingStreamingResponse
from ..synthesis import voice_for_request

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES, tags=["chat"])
log = logging.getLogger("auralis.server.chat")

_OURS = {"llm_base_url", "llm_api_key", "llm_model", "language", "audio", "modalities", "stream"}
_FORMATS = {"pcm16": "pcm", "wav": "wav", "mp3": "mp3", "opus": "opus", "flac": "flac", "aac": "aac"}
_END = object()


def _upstream(body: ChatRequest, request: Request) -> tuple[str, dict[str, str]]:
    config = request.app.state.runtime.config
    if body.llm_base_url and not config.allow_llm_override:
        raise APIError(400, "this server does not allow llm_base_url overrides", param="llm_base_url", code="invalid_value")
    base = body.llm_base_url or config.llm_base_url
    if not base:
        raise APIError(400, "no upstream LLM configured: start with --llm-url or send llm_base_url",
                       param="llm_base_url", code="llm_not_configured")
    if not base.startswith(("http://", "https://")):
        raise APIError(400, "llm_base_url must be an http(s) URL", param="llm_base_url", code="invalid_value")
    key = body.llm_api_key or config.llm_api_key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return base.rstrip("/") + "/chat/completions", headers


class _VoiceChat:
    """Relays one chat stream and speaks it; `events()` yields SSE payload dicts (or "[DONE]")."""

    def __init__(self, tts: Any, voice: str | None, language: str, encoder: AudioStreamEncoder,
                 lines: AsyncIterator[str]) -> None:
        self.tts = tts
        self.voice = voice
        self.language = language
        self.lines = lines
        self.encoder = encoder
        self.audio_id = f"audio_{uuid.uuid4().hex[:24]}"
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.sentences: asyncio.Queue[Any] = asyncio.Queue()
        self.held: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": ""}
        self.audio_seconds = 0.0
        self.first_audio: float | None = None

    def _chunk(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.meta["id"], "object": "chat.completion.chunk", "created": self.meta["created"],
                "model": self.meta["model"], "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}

    async def _relay(self) -> None:
        buffer = SentenceBuffer(min_chars=8)
        try:
            async for line in self.lines:
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                self.meta.update({k: chunk[k] for k in ("id", "created", "model") if k in chunk})
                choices = chunk.get("choices") or []
                if any(c.get("finish_reason") for c in choices) or (not choices and chunk.get("usage")):
                    self.held.append(chunk)  # sent after the audio
                else:
                    self.out.put_nowait(chunk)
                for choice in choices:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        for sentence in buffer.push(text):
                            self.sentences.put_nowait(sentence)
            for sentence in buffer.flush():
                self.sentences.put_nowait(sentence)
        finally:
            self.sentences.put_nowait(_END)

    async def _speak(self) -> None:
        while (sentence := await self.sentences.get()) is not _END:
            request = TTSRequest(text=sentence, voice=self.voice, language=self.language, stream=True)
            transcript: str | None = sentence + " "
            async for chunk in self.tts.stream_async(request):
                self.audio_seconds += chunk.duration
                data = await self.encoder.feed_async(chunk.samples)
                if data:
                    self._emit_audio(data, transcript)
                    transcript = None
        tail = await self.encoder.finish_async()
        if tail:
            self._emit_audio(tail, None)

    def _emit_audio(self, data: bytes, transcript: str | None) -> None:
        if self.first_audio is None:
            self.first_audio = time.perf_counter()
        audio: dict[str, Any] = {"id": self.audio_id, "data": base64.b64encode(data).decode()}
        if transcript is not None:
            audio["transcript"] = transcript
        self.out.put_nowait(self._chunk({"audio": audio}))

    async def events(self, speak: bool) -> AsyncIterator[dict[str, Any] | str]:
        relay = asyncio.create_task(self._relay())
        speaker = asyncio.create_task(self._speak() if speak else self._drain())
        tasks = {relay, speaker}

        async def watch(task: asyncio.Task[None]) -> None:
            try:
                await task
            finally:
                self.out.put_nowait(_END)

        watchers = [asyncio.create_task(watch(t)) for t in tasks]
        try:
            finished = 0
            while finished < 2:
                item = await self.out.get()
                if item is _END:
                    finished += 1
                    for task in tasks:  # surface the first failure at once
                        if task.done() and not task.cancelled() and task.exception() is not None:
                            raise task.exception()  # type: ignore[misc]
                    continue
                yield item
            for chunk in self.held:
                yield chunk
            yield "[DONE]"
        finally:
            for task in [*tasks, *watchers]:
                task.cancel()
            await asyncio.gather(*tasks, *watchers, return_exceptions=True)

    async def _drain(self) -> None:
        while await self.sentences.get() is not _END:
            pass


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    """Relay to the upstream LLM and speak its reply (see the module doc for the event shape)."""
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    url, headers = _upstream(body, request)
    audio_params = body.audio or ChatAudioParams()
    speak = body.modalities is None or "audio" in body.modalities
    try:
        voice = voice_for_request(tts, runtime.config, audio_params.voice, body.language)
        TTSRequest(text="probe", voice=voice, language=body.language or "auto").validate_for(tts.capabilities)
        # made now, so an unavailable format fails before the upstream is called
        encoder = AudioStreamEncoder(_FORMATS[audio_params.format], tts.capabilities.sample_rate, OPENAI_PCM_RATE)
    except Exception as exc:
        raise to_api_error(exc) from exc
    payload = {k: v for k, v in body.model_dump(exclude_none=True).items() if k not in _OURS}
    payload["model"] = body.llm_model or runtime.config.llm_model or body.model
    payload["stream"] = True

    release = runtime.acquire()
    stack = AsyncExitStack()
    try:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0)))
        response = await stack.enter_async_context(client.stream("POST", url, json=payload, headers=headers))
        if response.status_code != 200:
            raw = (await response.aread())[:4000]
            try:
                err = json.loads(raw)["error"]
                message = err.get("message") or str(err)
            except Exception:
                message = raw.decode(errors="replace")
            status = response.status_code if 400 <= response.status_code < 500 else 502
            raise APIError(status, f"upstream LLM answered {response.status_code}: {message}",
                           type="invalid_request_error" if status < 500 else "server_error", code="upstream_error")
    except APIError:
        await stack.aclose()
        release()
        raise
    except (httpx.HTTPError, OSError) as exc:
        await stack.aclose()
        release()
        raise APIError(502, f"cannot reach the upstream LLM: {type(exc).__name__}", type="server_error",
                       code="upstream_unreachable") from exc

    chat = _VoiceChat(tts, voice, body.language or "auto", encoder, response.aiter_lines())
    outcome = {"value": "cancelled"}

    async def finish() -> None:
        await stack.aclose()
        if not outcome.get("recorded"):
            outcome["recorded"] = True
            runtime.metrics.record_synthesis(outcome["value"])  # audio and latency: the engine tracker
        release()

    if body.stream:
        async def sse() -> AsyncIterator[bytes]:
            try:
                async for event in chat.events(speak):
                    text = event if isinstance(event, str) else json.dumps(event)
                    yield f"data: {text}\n\n".encode()
                outcome["value"] = "ok"
            except Exception as exc:
                outcome["value"] = "error"
                yield f"data: {json.dumps(to_api_error(exc).body())}\n\n".encode()
                yield b"data: [DONE]\n\n"

        return ClosingStreamingResponse(sse(), finish, media_type="text/event-stream",
                                        headers={"Cache-Control": "no-cache"})

    # stream: false -> run the same pipeline and aggregate it
    text_parts: list[str] = []
    audio_parts: list[bytes] = []
    finish_reason, usage = "stop", None
    try:
        async for event in chat.events(speak):
            if isinstance(event, str):
                continue
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    text_parts.append(delta["content"])
                if delta.get("audio"):
                    audio_parts.append(base64.b64decode(delta["audio"]["data"]))
                finish_reason = choice.get("finish_reason") or finish_reason
        outcome["value"] = "ok"
    except Exception as exc:
        outcome["value"] = "error"
        raise to_api_error(exc) from exc
    finally:
        await finish()
    text = "".join(text_parts)
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if speak:
        message["audio"] = {"id": chat.audio_id, "data": base64.b64encode(b"".join(audio_parts)).decode(),
                            "transcript": text, "expires_at": int(time.time()) + 3600}
    result = {"id": chat.meta["id"], "object": "chat.completion", "created": chat.meta["created"],
              "model": chat.meta["model"] or payload["model"],
              "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}]}
    if usage:
        result["usage"] = usage
    return JSONResponse(result)
