"""`EngineDescription`: one engine as ``auralis engines --json`` and ``GET /v1/engines`` show it.

Built from an installed engine's registration (class defaults, no model loaded) or from a loaded
engine (its checkpoint's voices and option defaults).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from ..registry.registry import EngineSpec
    from .base import BaseAsyncTTSEngine, ConditioningConfig, EngineCapabilities


class EngineLimits(BaseModel):
    """What one request may ask of the engine."""

    max_reference_files: int | None = Field(None, description="reference clips per cloning request (cloning engines)")
    max_reference_seconds: float | None = Field(None, description="audio read from each reference clip")
    preferred_concurrency: int | None = Field(None, description="segments the engine runs best at once")


class EngineDescription(BaseModel):
    name: str
    description: str = ""
    package: str | None = None
    version: str | None = None
    sample_rate: int | None = None
    languages: list[str] = Field(default_factory=list)
    voices: list[str] = Field(default_factory=list)
    default_voice: str | None = None
    voice_aliases: dict[str, str] = Field(default_factory=dict, description="OpenAI voice name -> engine voice")
    voice_languages: dict[str, list[str]] = Field(default_factory=dict)
    voice_cloning: bool = False
    streaming: bool = False
    native_speed: bool = False
    auto_language: bool = True
    deterministic: bool = False
    model_types: list[str] = Field(default_factory=list)
    model_ids: list[str] = Field(default_factory=list)
    limits: EngineLimits | None = None
    options_schema: dict[str, Any] | None = Field(None, description="JSON Schema of the engine's Options")
    default_options: dict[str, Any] | None = Field(None, description="what a request gets for options it leaves out")
    error: str | None = Field(None, description="why (part of) this engine could not be described")


def _from_capabilities(caps: EngineCapabilities, conditioning: ConditioningConfig | None) -> dict[str, Any]:
    cloning = conditioning is not None and caps.voice_cloning
    return {
        "name": caps.name, "description": caps.description, "sample_rate": caps.sample_rate,
        "languages": list(caps.languages),
        "voices": list(caps.voices), "default_voice": caps.default_voice, "voice_aliases": dict(caps.voice_aliases),
        "voice_languages": {voice: list(langs) for voice, langs in caps.voice_languages.items()},
        "voice_cloning": caps.voice_cloning, "streaming": caps.streaming, "native_speed": caps.native_speed,
        "auto_language": caps.auto_language, "deterministic": caps.deterministic,
        "model_types": list(caps.model_types), "model_ids": list(caps.model_ids),
        "limits": EngineLimits(
            max_reference_files=conditioning.max_reference_files if cloning else None,
            max_reference_seconds=conditioning.max_reference_seconds if cloning else None,
            preferred_concurrency=caps.preferred_concurrency,
        ),
    }


def describe_spec(spec: EngineSpec) -> EngineDescription:
    """An installed engine without loading a model. Options need the engine class, which is
    imported here; an engine that fails to import is still listed, with ``error`` set."""
    try:
        fields = _from_capabilities(spec.capabilities, None)
    except Exception as exc:
        return EngineDescription(name=spec.name, package=spec.package, version=spec.version,
                                 error=f"{type(exc).__name__}: {exc}")
    fields.update(name=spec.name, package=spec.package, version=spec.version)
    try:
        cls = spec.load()
        fields.update(_from_capabilities(spec.capabilities, cls.conditioning_config), name=spec.name)
        fields["options_schema"] = cls.Options.model_json_schema()
        fields["default_options"] = cls.Options().model_dump(mode="json")
    except Exception as exc:
        fields["error"] = f"options unavailable: {type(exc).__name__}: {exc}"
    return EngineDescription(**fields)


def describe_engine(engine: BaseAsyncTTSEngine, name: str | None = None) -> EngineDescription:
    """A loaded engine: its instance's capabilities and option defaults (e.g. the checkpoint's)."""
    fields = _from_capabilities(engine.get_capabilities(), engine.conditioning_config)
    if name:
        fields["name"] = name
    fields["options_schema"] = engine.Options.model_json_schema()
    fields["default_options"] = engine.default_options().model_dump(mode="json")
    return EngineDescription(**fields)
