"""`ServerConfig`: every knob of the server in one validated object (CLI flags map onto it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

if TYPE_CHECKING:
    from ..engine.base import EngineCapabilities

OPENAI_VOICES: tuple[str, ...] = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer", "verse",
)
"""OpenAI's built-in voice names; some clients refuse to send anything else."""

OPENAI_SPEECH_MODELS: tuple[str, ...] = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
"""Model names OpenAI clients send by default; served as aliases of the loaded engine."""

MIB = 1024 * 1024


def _cli(flag: str | None = None, **extra: Any) -> dict[str, Any]:
    """How `auralis serve` spells a field: ``flag`` (default ``--field-name``), ``scale`` (the
    flag is in MiB), ``envvar``, ``split`` (comma-separated values too), ``metavar``."""
    return {"cli": {"flag": flag, **extra}}


class ServerConfig(BaseModel):
    """Configuration of one server process (one engine, one model). The single source of the
    server's settings and defaults: `auralis serve`'s flags are generated from these fields."""

    engine: str | None = Field(None, description="engine name (see `auralis engines`); default: piper if installed, else espeak")
    model: str | None = Field(None, description="checkpoint directory or hub id for the engine")
    engine_args: dict[str, Any] = Field(
        default_factory=dict, description="keyword argument for the engine's from_pretrained, e.g. backend=vllm",
        json_schema_extra=_cli("--engine-arg", metavar="KEY=VALUE"))
    options: dict[str, Any] = Field(
        default_factory=dict, description="engine option every request starts from (a request's own win), e.g. "
        "temperature=0.6; checked against the engine at start-up", json_schema_extra=_cli("--option", metavar="KEY=VALUE"))
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=0, le=65535, description="port to listen on")
    api_key: str | None = Field(None, description="require 'Authorization: Bearer KEY'",
                                json_schema_extra=_cli(envvar="AURALIS_API_KEY"))
    max_concurrency: int | None = Field(
        None, ge=1, description="segments synthesised at once by the scheduler (default: the engine's preferred "
        "concurrency, else 8)")
    max_queue: int = Field(32, ge=0, description="requests allowed to wait beyond max_concurrency before 429")
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After of a 429 (busy) or 503 (loading) answer")
    request_timeout: float | None = Field(None, gt=0, description="seconds per synthesis request")
    voices_dir: Path | str | None = Field(
        None, description="voice store shared by all replicas: a directory or an fsspec URL (s3://bucket/voices)")
    cors_origins: list[str] = Field(default_factory=list, description="allowed CORS origin (or comma-separated list)",
                                    json_schema_extra=_cli(split=True))
    max_input_chars: int = Field(4096, ge=1, description="longest input text of one speech request")
    max_upload_bytes: int = Field(10 * MIB, ge=1024, description="voice upload limit (all clips of one upload)",
                                  json_schema_extra=_cli("--max-upload-mb", scale=MIB))
    max_body_bytes: int | None = Field(
        None, ge=1024, description="limit of any other (JSON) request body; default: room for base64 speaker_audio "
        "of the upload limit plus 1 MiB", json_schema_extra=_cli("--max-body-mb", scale=MIB))
    served_model_names: list[str] = Field(
        default_factory=lambda: list(OPENAI_SPEECH_MODELS), description="model alias to accept besides the engine name",
        json_schema_extra=_cli("--served-model-name"))
    voice_aliases: dict[str, str] = Field(default_factory=dict, description="map an OpenAI voice name, e.g. alloy=en-gb",
                                          json_schema_extra=_cli("--voice-alias", metavar="NAME=VOICE"))
    llm_base_url: str | None = Field(None, description="upstream OpenAI-compatible LLM base URL for /v1/chat/completions",
                                     json_schema_extra=_cli("--llm-url"))
    llm_api_key: str | None = Field(None, description="key for the upstream LLM",
                                    json_schema_extra=_cli(envvar="AURALIS_LLM_API_KEY"))
    llm_model: str | None = Field(None, description="model name sent upstream (default: the client's)")
    llm_allowed_urls: list[str] = Field(
        default_factory=list,
        description="base URL a request may pick with llm_base_url (same scheme, host and port; path at or below); "
        "none: refused. Such a request must send its own llm_api_key; the server's key never goes there",
        json_schema_extra=_cli("--llm-allow-url"),
    )
    llm_timeout: float = Field(60.0, gt=0, description="seconds the upstream LLM may stay silent "
                               "(--request-timeout bounds its whole reply)")
    graceful_shutdown_timeout: float = Field(30.0, ge=0, description="seconds to finish in-flight requests on shutdown",
                                             json_schema_extra=_cli("--graceful-timeout"))
    public_docs: bool = Field(False, description="serve /docs, /redoc and /openapi.json without the API key")
    playground: bool = Field(True, description="serve the web playground at / and /playground (docs/playground.md)")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="log level")
    # --- scale-out on Ray Serve (auralis serve --ray; docs/scale-out.md) ---
    ray: bool = Field(False, description="serve through Ray Serve replicas instead of one uvicorn process")
    ray_address: str | None = Field(
        None, description="Ray cluster to join (ray://host:10001 or host:6379); default: start a local one on 127.0.0.1")
    replicas: int | None = Field(None, ge=1, description="fixed number of replicas (default 1; exclusive with autoscale)")
    autoscale: tuple[int, int] | None = Field(None, description="MIN:MAX replicas, scaled on requests in flight",
                                              json_schema_extra=_cli(metavar="MIN:MAX"))
    gpus_per_replica: float = Field(0.0, ge=0, description="GPUs each replica reserves (1: one replica per GPU)")
    cpus_per_replica: float = Field(1.0, ge=0, description="CPUs each replica reserves")
    ray_num_cpus: int | None = Field(None, ge=1, description="CPUs of the local cluster Auralis starts (default: all)")

    @field_validator("voices_dir")
    @classmethod
    def _expand_home(cls, value: Path | str | None) -> Path | str | None:
        from ..voice_storage import is_url

        if value is None or (isinstance(value, str) and is_url(value)):
            return value
        return Path(value).expanduser()

    @field_validator("autoscale", mode="before")
    @classmethod
    def _parse_autoscale(cls, value: object) -> object:
        if isinstance(value, str):
            low, sep, high = value.partition(":")
            if not sep or not low.strip().isdigit() or not high.strip().isdigit():
                raise ValueError(f"expected MIN:MAX replicas, e.g. 1:4, got {value!r}")
            return (int(low), int(high))
        return value

    @model_validator(mode="after")
    def _check_scale(self) -> ServerConfig:
        if self.autoscale is not None:
            low, high = self.autoscale
            if low < 0 or high < 1 or low > high:
                raise ValueError(f"autoscale {low}:{high}: need 0 <= MIN <= MAX and MAX >= 1")
            if self.replicas is not None:
                raise ValueError("replicas and autoscale exclude each other: give one")
        return self

    @property
    def json_body_limit(self) -> int:
        """Bytes a non-multipart body may have: base64 of a full speaker_audio upload plus 1 MiB."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return -(-self.max_upload_bytes * 4 // 3) + 1024 * 1024

    @property
    def multipart_body_limit(self) -> int:
        """Bytes a voice upload's multipart body may have: the clips plus form fields and boundaries."""
        return self.max_upload_bytes + 64 * 1024

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_base_url(value, "llm_base_url")
        return value

    @field_validator("llm_allowed_urls")
    @classmethod
    def _check_allowed(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_base_url(value, "llm_allowed_urls")
        return values

    def aliases_for(self, capabilities: EngineCapabilities) -> dict[str, str | None]:
        """OpenAI voice name -> engine voice (None = the engine's default): the engine's own
        ``voice_aliases``, then this config's."""
        base: dict[str, str | None] = {name: capabilities.default_voice for name in OPENAI_VOICES}
        base.update(capabilities.voice_aliases)
        base.update(self.voice_aliases)
        return base


def _check_base_url(value: str, field: str) -> None:
    from .chat_upstream import parse_base_url  # httpx stays out of a bare config import

    try:
        parse_base_url(value, field)
    except ValueError as exc:  # InvalidRequestError: pydantic reports it as this field's error
        raise ValueError(str(exc)) from None
