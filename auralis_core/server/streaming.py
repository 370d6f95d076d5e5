"""`SpeechStream`: one synthesis as a byte stream, with metrics, admission and cancellation.

The first audio chunk is awaited *before* the HTTP response starts, so anything that fails early
(unknown voice, bad language, engine refusal) still gets a proper status code. After that, a
client that goes away cancels the generator, which cancels the engine work (the facade relays
cancellation to the engine loop) and is counted as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ..output import TTSOutput
from ..request import TTSRequest
from .encoding import AudioStreamEncoder
from .errors import APIError, to_api_error
from .metrics import ServerMetrics

if TYPE_CHECKING:
    from ..tts import TTS

log = logging.getLogger("auralis.server")


class SpeechStream:
    def __init__(
        self,
        tts: TTS,
        request: TTSRequest,
        encoder: AudioStreamEncoder,
        metrics: ServerMetrics,
        release: Callable[[], None],
    ) -> None:
        self.tts = tts
        self.request = request
        self.encoder = encoder
        self.metrics = metrics
        self.release = release
        self.audio_seconds = 0.0
        self._chunks: AsyncIterator[TTSOutput] | None = None
        self._first: TTSOutput | None = None

    async def start(self) -> None:
        """Run until the first chunk exists; on failure, release everything and raise an APIError."""
        try:
            self._chunks = self.tts.stream_async(self.request)
            try:
                self._first = await self._chunks.__anext__()
            except StopAsyncIteration:
                raise APIError(400, "the engine produced no audio for this input", param="input", code="no_audio") from None
        except BaseException as exc:
            await self._close("error" if not isinstance(exc, asyncio.CancelledError) else "cancelled")
            if isinstance(exc, Exception):
                raise to_api_error(exc) from exc
            raise

    async def audio(self) -> AsyncIterator[bytes]:
        """Encoded bytes as they are produced (empty pieces skipped)."""
        assert self._chunks is not None and self._first is not None
        outcome = "error"
        try:
            chunk: TTSOutput | None = self._first
            self._first = None
            while chunk is not None:
                self.audio_seconds += chunk.duration
                data = await self.encoder.feed_async(chunk.samples)
                if data:
                    yield data
                try:
                    chunk = await self._chunks.__anext__()
                except StopAsyncIteration:
                    chunk = None
            tail = await self.encoder.finish_async()
            if tail:
                yield tail
            outcome = "ok"
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        except Exception as exc:
            log.warning("stream %s failed after it started: %s", self.request.request_id, to_api_error(exc).message)
            raise
        finally:
            await self._close(outcome)

    async def sse(self) -> AsyncIterator[bytes]:
        """OpenAI's speech SSE: ``speech.audio.delta`` events, then ``speech.audio.done`` with usage."""
        from .speech_events import SpeechAudioDelta, SpeechAudioDone, StreamError, sse_frame
        from .synthesis import usage

        try:
            async for data in self.audio():
                yield sse_frame(SpeechAudioDelta(audio=base64.b64encode(data).decode()))
        except Exception as exc:  # the status is already sent: report in-band, as OpenAI does
            yield sse_frame(StreamError(error=to_api_error(exc).body()["error"]))
            return
        text = self.request.text if isinstance(self.request.text, str) else " ".join(self.request.texts())
        yield sse_frame(SpeechAudioDone(usage=usage(text, self.audio_seconds)))

    async def abandon(self) -> None:
        """Release resources if the body was never (fully) iterated; no-op otherwise."""
        await self._close("cancelled")

    async def _close(self, outcome: str) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                try:
                    await asyncio.shield(aclose())
                except BaseException:
                    pass
            self.metrics.record_synthesis(outcome)
        self.release()


class ClosingStreamingResponse(StreamingResponse):
    """Runs ``on_close`` however the response ends, even if the body was never iterated (a client
    that left before the headers went out), so slots and engine work are always released."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], object], **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            result = self._on_close()
            if asyncio.iscoroutine(result):
                await asyncio.shield(result)
