"""The eSpeak engine: real synthesis through the bundled library."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from auralis_core import TTS, TTSRequest, UnsupportedLanguageError, VoiceNotFoundError
from auralis_espeak._binding import library
from auralis_espeak.engine import ESpeakEngine
from auralis_espeak.voices import capabilities, resolve_voice


@pytest.fixture(scope="module")
def tts():
    instance = TTS.from_pretrained(engine="espeak")
    yield instance
    instance.shutdown()


def test_is_the_default_engine_where_piper_is_not_installed():
    from auralis_core.registry.registry import list_engines, reset_registry, unregister_engine

    try:
        list_engines()  # discover first, then hide piper
        unregister_engine("piper")  # as if auralis-piper were not installed
        with TTS.from_pretrained() as default:
            assert default.engine_name == "espeak"
    finally:
        reset_registry()  # rediscover every installed engine


def test_voices_and_languages_come_from_espeak():
    caps = capabilities()
    assert caps.sample_rate == library().sample_rate == 22050
    for code in ("en", "en-us", "en-gb", "de", "fr", "es", "cmn", "ja", "ru"):
        assert code in caps.languages and code in caps.voices
    assert caps.default_voice == "en-us" and not caps.voice_cloning and caps.native_speed
    assert resolve_voice("en-gb+f3") is not None
    assert resolve_voice("en-gb+nonsense") is None and resolve_voice("zz") is None


def test_english_speech_is_plausible(tts):
    text = "The quick brown fox jumps over the lazy dog."
    out = tts.generate_speech(text)
    assert out.sample_rate == 22050
    assert 0.05 * len(text) < out.duration < 0.2 * len(text)
    assert out.get_info()["rms"] > 0.02


def test_voice_language_and_variant_change_the_audio(tts):
    text = "Hello there, how are you?"
    us = tts.generate_speech(text, voice="en-us").samples
    gb = tts.generate_speech(text, voice="en-gb").samples
    f3 = tts.generate_speech(text, voice="en-us+f3").samples
    de = tts.generate_speech(text, language="de").samples
    assert len({len(us), len(gb), len(f3), len(de)}) > 1 or not np.array_equal(us, gb)
    assert not np.array_equal(us[: len(f3)], f3[: len(us)])


@pytest.mark.parametrize("speed", [0.5, 2.0, 4.0])
def test_speed(tts, speed):
    text = "Speed changes how long this sentence takes to say."
    normal = tts.generate_speech(text).duration
    changed = tts.generate_speech(text, speed=speed).duration
    assert changed == pytest.approx(normal / speed, rel=0.3)


def test_sentence_level_streaming(tts):
    chunks = list(tts.stream("First sentence here. Second sentence here! Third one?"))
    assert [c.segment_index for c in chunks] == [0, 1, 2]
    assert [c.metadata["text"] for c in chunks] == ["First sentence here.", "Second sentence here!", "Third one?"]


def test_errors(tts):
    with pytest.raises(VoiceNotFoundError, match="unknown voice 'robot'"):
        tts.generate_speech("Hi", voice="robot")
    with pytest.raises(UnsupportedLanguageError, match="'tlh'"):
        tts.generate_speech("Hi", language="tlh")
    with pytest.raises(VoiceNotFoundError):
        ESpeakEngine(default_voice="nope")


def _envelope(samples: np.ndarray, frame: int = 220) -> np.ndarray:
    """10 ms RMS envelope: robust to eSpeak's few-sample drift between calls."""
    n = (len(samples) // frame) - 1
    return np.sqrt(np.mean(samples[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))


async def test_fifty_concurrent_requests_match_sequential():
    engine = ESpeakEngine()
    texts = [f"Request number {i} says hello." for i in range(50)]
    try:
        async def one(text: str) -> np.ndarray:
            context = await engine.get_generation_context(TTSRequest(text).resolved_for(engine))
            return np.concatenate([c.samples for item in context.segments async for c in engine.process_tokens_to_speech(item, context)])

        sequential = [await one(t) for t in texts[:5]]
        concurrent = await asyncio.gather(*[one(t) for t in texts])
        for a, b in zip(sequential, concurrent[:5]):
            assert abs(len(a) - len(b)) < 0.01 * len(a)  # same sentence (eSpeak varies by a few samples)
            ea, eb = _envelope(a), _envelope(b)
            n = min(len(ea), len(eb))
            assert np.corrcoef(ea[:n], eb[:n])[0, 1] > 0.95
        assert len({len(c) for c in concurrent}) > 1  # different texts, different audio
    finally:
        await engine.shutdown()


async def test_event_loop_stays_responsive_during_synthesis():
    engine = ESpeakEngine()
    context = await engine.get_generation_context(
        TTSRequest("A long sentence that takes a little while to synthesise. " * 10).resolved_for(engine))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    for item in context.segments:
        async for _ in engine.process_tokens_to_speech(item, context):
            pass
    task.cancel()
    await engine.shutdown()
    assert ticks > 5
