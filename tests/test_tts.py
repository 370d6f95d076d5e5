"""The `TTS` facade over a real (test) engine: selection, sync/async/streaming, voices, metrics."""

from __future__ import annotations

import asyncio
import json
import re

import numpy as np
import pytest
from conftest import leaked_tasks
from toy_engine import SAMPLE_RATE, ToneEngine

from auralis_core import (
    TTS,
    EngineLoadError,
    EngineNotFoundError,
    InvalidRequestError,
    TTSOutput,
    TTSRequest,
    UnsupportedLanguageError,
    VoiceNotFoundError,
)
from auralis_core.engine.base import EngineCapabilities
from auralis_core.registry.registry import register_engine, unregister_engine
from auralis_core.tts import resolve_engine_name


def _dominant_hz(out: TTSOutput) -> float:
    spectrum = np.abs(np.fft.rfft(out.samples))
    return float(np.argmax(spectrum) * out.sample_rate / len(out.samples))


@pytest.fixture
def tts():
    instance = TTS(ToneEngine())
    yield instance
    instance.shutdown()


def test_sync_generation_and_metrics(tts):
    out = tts.generate_speech("Hello there. General Kenobi.")
    assert out.sample_rate == SAMPLE_RATE and out.duration > 0
    last = tts.metrics.last()
    assert last.status == "ok" and last.segments == 2
    assert last.audio_seconds == pytest.approx(out.duration)
    assert last.real_time_factor is not None and last.time_to_first_audio is not None


async def test_sync_api_works_inside_a_running_loop(tts):
    """Jupyter runs user code inside an event loop; the sync API must still work there."""
    asyncio.get_running_loop()
    out = tts.generate_speech("Inside a loop.")
    assert out.duration > 0


async def test_async_and_streaming_agree(tts):
    text = "One sentence. Two sentences! Three?"
    whole = await tts.generate_speech_async(text)
    chunks = [c async for c in tts.stream_async(text)]
    assert [c.segment_index for c in chunks] == [0, 0, 1, 1, 2, 2]
    assert np.array_equal(TTSOutput.combine_outputs(chunks).samples, whole.samples)
    sync_chunks = list(tts.generate_speech(TTSRequest(text, stream=True)))
    assert np.array_equal(TTSOutput.combine_outputs(sync_chunks).samples, whole.samples)
    agen = await tts.generate_speech_async(TTSRequest(text, stream=True))
    assert len([c async for c in agen]) == 6


async def test_async_stream_cancellation_stops_engine_work():
    engine = ToneEngine(delays={i: 0.05 for i in range(20)})
    tts = TTS(engine)
    try:
        agen = tts.stream_async(" ".join(f"Sentence {i}." for i in range(20)))
        await agen.__anext__()
        await agen.aclose()
        for _ in range(50):
            if engine.active == 0 and tts.scheduler.active_requests == 0:
                break
            await asyncio.sleep(0.01)
        assert engine.active == 0
        assert tts.metrics.last().status == "cancelled"
    finally:
        await tts.shutdown_async()


def test_speed_is_applied_by_the_core_when_engine_cannot(tts):
    text = "A fairly long sentence to stretch."
    normal = tts.generate_speech(text)
    fast = tts.generate_speech(text, speed=2.0)
    assert fast.duration == pytest.approx(normal.duration / 2, rel=0.05)


def test_voice_errors_and_language(tts):
    with pytest.raises(VoiceNotFoundError, match=r"unknown voice 'nobody'; available voices: high, low"):
        tts.generate_speech("Hi there.", voice="nobody")
    with pytest.raises(UnsupportedLanguageError, match="'fr' is not supported by engine 'tone'"):
        tts.generate_speech("Bonjour.", language="fr")
    with pytest.raises(InvalidRequestError, match="text is empty"):
        tts.generate_speech("  ")


def test_voice_registration_persists(tmp_path):
    reference = TTSOutput(0.5 * np.sin(2 * np.pi * 300 * np.arange(SAMPLE_RATE) / SAMPLE_RATE), SAMPLE_RATE)
    path = reference.save(tmp_path / "ref.wav")
    with TTS(ToneEngine(), voices_dir=tmp_path / "voices") as tts:
        profile = tts.register_voice("alice", [path])
        assert profile.tensors["base"][0] == pytest.approx(300, abs=2)
        assert "alice" in tts.list_voices()
        assert _dominant_hz(tts.generate_speech("Hi there friend.", voice="alice")) == pytest.approx(300, abs=15)
        with pytest.raises(InvalidRequestError, match="invalid voice name"):
            tts.register_voice("../escape", [path])
    assert (tmp_path / "voices" / "tone" / "alice.safetensors").is_file()
    with TTS(ToneEngine(), voices_dir=tmp_path / "voices") as again:  # survives a restart
        assert "alice" in again.list_voices()
        assert _dominant_hz(again.generate_speech("Hi there friend.", voice="alice")) == pytest.approx(300, abs=15)
        again.delete_voice("alice")
        assert "alice" not in again.list_voices()
    assert not (tmp_path / "voices" / "tone" / "alice.safetensors").exists()


def test_engine_selection(tmp_path, tone_engine_registered):
    tts = TTS.from_pretrained(engine="tone")
    assert isinstance(tts.engine, ToneEngine)
    tts.shutdown()
    tts = TTS.from_pretrained("tone")  # an engine name in place of a model
    assert tts.engine_name == "tone"
    tts.shutdown()
    with pytest.raises(EngineNotFoundError, match="installed engines: .*tone"):
        TTS.from_pretrained(engine="missing")


def test_selection_by_checkpoint_model_type(tmp_path):
    caps = EngineCapabilities(name="tone-ckpt", languages=("en",), sample_rate=SAMPLE_RATE, model_types=("tone-model",))
    register_engine("tone-ckpt", ToneEngine, capabilities=caps)
    try:
        ckpt = tmp_path / "ckpt"
        ckpt.mkdir()
        (ckpt / "config.json").write_text(json.dumps({"model_type": "tone-model"}))
        assert resolve_engine_name(str(ckpt), None) == ("tone-ckpt", str(ckpt))
        (ckpt / "config.json").write_text(json.dumps({"model_type": "unknown-model"}))
        with pytest.raises(EngineLoadError, match="no installed engine loads model_type 'unknown-model'"):
            resolve_engine_name(str(ckpt), None)
        (ckpt / "config.json").write_text("{not json")
        with pytest.raises(EngineLoadError, match="cannot read"):
            resolve_engine_name(str(ckpt), None)
        (ckpt / "config.json").unlink()
        with pytest.raises(EngineLoadError, match="has no config.json"):
            resolve_engine_name(str(ckpt), None)
    finally:
        unregister_engine("tone-ckpt")


@pytest.mark.parametrize("path", ["/no/such/dir", "./missing-ckpt", "~/no-such-auralis-ckpt", "models/xtts/v2", "ckpt/"])
def test_missing_checkpoint_path_says_so(path):
    from auralis_core.errors import CheckpointNotFoundError

    with pytest.raises(CheckpointNotFoundError, match=f"^no such checkpoint: {re.escape(path)}$"):
        TTS.from_pretrained(path)


def test_a_bare_name_is_still_an_unknown_engine():
    with pytest.raises(EngineNotFoundError, match="unknown engine 'nope'"):
        TTS.from_pretrained("nope")
    with pytest.raises(EngineNotFoundError, match="unknown engine 'owner/model'"):  # a hub id needs engine=
        TTS.from_pretrained("owner/model")


def test_shutdown(tmp_path):
    engine = ToneEngine()
    tts = TTS(engine)
    tts.shutdown()
    assert engine.shut_down
    with pytest.raises(RuntimeError, match="shut down"):
        tts.generate_speech("Hello.")
    tts.shutdown()  # idempotent


async def test_cancelled_stream_consumers_leave_every_gauge_at_zero():
    """Through the facade (engine loop thread + relay): consumers cancelled once or again and
    again, or abandoned, all end their requests; nothing stays in flight or buffered."""
    engine = ToneEngine(delays={i: 0.002 for i in range(12)})
    tts = TTS(engine, max_concurrency=3, max_buffered_seconds=0.05)
    text = " ".join(f"Sentence number {i} is here." for i in range(12))

    async def consume(stop_after: int | None) -> None:
        got = 0
        async for _ in tts.stream_async(text, voice="low"):
            got += 1
            if stop_after is not None and got >= stop_after:
                return  # abandons the iterator (closed by garbage collection / loop shutdown)
            await asyncio.sleep(0.003)

    try:
        tasks = [asyncio.create_task(consume(None if i % 3 else i)) for i in range(9)]
        await asyncio.sleep(0.02)
        for i, task in enumerate(tasks):
            for _ in range(i % 4):  # 0 to 3 cancels, a loop turn apart
                task.cancel()
                await asyncio.sleep(0)
        await asyncio.gather(*tasks, return_exceptions=True)
        scheduler = tts.scheduler
        assert await asyncio.to_thread(
            lambda: _settles(lambda: tts.metrics.in_flight == 0 and scheduler.active_requests == 0)
        ), tts.metrics.summary()
        assert scheduler.in_flight == 0 and scheduler.queue_depth == 0 and scheduler.buffered_seconds == 0
        assert engine.active == 0
        assert tts.metrics.totals["requests"] == 9
    finally:
        await tts.shutdown_async()
    assert not leaked_tasks()


def _settles(predicate, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
