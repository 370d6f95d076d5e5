"""Typed shapes of voice chat: the chunks we read from the upstream LLM and send on, and the
non-streaming answer. Upstream chunks keep unknown fields (``extra="allow"``), so what we relay
stays as the upstream sent it; the fields we act on are checked (a wrong shape is a 502)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

_REF = "#/components/schemas/{model}"


class ChunkAudio(BaseModel):
    """A piece of the spoken reply: base64 audio in the requested format; ``transcript`` is set on
    the first piece of each sentence."""

    id: str
    data: str
    transcript: str | None = None


class ChunkDelta(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str | None = None
    content: str | None = None
    audio: ChunkAudio | None = None


class ChunkChoice(BaseModel):
    model_config = ConfigDict(extra="allow")
    index: int = 0
    delta: ChunkDelta = Field(default_factory=ChunkDelta)
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` event of ``stream: true``: the upstream's chunks as sent, and ours with audio."""

    model_config = ConfigDict(extra="allow")
    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: dict[str, Any] | None = None

    @property
    def is_final(self) -> bool:
        """The chunk that ends the reply (``finish_reason`` or usage only): held until the audio is done."""
        return any(c.finish_reason for c in self.choices) or (not self.choices and self.usage is not None)


class MessageAudio(BaseModel):
    id: str
    data: str = Field(description="base64 audio of the whole reply in the requested format")
    transcript: str
    expires_at: int


class ChatMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    audio: MessageAudio | None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    """The answer of ``stream: false``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: dict[str, Any] | None = None


CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ChatCompletion,
        "description": (
            "`stream: false`: one chat.completion (JSON). `stream: true`: server-sent events, each "
            "`data: <ChatCompletionChunk JSON>`, the upstream's text chunks and audio chunks "
            "interleaved, the final chunk (finish_reason, usage) after the audio, then `data: [DONE]`. "
            "A fault after the stream started is one `data: {\"error\": {...}}` event before `[DONE]`."
        ),
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "itemSchema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {
                            "type": "string",
                            "description": "a ChatCompletionChunk or an error object as JSON, or the literal [DONE]",
                            "contentMediaType": "application/json",
                            "contentSchema": {"anyOf": [{"$ref": _REF.format(model="ChatCompletionChunk")},
                                                        {"$ref": _REF.format(model="ErrorResponse")}]},
                        },
                    },
                },
            }
        },
    }
}
"""OpenAPI description of the chat route's 200 answer, JSON and SSE (FastAPI's own ``itemSchema``
form for event streams)."""


def add_stream_schemas(schema: dict[str, Any]) -> None:
    """Put the models that only the SSE description references into ``components.schemas``."""
    _, defs = models_json_schema([(ChatCompletionChunk, "serialization")], ref_template=_REF)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in defs.get("$defs", {}).items():
        components.setdefault(name, definition)
