"""Shared by the speech and chat routes: model/voice resolution and building a `TTSRequest`."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import TYPE_CHECKING, Any

from ..errors import AudioDecodeError, InvalidRequestError, VoiceNotFoundError
from ..preprocessing import AudioPreprocessingConfig
from ..request import TTSRequest
from ..voices import validate_voice_name
from .config import OPENAI_VOICES, ServerConfig
from .encoding import OPENAI_PCM_RATE
from .errors import APIError
from .schemas import SpeechRequest, VoiceObject

if TYPE_CHECKING:
    from ..tts import TTS

log = logging.getLogger("auralis.server")

_ENHANCE_FIELDS = ("normalize", "trim_silence", "noise_reduction", "enhance_speech")


def served_models(tts: TTS, config: ServerConfig) -> list[str]:
    return [tts.engine_name] + [m for m in config.served_model_names if m != tts.engine_name]


def check_model(tts: TTS, config: ServerConfig, model: str) -> None:
    if model not in served_models(tts, config):
        raise APIError(
            404,
            f"The model '{model}' does not exist; this server serves: {', '.join(served_models(tts, config))}",
            param="model",
            code="model_not_found",
        )


def resolve_voice(tts: TTS, config: ServerConfig, voice: str | VoiceObject | None) -> tuple[str | None, bool]:
    """Engine voice for a client's voice (None = engine default) and whether it was an OpenAI alias.

    Own names win (an uploaded voice called "alloy" beats the alias); then OpenAI's 13 names.
    """
    if voice is None:
        return None, False
    name = voice.id if isinstance(voice, VoiceObject) else voice
    name = name.strip()
    if name in tts.voices or tts.engine.has_voice(name):
        return name, False
    aliases = config.aliases_for(tts.capabilities)
    if name in aliases:
        return aliases[name], True
    try:
        validate_voice_name(name)
    except InvalidRequestError as exc:
        raise APIError(400, f"invalid voice name {name!r}", param="voice", code="invalid_value") from exc
    raise VoiceNotFoundError(name, list(tts.list_voices()) + list(OPENAI_VOICES))


def voice_for_request(tts: TTS, config: ServerConfig, voice: str | VoiceObject | None, language: str | None) -> str | None:
    """``resolve_voice``, except that an OpenAI alias yields to an explicit language it does not
    speak: then the first voice that the engine's ``voice_languages`` lists for that language (or
    the engine's own choice by language, when it lists none)."""
    resolved, via_alias = resolve_voice(tts, config, voice)
    if not via_alias or not language or language == "auto":
        return resolved
    spoken = tts.capabilities.voice_languages
    if not spoken:
        return resolved
    if _speaks(spoken.get(resolved or tts.capabilities.default_voice or "", ()), language):
        return resolved
    exact = (name for name, langs in spoken.items() if language.lower() in (c.lower() for c in langs))
    return next(exact, None) or next((name for name, langs in spoken.items() if _speaks(langs, language)), None)


def _speaks(languages: tuple[str, ...] | list[str], language: str) -> bool:
    """``language`` or its base (``de`` for ``de-at``) is among ``languages``."""
    wanted = language.lower()
    return any(code.lower() in (wanted, wanted.split("-")[0]) for code in languages)


def decode_speaker_audio(clips: list[str], limit: int) -> list[bytes]:
    out: list[bytes] = []
    if sum(len(c) for c in clips) * 3 // 4 > limit:  # size first: never decode what is refused anyway
        raise APIError(413, f"speaker_audio exceeds the {limit} byte limit", param="speaker_audio", code="upload_too_large")
    for i, clip in enumerate(clips):
        try:
            data = base64.b64decode(clip, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise APIError(400, f"speaker_audio[{i}] is not valid base64", param="speaker_audio", code="invalid_value") from exc
        if not data:
            raise APIError(400, f"speaker_audio[{i}] is empty", param="speaker_audio", code="invalid_value")
        check_audio(data, "speaker_audio")
        out.append(data)
    if sum(len(d) for d in out) > limit:
        raise APIError(413, f"speaker_audio exceeds the {limit} byte limit", param="speaker_audio", code="upload_too_large")
    return out


def check_audio(data: bytes, field: str) -> None:
    """Refuse what is not decodable audio before the engine sees it (soundfile, then FFmpeg)."""
    from ..audio.codecs import decode

    try:
        decode(data)
    except AudioDecodeError as exc:
        raise APIError(400, f"{field}: the file is not decodable audio", param=field, code="invalid_audio") from exc


def output_rate(body: SpeechRequest, engine_rate: int) -> int:
    if body.native_sample_rate:
        return engine_rate
    return body.sample_rate or OPENAI_PCM_RATE


def build_request(tts: TTS, config: ServerConfig, body: SpeechRequest) -> TTSRequest:
    """Validate everything that can fail before the first byte is sent (so errors get a status)."""
    check_model(tts, config, body.model)
    if len(body.input) > config.max_input_chars:
        raise APIError(
            413,
            f"input is {len(body.input)} characters; the limit is {config.max_input_chars}",
            param="input",
            code="string_above_max_length",
        )
    if not body.input.strip():
        raise APIError(400, "input is empty", param="input", code="invalid_value")
    voice = voice_for_request(tts, config, body.voice, body.language)
    language = body.language or "auto"
    kwargs: dict[str, Any] = {"seed": body.seed, "options": {**config.options, **body.engine_options()}}
    enhance = {k: getattr(body, k) for k in _ENHANCE_FIELDS if getattr(body, k) is not None}
    if enhance:
        kwargs["audio_config"] = AudioPreprocessingConfig(**enhance)
    if body.speaker_audio:
        kwargs["speaker_files"] = decode_speaker_audio(body.speaker_audio, config.max_upload_bytes)
        voice = None
    if body.instructions:
        log.info("instructions ignored: engine %r cannot follow free-form instructions", tts.engine_name)
    request = TTSRequest(text=body.input, voice=voice, language=language, speed=body.speed, stream=True, **kwargs)
    return request.resolved_for(tts.engine)


def usage(text: str, audio_seconds: float) -> dict[str, int]:
    """Token-like usage numbers for OpenAI's ``usage`` keys: ~4 bytes of text per input token and
    50 audio tokens per second (documented as estimates; engines do not report tokens)."""
    input_tokens = max(1, -(-len(text.encode()) // 4))
    output_tokens = int(round(audio_seconds * 50))
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}
