"""``POST /v1/audio/speech``: OpenAI's text-to-speech contract, streamed as audio or SSE."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from ..auth import require_api_key
from ..encoding import AudioStreamEncoder
from ..errors import ERROR_RESPONSES, to_api_error
from ..schemas import SpeechRequest
from ..speech_events import sse_media_type
from ..streaming import ClosingStreamingResponse, SpeechStream
from ..synthesis import build_request, output_rate

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES)

_AUDIO_RESPONSES = {
    200: {
        "description": "Audio bytes (chunked) or, with stream_format=sse, server-sent events",
        "content": {
            **{ct: {"schema": {"type": "string", "format": "binary"}} for ct in (
                "audio/mpeg", "audio/ogg", "audio/aac", "audio/flac", "audio/wav", "audio/pcm")},
            "text/event-stream": sse_media_type(
                "Server-sent events, each 'data: <JSON>': speech.audio.delta events (base64 audio), then one "
                "speech.audio.done with usage; an error event instead if synthesis fails mid-stream."),
        },
    }
}


@router.post("/v1/audio/speech", response_class=StreamingResponse, responses=_AUDIO_RESPONSES, tags=["audio"])
async def create_speech(body: SpeechRequest, request: Request) -> StreamingResponse:
    """Speak ``input``. The response streams while audio is generated."""
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    try:
        # the HTTP request's id (X-Request-Id) follows the work into engine logs and metrics
        tts_request = build_request(tts, runtime.config, body).copy(request_id=request.state.request_id)
        encoder = AudioStreamEncoder(body.response_format, tts.capabilities.sample_rate,
                                     output_rate(body, tts.capabilities.sample_rate))
    except Exception as exc:
        raise to_api_error(exc) from exc
    release = runtime.acquire()
    stream = SpeechStream(tts, tts_request, encoder, runtime.metrics, release)
    await stream.start()
    headers = {"X-Sample-Rate": str(encoder.sample_rate), "Cache-Control": "no-cache"}
    if body.stream_format == "sse":
        return ClosingStreamingResponse(stream.sse(), stream.abandon, media_type="text/event-stream", headers=headers)
    return ClosingStreamingResponse(stream.audio(), stream.abandon, media_type=encoder.content_type, headers=headers)
