"""`ServingChat`: voice chat completions. The request is relayed to an upstream OpenAI-compatible
LLM; its text chunks are streamed back unchanged and, as sentences complete, spoken with the
chosen voice. Audio rides in the same SSE stream in OpenAI's audio-output shape
(`ChatCompletionChunk` with ``delta.audio``); the upstream's final chunk (``finish_reason``,
``usage``) is held back until the audio is done, then ``data: [DONE]``. With ``stream: false`` the
same pipeline runs and the answer is one `ChatCompletion` with ``message.audio``.

Lifecycle of one request: checks that need no slot (fields, voice, format, upstream policy), then
one admission slot held by ``runtime.admit()`` inside an ``AsyncExitStack`` together with the
session; a streaming response takes the stack over (``pop_all``) and closes it when it ends. The
client going away (watched while we wait on the upstream, as nothing is being sent then) and
``--request-timeout`` end the session, so nothing outlives its client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
from fastapi import Request
from starlette.responses import JSONResponse, Response

from ..errors import InvalidRequestError
from ..options import EngineOptions
from ..request import TTSRequest
from ..text_stream import SentenceBuffer
from .chat_schemas import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    ChunkAudio,
    ChunkChoice,
    ChunkDelta,
    MessageAudio,
)
from .chat_speech import AudioPiece, SentenceSpeaker, reap
from .chat_upstream import Deadline, UpstreamEvent, UpstreamReply, UpstreamTarget, resolve_target
from .encoding import OPENAI_PCM_RATE, AudioStreamEncoder
from .errors import to_api_error
from .schemas import ChatAudioParams, ChatRequest
from .streaming import ClosingStreamingResponse
from .synthesis import voice_for_request

if TYPE_CHECKING:
    from ..tts import TTS
    from .runtime import ServerRuntime

T = TypeVar("T")

_OURS = {"llm_base_url", "llm_api_key", "llm_model", "language", "audio", "modalities", "stream"}
_FORMATS = {"pcm16": "pcm", "wav": "wav", "mp3": "mp3", "opus": "opus", "flac": "flac", "aac": "aac"}
CLIENT_CLOSED = 499  # nginx's "client closed request": logged, never seen by the client


def encode_payload(payload: dict[str, Any]) -> bytes:
    """Strict JSON for the upstream. What JSON cannot carry (a lone surrogate, NaN, infinity) is
    a 400 naming the field (``messages[0].content``) rather than a crash mid-request."""
    todo: list[tuple[Any, str]] = [(v, k) for k, v in payload.items()]
    while todo:
        value, path = todo.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequestError(f"{path} is {value}; JSON numbers must be finite", path)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(str(key), path)
                todo.append((item, f"{path}.{key}"))
        elif isinstance(value, list):
            todo.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(f"{path} contains a lone surrogate ({text[exc.start]!r}); send valid Unicode", path) from None


@dataclass(frozen=True)
class ChatPlan:
    """Everything decided before a slot is taken; each field was checked."""

    target: UpstreamTarget
    body: bytes
    model: str
    stream: bool
    speak: bool
    voice: str | None
    language: str
    encoder: AudioStreamEncoder
    options: EngineOptions | None = None


@dataclass
class ChatStats:
    outcome: Literal["ok", "error", "cancelled"] = "cancelled"
    recorded: bool = False


@dataclass(frozen=True)
class _Done:
    """A task of the session finished (``error`` set if it failed)."""

    error: BaseException | None = None


class ClientGone(Exception):
    """The client disconnected while we were waiting on the upstream."""


class ChatSession:
    """One relayed turn: opens the upstream reply, then yields what to send, in order."""

    def __init__(self, client: httpx.AsyncClient, plan: ChatPlan, tts: TTS, request_timeout: float | None) -> None:
        self.client = client
        self.plan = plan
        self.tts = tts
        self.deadline = Deadline(request_timeout)
        self.stats = ChatStats()
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.audio_id = f"audio_{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = plan.model
        self.reply: UpstreamReply | None = None
        self._events: AsyncIterator[UpstreamEvent] | None = None
        self._first: UpstreamEvent | None = None
        self.speaker = SentenceSpeaker(tts, plan.voice, plan.language, plan.encoder, plan.options)
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Send the request and read the first event, so that early faults still get a status."""
        try:
            self.reply = await UpstreamReply.open(self.client, self.plan.target, self.plan.body, self.deadline)
            self._events = self.reply.events()
            self._first = await anext_or_none(self._events)
        except Exception:
            self.stats.outcome = "error"
            raise

    async def aclose(self) -> None:
        """Every task reaped first, then the upstream connection closed (or returned to the pool)."""
        await reap(self._tasks)
        await self.speaker.aclose()
        if self._events is not None:
            await self._events.aclose()  # type: ignore[attr-defined]
        if self.reply is not None:
            await self.reply.aclose()

    # --- the merged stream --------------------------------------------------------------------
    async def items(self) -> AsyncIterator[UpstreamEvent | AudioPiece]:
        """Upstream chunks and audio pieces as they come; the final upstream chunks last."""
        out: asyncio.Queue[UpstreamEvent | AudioPiece | _Done] = asyncio.Queue(maxsize=32)
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        held: list[UpstreamEvent] = []
        speaking = self._speak(out, sentences) if self.plan.speak else self._drain(sentences)
        tasks = [asyncio.create_task(self._guard(self._relay(out, sentences, held), out), name="auralis-chat-relay"),
                 asyncio.create_task(self._guard(speaking, out), name="auralis-chat-speak")]
        self._tasks += tasks
        try:
            running = len(tasks)
            while running:
                item = await out.get()
                if isinstance(item, _Done):
                    if item.error is not None:
                        raise item.error
                    running -= 1
                    continue
                yield item
            for event in held:
                yield event
            self.stats.outcome = "ok"
        except Exception:
            self.stats.outcome = "error"
            raise
        finally:
            await reap(tasks)

    @staticmethod
    async def _guard(work: Awaitable[None], out: asyncio.Queue[Any]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await out.put(_Done(exc))
            return
        await out.put(_Done())

    async def _relay(self, out: asyncio.Queue[Any], sentences: asyncio.Queue[str | None], held: list[UpstreamEvent]) -> None:
        assert self._events is not None
        buffer = SentenceBuffer(min_chars=8)
        try:
            event = self._first
            while event is not None:
                self.model = event.chunk.model or self.model
                if event.chunk.is_final:
                    held.append(event)
                else:
                    await out.put(event)
                for choice in event.chunk.choices:
                    if choice.delta.content:
                        for sentence in buffer.push(choice.delta.content):
                            sentences.put_nowait(sentence)
                event = await anext_or_none(self._events)
            for sentence in buffer.flush():
                sentences.put_nowait(sentence)
        finally:
            sentences.put_nowait(None)

    async def _speak(self, out: asyncio.Queue[Any], sentences: asyncio.Queue[str | None]) -> None:
        async def texts() -> AsyncIterator[str]:
            while (sentence := await sentences.get()) is not None:
                yield sentence

        async for piece in self.speaker.speak(texts()):
            await out.put(piece)

    @staticmethod
    async def _drain(sentences: asyncio.Queue[str | None]) -> None:
        while await sentences.get() is not None:
            pass

    # --- the two answers ----------------------------------------------------------------------
    def _audio_chunk(self, piece: AudioPiece) -> dict[str, Any]:
        audio = ChunkAudio(id=self.audio_id, data=base64.b64encode(piece.data).decode(), transcript=piece.transcript)
        chunk = ChatCompletionChunk(id=self.id, created=self.created, model=self.model,
                                    choices=[ChunkChoice(delta=ChunkDelta(audio=audio))]).model_dump(exclude_none=True)
        chunk["choices"][0]["finish_reason"] = None  # present and null, as OpenAI sends it
        return chunk

    async def sse(self) -> AsyncIterator[bytes]:
        """``stream: true``: the SSE body. A fault after the start is one error event, as OpenAI does."""
        try:
            async for item in self.items():
                data = item.raw if isinstance(item, UpstreamEvent) else self._audio_chunk(item)
                yield f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        except Exception as exc:
            yield f"data: {json.dumps(to_api_error(exc).body())}\n\n".encode()
        yield b"data: [DONE]\n\n"

    async def complete(self) -> ChatCompletion:
        """``stream: false``: the whole turn as one `ChatCompletion`."""
        text: list[str] = []
        audio: list[bytes] = []
        finish, usage = "stop", None
        async for item in self.items():
            if isinstance(item, AudioPiece):
                audio.append(item.data)
                continue
            usage = item.chunk.usage or usage
            for choice in item.chunk.choices:
                text.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
        content = "".join(text)
        message = ChatMessage(content=content)
        if self.plan.speak:
            message.audio = MessageAudio(id=self.audio_id, data=base64.b64encode(b"".join(audio)).decode(),
                                         transcript=content, expires_at=int(time.time()) + 3600)
        return ChatCompletion(id=self.id, created=self.created, model=self.model,
                              choices=[ChatChoice(message=message, finish_reason=finish)], usage=usage)


async def anext_or_none(events: AsyncIterator[T]) -> T | None:
    try:
        return await events.__anext__()
    except StopAsyncIteration:
        return None


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body is already read, so only that can arrive)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class ServingChat:
    """Voice chat for one app: one shared upstream client (connection reuse), closed with the app."""

    def __init__(self, runtime: ServerRuntime) -> None:
        self.runtime = runtime
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            config = self.runtime.config
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(config.llm_timeout, connect=min(10.0, config.llm_timeout)),
                limits=httpx.Limits(max_connections=self.runtime.capacity),
                follow_redirects=False,  # an allowed upstream must not bounce us elsewhere
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def plan(self, body: ChatRequest, tts: TTS) -> ChatPlan:
        """Every check that can fail before a slot is taken or the upstream is called."""
        config = self.runtime.config
        params = body.audio or ChatAudioParams()
        try:
            voice = voice_for_request(tts, config, params.voice, body.language)
            language = body.language or "auto"
            probe = TTSRequest(text="probe", voice=voice, language=language,
                               options={**config.options, **(params.options or {})}).resolved_for(tts.engine)
            encoder = AudioStreamEncoder(_FORMATS[params.format], tts.capabilities.sample_rate, OPENAI_PCM_RATE)
            target = resolve_target(config.llm_base_url, config.llm_api_key, config.llm_allowed_urls,
                                    body.llm_base_url, body.llm_api_key)
            payload = {k: v for k, v in body.model_dump(exclude_none=True).items() if k not in _OURS}
            payload["model"] = body.llm_model or config.llm_model or body.model
            payload["stream"] = True
            data = encode_payload(payload)
        except Exception as exc:
            raise to_api_error(exc) from exc
        speak = body.modalities is None or "audio" in body.modalities
        return ChatPlan(target, data, payload["model"], body.stream, speak, voice, language, encoder, probe.options)

    async def create(self, body: ChatRequest, request: Request) -> Response:
        tts = self.runtime.ready_tts()
        plan = self.plan(body, tts)
        async with AsyncExitStack() as stack:
            stack.enter_context(self.runtime.admit())
            session = ChatSession(self.client, plan, tts, self.runtime.config.request_timeout)
            stack.push_async_callback(self._finish, session)
            try:
                await self._unless_gone(request, session.open())
                if plan.stream:
                    return ClosingStreamingResponse(session.sse(), stack.pop_all().aclose, media_type="text/event-stream",
                                                    headers={"Cache-Control": "no-cache"})
                completion = await self._unless_gone(request, session.complete())
            except ClientGone:
                return Response(status_code=CLIENT_CLOSED)
            return JSONResponse(completion.model_dump(exclude_none=True))

    async def _finish(self, session: ChatSession) -> None:
        await session.aclose()
        stats = session.stats
        if not stats.recorded:
            stats.recorded = True
            self.runtime.metrics.record_synthesis(stats.outcome)  # audio and latency: the engine's tracker

    @staticmethod
    async def _unless_gone(request: Request, work: Awaitable[T]) -> T:
        """Run ``work`` unless the client disconnects first (then cancel it and raise `ClientGone`)."""
        task = asyncio.ensure_future(work)
        watch = asyncio.create_task(_disconnected(request))
        try:
            await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, watch):
                pending.cancel()
            await asyncio.gather(task, watch, return_exceptions=True)
        if task.cancelled():
            raise ClientGone
        return task.result()  # or its error
