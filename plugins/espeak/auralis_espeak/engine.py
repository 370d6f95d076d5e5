"""`ESpeakEngine`: the smallest complete engine, and the one that works everywhere.

Phase 1 picks the voice and splits text into sentences; phase 2 renders one sentence in eSpeak's
single worker thread (the library is not re-entrant) and yields it as one chunk, so streaming is
sentence by sentence.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from pydantic import Field

from auralis_core import (
    BaseAsyncTTSEngine,
    EngineCapabilities,
    EngineOptions,
    GenerationContext,
    SegmentWorkItem,
    TTSOutput,
    TTSRequest,
    VoiceNotFoundError,
)
from auralis_core.options import validate_options
from auralis_core.text_stream import split_sentences

from ._binding import RATE_MAX, RATE_MIN, RATE_NORMAL, library
from .voices import DEFAULT_VOICE, capabilities, resolve_voice


class ESpeakOptions(EngineOptions):
    """Per-request eSpeak settings."""

    pitch: int = Field(50, ge=0, le=100, description="base pitch (eSpeak's 0-100 scale; 50 is the voice's normal)")


@dataclass(frozen=True)
class _Voice:
    espeak_name: str
    rate: int
    residual_speed: float  # applied after synthesis where eSpeak's rate range ends
    pitch: int


class ESpeakEngine(BaseAsyncTTSEngine):
    capabilities = capabilities()
    Options = ESpeakOptions

    def __init__(self, default_voice: str = DEFAULT_VOICE, pitch: int = 50) -> None:
        """``pitch``: the default of the ``pitch`` option (requests may set their own)."""
        self._defaults = validate_options("espeak", ESpeakOptions(), {"pitch": pitch})
        resolved = resolve_voice(default_voice)
        if resolved is None:
            raise VoiceNotFoundError(default_voice, self.capabilities.voices)
        self.default_voice = default_voice
        self._default_espeak_voice = resolved
        self._library = library()
        # one worker: calls are serialised anyway, and queued sentences of a cancelled request
        # can be dropped before they start
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auralis-espeak")

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | None = None, **kwargs: Any) -> ESpeakEngine:
        """``model_name_or_path`` may name the default voice (e.g. ``"en-gb"``)."""
        if model_name_or_path:
            kwargs.setdefault("default_voice", model_name_or_path)
        return cls(**kwargs)

    def get_capabilities(self) -> EngineCapabilities:
        return self.capabilities

    def default_options(self) -> ESpeakOptions:
        return self._defaults

    def list_voices(self) -> tuple[str, ...]:
        return self.capabilities.voices

    def has_voice(self, name: str) -> bool:
        return resolve_voice(name) is not None

    def _pick_voice(self, request: TTSRequest) -> str:
        if request.voice is not None:
            resolved = resolve_voice(request.voice)
            if resolved is None:
                raise VoiceNotFoundError(request.voice, self.capabilities.voices)
            return resolved
        if request.language != "auto":
            resolved = resolve_voice(request.language) or resolve_voice(request.language.split("-")[0])
            if resolved is not None:
                return resolved
        return self._default_espeak_voice

    def _language_of(self, request: TTSRequest) -> str:
        """The language code the segments are in (the voice's, when a voice is named)."""
        if request.voice is not None:
            return request.voice.strip().lower().partition("+")[0]
        if request.language != "auto":
            return request.language
        return self.default_voice.partition("+")[0]

    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        voice = self._pick_voice(request)
        options = cast(ESpeakOptions, request.options)
        wanted_rate = RATE_NORMAL * request.speed
        rate = int(round(min(max(wanted_rate, RATE_MIN), RATE_MAX)))
        language = self._language_of(request)
        segments = [
            SegmentWorkItem(request.request_id, i, sentence, language)
            for i, sentence in enumerate(s for text in request.texts() for s in split_sentences(text))
        ]
        return GenerationContext(
            request,
            segments,
            conditioning=_Voice(voice, rate, wanted_rate / rate, options.pitch),
            sample_rate=self._library.sample_rate,
        )

    async def process_tokens_to_speech(self, item: SegmentWorkItem, context: GenerationContext) -> AsyncIterator[TTSOutput]:
        voice: _Voice = context.conditioning
        abort = threading.Event()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._executor, self._library.synthesize, item.text, voice.espeak_name, voice.rate, voice.pitch, abort
        )
        try:
            samples = await future
        except asyncio.CancelledError:
            abort.set()  # stop a synthesis already running; a queued one is dropped by cancel
            raise
        out = TTSOutput(samples.astype(np.float32) / 32768.0, self._library.sample_rate, metadata={"text": item.text})
        if abs(voice.residual_speed - 1.0) > 1e-3:
            out = out.change_speed(voice.residual_speed)
        yield out

    async def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
