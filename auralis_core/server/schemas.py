"""Request and response bodies of the HTTP API (OpenAI's shapes plus Auralis extensions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..engine.describe import EngineDescription

ResponseFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class VoiceObject(BaseModel):
    """OpenAI's custom-voice reference ``{"id": "..."}``."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256)


class SpeechRequest(BaseModel):
    """``POST /v1/audio/speech``. Fields after ``stream_format`` are Auralis extensions, sent by the
    openai client with ``extra_body={...}``. Any other field is an option of the engine (e.g.
    ``temperature`` for XTTS), validated against the engine's ``Options``: an unknown one is a 400
    naming it, as OpenAI rejects unknown fields."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256, description="engine name or a served model alias")
    input: str = Field(description="text to speak; longer than the server's limit (default 4096) is 413")
    voice: str | VoiceObject = Field(description="built-in, uploaded or OpenAI voice name, or {'id': name}")
    instructions: str | None = Field(None, max_length=4096, description="accepted; engines that cannot follow it ignore it")
    response_format: ResponseFormat = "mp3"
    # strict: `true` or "1.5" is an error, not a speed (JSON integers are still numbers)
    speed: float = Field(1.0, ge=0.25, le=4.0, strict=True, allow_inf_nan=False)
    stream_format: Literal["audio", "sse"] = "audio"
    # --- Auralis extensions ---
    language: str | None = Field(None, min_length=1, max_length=32, description="language code or 'auto'")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    options: dict[str, Any] | None = Field(
        None, description="engine options (see GET /v1/engines); these win over the same names given as top-level fields"
    )
    speaker_audio: list[str] | None = Field(
        None, max_length=16, description="reference clips as base64 (any decodable format) for one-off cloning"
    )
    normalize: bool | None = Field(None, strict=True, description="reference audio: loudness normalisation")
    trim_silence: bool | None = Field(None, strict=True, description="reference audio: trim leading/trailing silence")
    noise_reduction: bool | None = Field(None, strict=True, description="reference audio: spectral noise reduction")
    enhance_speech: bool | None = Field(None, strict=True, description="reference audio: speech enhancement")
    sample_rate: int | None = Field(
        None, ge=8000, le=48000, description="output rate; default 24000 (OpenAI's), see native_sample_rate"
    )
    native_sample_rate: bool = Field(False, strict=True, description="keep the engine's own sample rate (pcm included)")


    def engine_options(self) -> dict[str, Any]:
        """Top-level extra fields, then ``options`` over them."""
        return {**(self.model_extra or {}), **(self.options or {})}


class SpeechUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class EngineList(BaseModel):
    object: Literal["list"] = "list"
    data: list[EngineDescription]


class VoiceInfo(BaseModel):
    """One voice. ``object``/``id``/``name``/``created_at``/``type`` follow OpenAI's voice object."""

    id: str
    object: Literal["audio.voice"] = "audio.voice"
    name: str
    created_at: int
    type: Literal["builtin", "audio_sample", "alias"]
    engine: str
    alias_of: str | None = None


class VoiceList(BaseModel):
    object: Literal["list"] = "list"
    data: list[VoiceInfo]


class VoiceDeleted(BaseModel):
    id: str
    object: Literal["audio.voice.deleted"] = "audio.voice.deleted"
    deleted: bool = True


class Health(BaseModel):
    status: Literal["ok", "loading", "failed", "stopping"]
    engine: str | None = None
    detail: str | None = None


class ChatAudioParams(BaseModel):
    model_config = ConfigDict(extra="allow")
    voice: str | VoiceObject = "alloy"
    format: Literal["pcm16", "wav", "mp3", "opus", "flac", "aac"] = "pcm16"
    options: dict[str, Any] | None = Field(None, description="engine options for the spoken reply (Auralis)")


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``: relayed upstream; extra fields pass through untouched."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1, max_length=256)
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = Field(False, strict=True)
    modalities: list[Literal["text", "audio"]] | None = None
    audio: ChatAudioParams | None = None
    # --- Auralis extensions ---
    llm_base_url: str | None = Field(
        None, max_length=2048, description="another upstream for this request; only one the server allows (--llm-allow-url)"
    )
    llm_api_key: str | None = Field(
        None, min_length=1, max_length=4096, pattern=r"^[\x21-\x7e]+$",
        description="key for the upstream (printable ASCII, sent as a header); required with llm_base_url",
    )
    llm_model: str | None = Field(None, description="model name sent upstream (default: `model`)")
    language: str | None = None
