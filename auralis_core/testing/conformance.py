"""The checks every engine must pass; subclass `EngineConformanceSuite` in a test module."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

from ..engine.base import BaseAsyncTTSEngine, EngineCapabilities, GenerationContext
from ..errors import (
    CapabilityError,
    InvalidRequestError,
    UnsupportedLanguageError,
    VoiceNotFoundError,
)
from ..output import TTSOutput
from ..request import TTSRequest


class EngineConformanceSuite:
    """Knobs (class attributes) an engine's test class sets."""

    engine_factory: ClassVar[Callable[[], BaseAsyncTTSEngine]]
    sample_text: ClassVar[str] = "Hello there. This is a conformance test."
    request_kwargs: ClassVar[dict[str, Any]] = {}
    """Extra fields every request needs (e.g. ``speaker_files`` for an engine that must clone)."""
    reference_audio: ClassVar[Any] = None
    """A speaker reference for cloning engines (path, bytes or TTSOutput)."""
    unsupported_language: ClassVar[str] = "xx-unsupported"
    concurrency: ClassVar[int] = 4
    deterministic: ClassVar[bool] = True
    """Same input, same samples (set False for engines with state carried between calls)."""

    # --- fixtures --------------------------------------------------------------------------------
    @pytest.fixture
    async def engine(self):
        engine = type(self).engine_factory()
        yield engine
        await engine.shutdown()

    def request(self, text: str | None = None, **kwargs: Any) -> TTSRequest:
        return TTSRequest(text=text or self.sample_text, **{**self.request_kwargs, **kwargs})

    @staticmethod
    async def phase1(engine: BaseAsyncTTSEngine, request: TTSRequest) -> Any:
        """Phase 1 as the core runs it: the request checked and its options validated first."""
        return await engine.get_generation_context(request.resolved_for(engine))

    async def synthesize(self, engine: BaseAsyncTTSEngine, request: TTSRequest) -> list[list[TTSOutput]]:
        """Both phases, sequentially; chunks grouped per segment."""
        context = await self.phase1(engine, request)
        # a loop, not a nested comprehension: async inside a sync comprehension needs Python 3.11
        segments: list[list[TTSOutput]] = []
        for item in context.segments:
            segments.append([chunk async for chunk in engine.process_tokens_to_speech(item, context)])
        return segments

    # --- capabilities ----------------------------------------------------------------------------
    def test_capabilities_are_consistent(self, engine):
        caps = engine.get_capabilities()
        assert isinstance(caps, EngineCapabilities)
        assert caps.name and caps.sample_rate > 0
        assert caps.languages, "an engine must declare at least one language"
        if caps.default_voice is not None:
            assert caps.default_voice in caps.voices, "default_voice must be one of voices"
        assert set(engine.list_voices()) >= set(caps.voices)

    # --- the two phases --------------------------------------------------------------------------
    async def test_phase1_returns_ordered_segments(self, engine):
        request = self.request()
        context = await self.phase1(engine, request)
        assert isinstance(context, GenerationContext)
        assert context.request_id == request.request_id
        assert context.segments, "phase 1 produced no segments"
        assert [s.index for s in context.segments] == list(range(len(context.segments)))
        assert all(s.request_id == request.request_id and s.text.strip() for s in context.segments)

    async def test_phase2_yields_valid_audio(self, engine):
        caps = engine.get_capabilities()
        segments = await self.synthesize(engine, self.request())
        for chunks in segments:
            assert chunks, "a segment produced no chunks"
            for chunk in chunks:
                assert isinstance(chunk, TTSOutput)
                assert chunk.sample_rate == caps.sample_rate
                assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 1
                assert np.all(np.isfinite(chunk.samples))
                assert np.max(np.abs(chunk.samples), initial=0.0) <= 1.0
        audio = np.concatenate([c.samples for chunks in segments for c in chunks])
        assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 1e-3, "output is silent"

    async def test_list_text_gives_segments_for_each_item(self, engine):
        context = await self.phase1(engine, self.request(text=["First part.", "Second part."]))
        assert len(context.segments) >= 2

    # --- errors ----------------------------------------------------------------------------------
    def test_empty_text_is_rejected(self):
        with pytest.raises(ValueError):
            self.request(text="   ")

    async def test_unsupported_language(self, engine):
        with pytest.raises(UnsupportedLanguageError):
            await self.phase1(engine, self.request(language=self.unsupported_language))

    async def test_unknown_voice(self, engine):
        if not engine.get_capabilities().voices:
            pytest.skip("engine has no named voices")
        with pytest.raises(VoiceNotFoundError):
            await self.phase1(engine, self.request(voice="no-such-voice-anywhere"))

    async def test_speaker_reference_handling(self, engine, tmp_path):
        caps = engine.get_capabilities()
        reference = self.reference_audio
        if reference is None:
            t = np.arange(2 * 22050) / 22050
            reference = TTSOutput(0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2, 22050)
            reference = reference.save(tmp_path / "reference.wav")
        request = self.request(speaker_files=[reference])
        if caps.voice_cloning:
            segments = await self.synthesize(engine, request)
            assert segments and all(segments)
        else:
            with pytest.raises(CapabilityError):
                await self.phase1(engine, request)

    async def test_bad_request_fields_are_value_errors(self):
        with pytest.raises(InvalidRequestError):
            self.request(speed=-1.0)

    # --- concurrency and lifecycle ---------------------------------------------------------------
    async def test_concurrent_phase2_matches_sequential(self, engine):
        """Concurrent calls give the same audio as one call (equal length within 2 %, and equal
        samples where the engine is deterministic)."""
        request = self.request(seed=0)
        context = await self.phase1(engine, request)
        item = context.segments[0]

        async def one() -> np.ndarray:
            return np.concatenate([c.samples async for c in engine.process_tokens_to_speech(item, context)])

        sequential = await one()
        parallel = await asyncio.gather(*[one() for _ in range(self.concurrency)])
        for audio in parallel:
            assert abs(len(audio) - len(sequential)) <= 0.02 * len(sequential)
            if len(audio) == len(sequential) and self.deterministic:
                assert np.allclose(audio, sequential, atol=1e-4)

    async def test_shutdown(self):
        engine = type(self).engine_factory()
        await engine.shutdown()
