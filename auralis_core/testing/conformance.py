"""The checks every engine must pass; subclass `EngineConformanceSuite` in a test module, or run
``pytest --auralis-engine NAME`` (see `auralis_core.testing.pytest_plugin`).

The tests are plain synchronous pytest tests: each runs the engine's coroutines on an event loop
of its own (the engine is built, used and shut down on it), so the kit needs no pytest-asyncio and
no ``asyncio_mode`` setting in the plugin author's repository.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar, TypeVar

import numpy as np
import pytest

from ..engine.base import BaseAsyncTTSEngine, EngineCapabilities, GenerationContext
from ..errors import (
    CapabilityError,
    InvalidRequestError,
    UnsupportedLanguageError,
    VoiceNotFoundError,
)
from ..options import EngineOptions
from ..output import TTSOutput
from ..request import TTSRequest

T = TypeVar("T")


class EngineHarness:
    """One engine on one event loop: ``harness.run(coro)`` runs a coroutine there."""

    def __init__(self, factory: Callable[[], BaseAsyncTTSEngine]) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.engine = self.run(self._build(factory))
        except BaseException:
            self.loop.close()
            raise

    @staticmethod
    async def _build(factory: Callable[[], BaseAsyncTTSEngine]) -> BaseAsyncTTSEngine:
        return factory()  # inside the loop: an engine may start tasks or take the running loop

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        try:
            self.run(self.engine.shutdown())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


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

    # --- fixtures --------------------------------------------------------------------------------
    @pytest.fixture
    def new_engine(self) -> Callable[[], BaseAsyncTTSEngine]:
        """Builds the engine under test (``engine_factory``; override the fixture to choose at
        run time, as ``--auralis-engine`` does)."""
        return type(self).engine_factory

    @pytest.fixture
    def harness(self, new_engine: Callable[[], BaseAsyncTTSEngine]) -> Iterator[EngineHarness]:
        harness = EngineHarness(new_engine)
        yield harness
        harness.close()

    @pytest.fixture
    def engine(self, harness: EngineHarness) -> BaseAsyncTTSEngine:
        return harness.engine

    def request(self, text: str | None = None, **kwargs: Any) -> TTSRequest:
        return TTSRequest(text=text or self.sample_text, **{**self.request_kwargs, **kwargs})

    @staticmethod
    async def phase1(engine: BaseAsyncTTSEngine, request: TTSRequest) -> GenerationContext:
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

    async def first_segment_audio(self, engine: BaseAsyncTTSEngine, request: TTSRequest, times: int) -> list[np.ndarray]:
        """Phase 2 of the first segment, ``times`` times at once; the samples of each run."""
        context = await self.phase1(engine, request)
        item = context.segments[0]

        async def one() -> np.ndarray:
            return np.concatenate([c.samples async for c in engine.process_tokens_to_speech(item, context)])

        return list(await asyncio.gather(*[one() for _ in range(times)]))

    # --- capabilities and options ----------------------------------------------------------------
    def test_capabilities_are_consistent(self, engine):
        caps = engine.get_capabilities()
        assert isinstance(caps, EngineCapabilities)
        assert caps.name and caps.sample_rate > 0
        assert caps.languages, "an engine must declare at least one language"
        if caps.default_voice is not None:
            assert caps.default_voice in caps.voices, "default_voice must be one of voices"
        assert set(engine.list_voices()) >= set(caps.voices)
        assert caps.preferred_concurrency is None or caps.preferred_concurrency >= 1
        for alias, voice in caps.voice_aliases.items():
            assert engine.has_voice(voice), f"voice alias {alias!r} names {voice!r}, which the engine does not speak"
        for voice, languages in caps.voice_languages.items():
            assert engine.has_voice(voice) and languages, f"voice_languages[{voice!r}] must name a voice and its languages"

    def test_options_are_typed_and_strict(self, engine):
        cls = type(engine).Options
        assert issubclass(cls, EngineOptions), "Options must subclass auralis_core.EngineOptions"
        defaults = engine.default_options()
        assert isinstance(defaults, cls), "default_options() must return an instance of Options"
        assert isinstance(cls.model_json_schema(), dict)  # the server and `auralis engines --json` publish it
        with pytest.raises(InvalidRequestError, match="no_such_option_xyz"):
            self.request(options={"no_such_option_xyz": 1}).resolved_for(engine)

    # --- the two phases --------------------------------------------------------------------------
    def test_phase1_returns_ordered_segments(self, engine, harness):
        request = self.request()
        context = harness.run(self.phase1(engine, request))
        assert isinstance(context, GenerationContext)
        assert context.request_id == request.request_id
        assert context.segments, "phase 1 produced no segments"
        assert [s.index for s in context.segments] == list(range(len(context.segments)))
        assert all(s.request_id == request.request_id and s.text.strip() for s in context.segments)
        assert context.sample_rate in (None, engine.get_capabilities().sample_rate)

    def test_phase2_yields_valid_audio(self, engine, harness):
        caps = engine.get_capabilities()
        segments = harness.run(self.synthesize(engine, self.request()))
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

    def test_list_text_gives_segments_for_each_item(self, engine, harness):
        context = harness.run(self.phase1(engine, self.request(text=["First part.", "Second part."])))
        assert len(context.segments) >= 2

    # --- errors ----------------------------------------------------------------------------------
    def test_empty_text_is_rejected(self):
        with pytest.raises(ValueError):
            self.request(text="   ")

    def test_unsupported_language(self, engine, harness):
        with pytest.raises(UnsupportedLanguageError):
            harness.run(self.phase1(engine, self.request(language=self.unsupported_language)))

    def test_unknown_voice(self, engine, harness):
        if not engine.get_capabilities().voices:
            pytest.skip("engine has no named voices")
        with pytest.raises(VoiceNotFoundError):
            harness.run(self.phase1(engine, self.request(voice="no-such-voice-anywhere")))

    def test_speaker_reference_handling(self, engine, harness, tmp_path):
        caps = engine.get_capabilities()
        reference = self.reference_audio
        if reference is None:
            t = np.arange(2 * 22050) / 22050
            reference = TTSOutput(0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2, 22050)
            reference = reference.save(tmp_path / "reference.wav")
        request = self.request(speaker_files=[reference])
        if caps.voice_cloning:
            segments = harness.run(self.synthesize(engine, request))
            assert segments and all(segments)
        else:
            with pytest.raises(CapabilityError):
                harness.run(self.phase1(engine, request))

    def test_bad_request_fields_are_value_errors(self):
        with pytest.raises(InvalidRequestError):
            self.request(speed=-1.0)

    # --- concurrency, determinism and lifecycle ----------------------------------------------------
    def test_concurrent_phase2_matches_sequential(self, engine, harness):
        """Concurrent calls of one segment give the audio one call gives: the same samples for an
        engine that declares ``deterministic``; otherwise speech of about the same length and
        loudness (a stochastic decoder varies durations and waveforms, never the speech)."""
        request = self.request(seed=0)
        sequential = harness.run(self.first_segment_audio(engine, request, 1))[0]
        parallel = harness.run(self.first_segment_audio(engine, request, self.concurrency))
        rms = _rms(sequential)
        assert rms > 1e-3, "output is silent"
        for audio in parallel:
            if engine.get_capabilities().deterministic:
                assert len(audio) == len(sequential), "deterministic engine: lengths differ under concurrency"
                assert np.allclose(audio, sequential, atol=1e-4), "deterministic engine: samples differ under concurrency"
            else:
                assert 2 / 3 <= len(audio) / len(sequential) <= 3 / 2, "lengths differ by more than 1.5x"
                assert 0.5 <= _rms(audio) / rms <= 2.0, "loudness differs by more than 2x"

    def test_same_seed_same_samples_when_deterministic(self, engine, harness):
        """An engine that declares ``deterministic`` gives the same samples for the same seed,
        call after call (the scheduler's retries and the parity tests rely on it)."""
        if not engine.get_capabilities().deterministic:
            pytest.skip("engine does not declare deterministic=True")
        first = harness.run(self.first_segment_audio(engine, self.request(seed=1234), 1))[0]
        again = harness.run(self.first_segment_audio(engine, self.request(seed=1234), 1))[0]
        assert len(first) == len(again) and np.allclose(first, again, atol=1e-4)

    def test_shutdown(self, new_engine):
        harness = EngineHarness(new_engine)
        harness.close()
        assert harness.loop.is_closed()


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if len(audio) else 0.0
