"""Entry point of ``auralis-piper``: registers the engine without importing onnxruntime or piper."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auralis_core import EngineCapabilities, hookimpl

if TYPE_CHECKING:
    from .voices import VoiceCatalog

OPENAI_VOICES: tuple[str, ...] = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer", "verse",
)
"""OpenAI's voice names (the server's list; a test keeps the two equal). Kept here so that listing
engines does not import the server."""


def voice_aliases_for(catalog: VoiceCatalog, names: Sequence[str] = OPENAI_VOICES) -> Mapping[str, str]:
    """Spread OpenAI's voice names over the loaded English voices and speakers (all voices if
    none is English), in catalogue order: with the bundled voice alone, every name is ``joe``."""
    english = [v for v in catalog if v.config.family == "en"] or list(catalog)
    candidates: list[str] = []
    for voice in english:
        speakers = voice.config.speaker_names()
        candidates += [f"{voice.name}:{s}" for s in speakers] if speakers else [voice.name]
    return {name: candidates[i % len(candidates)] for i, name in enumerate(names)}


def build_capabilities(catalog: VoiceCatalog, default_voice: str, preferred_concurrency: int | None = None) -> EngineCapabilities:
    default = catalog.resolve(default_voice)[0]
    return EngineCapabilities(
        name="piper",
        languages=catalog.languages(),
        sample_rate=default.config.sample_rate,
        voice_cloning=False,
        streaming=True,
        voices=catalog.names(),
        default_voice=default.name,
        auto_language=True,
        native_speed=True,
        model_ids=("rhasspy/piper-voices",),
        description="Piper (VITS, ONNX): natural speech on any CPU; voices from files, folders or rhasspy/piper-voices",
        voice_aliases=voice_aliases_for(catalog),
        voice_languages=catalog.voice_languages(),
        preferred_concurrency=preferred_concurrency,
        deterministic=True,
    )


def bundled_capabilities() -> EngineCapabilities:
    """What ``auralis engines`` shows: the engine with its bundled voice (reads one small JSON)."""
    from .pool import available_cores
    from .voices import VoiceCatalog, bundled_voice

    return build_capabilities(VoiceCatalog([bundled_voice()]), "joe", preferred_concurrency=2 * available_cores())


@hookimpl
def register_engines(register: Callable[..., Any]) -> None:
    register("piper", "auralis_piper.engine:PiperEngine", capabilities=bundled_capabilities)
