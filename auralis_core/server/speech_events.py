"""The events of ``/v1/audio/speech`` with ``stream_format: "sse"`` (OpenAI's shapes).

One model per event type: the stream is built from them and the OpenAPI schema describes them,
so what the schema promises is what the server sends.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from .schemas import ErrorDetail, SpeechUsage


class SpeechAudioDelta(BaseModel):
    type: Literal["speech.audio.delta"] = "speech.audio.delta"
    audio: str = Field(description="base64 of the next piece of encoded audio")


class SpeechAudioDone(BaseModel):
    type: Literal["speech.audio.done"] = "speech.audio.done"
    usage: SpeechUsage


class StreamError(BaseModel):
    """Sent in-band when synthesis fails after the 200 went out; the stream ends after it."""

    type: Literal["error"] = "error"
    error: ErrorDetail


SpeechEvent = Annotated[Union[SpeechAudioDelta, SpeechAudioDone, StreamError], Field(discriminator="type")]


def sse_frame(event: BaseModel) -> bytes:
    return f"data: {event.model_dump_json()}\n\n".encode()


def sse_media_type(description: str) -> dict[str, Any]:
    """OpenAPI media type for ``text/event-stream``: each event's ``data`` is one JSON object of
    ``x-event-schema`` (OpenAPI 3.1 has no field for the items of a stream; 3.2's ``itemSchema``
    is the same idea)."""
    schema = _event_schema()
    schema.pop("$defs", None)
    return {"schema": {"type": "string", "description": description}, "x-event-schema": schema}


def event_components() -> dict[str, Any]:
    """The event models' own schemas, for ``components.schemas``."""
    return _event_schema().get("$defs", {})


def _event_schema() -> dict[str, Any]:
    return TypeAdapter(SpeechEvent).json_schema(ref_template="#/components/schemas/{model}")
