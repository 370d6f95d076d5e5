"""eSpeak's voices and languages as Auralis sees them (cheap: ctypes + one list call, ~50 ms)."""

from __future__ import annotations

from functools import lru_cache

from auralis_core.engine.base import EngineCapabilities

from ._binding import library, variants

DEFAULT_VOICE = "en-us"

OPENAI_VOICE_ALIASES: dict[str, str] = {
    "alloy": "en-us", "ash": "en-us+m3", "ballad": "en-gb+m2", "cedar": "en-us+m1",
    "coral": "en-us+f3", "echo": "en-gb", "fable": "en-gb+f2", "marin": "en-us+f4",
    "nova": "en-us+f2", "onyx": "en-us+m7", "sage": "en-gb+f4", "shimmer": "en-us+f1",
    "verse": "en-us+m2",
}
"""OpenAI's voice names as eSpeak voices: a spread of English accents and variants, so that
clients which only send OpenAI names still get distinct voices."""


@lru_cache(maxsize=1)
def _voice_for_code() -> dict[str, str]:
    """Language code -> the eSpeak voice identifier that speaks it best.

    A voice whose file is named after the code wins (``en`` -> ``gmw/en``); otherwise the voice
    that lists the code with the best (lowest) priority.
    """
    best: dict[str, tuple[int, int, str]] = {}
    for order, voice in enumerate(library().voices):
        stem = voice.identifier.rsplit("/", 1)[-1].lower()
        for priority, code in voice.languages:
            rank = (0 if stem == code else 1, priority, order)
            if code not in best or rank < best[code][:3]:
                best[code] = (*rank, voice.identifier)
    return {code: entry[3] for code, entry in best.items()}


def language_codes() -> tuple[str, ...]:
    """Every language code any eSpeak voice declares (``en``, ``en-us``, ``de``, ``cmn`` ...)."""
    return tuple(sorted(_voice_for_code()))


def resolve_voice(name: str) -> str | None:
    """Map a user's voice name to what ``espeak_SetVoiceByName`` takes, or None if unknown.

    Voices are language codes (``en-gb``), optionally with a variant (``en-gb+f3``).
    """
    base, _, variant = name.strip().lower().partition("+")
    identifier = _voice_for_code().get(base)
    if identifier is None:
        return None
    if variant:
        known = {v.lower(): v for v in variants()}
        if variant not in known:
            return None
        return f"{identifier}+{known[variant]}"
    return identifier


def capabilities() -> EngineCapabilities:
    codes = language_codes()
    return EngineCapabilities(
        name="espeak",
        languages=codes,
        sample_rate=library().sample_rate,
        voice_cloning=False,
        streaming=True,
        voices=codes,
        default_voice=DEFAULT_VOICE,
        auto_language=True,
        native_speed=True,
        voice_aliases=OPENAI_VOICE_ALIASES,
        voice_languages={code: (code,) for code in codes},  # a voice is named after its language
        preferred_concurrency=1,  # one C library instance, not re-entrant: more would only queue
        deterministic=False,  # the same text comes out a few samples longer or shorter from call to call
        description="eSpeak NG (bundled): formant synthesis, 100+ languages, offline on any CPU",
    )
