"""Backpressure: a consumer that reads slowly bounds the audio its request buffers ahead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from conftest import leaked_tasks

from auralis_core import (
    TTS,
    BaseAsyncTTSEngine,
    EngineCapabilities,
    EngineOptions,
    GenerationContext,
    SegmentWorkItem,
    TTSOutput,
    TTSRequest,
    TwoPhaseScheduler,
)

RATE = 1000


class InstantOptions(EngineOptions):
    segments: int = 1
    chunks: int = 1
    seconds: float = 1.0


class InstantEngine(BaseAsyncTTSEngine):
    """Segments of ``request.options.chunks`` chunks of ``seconds`` each, produced at once; it
    counts the audio it has produced, so a test can compare it with what the consumer took."""

    capabilities = EngineCapabilities(name="instant", languages=("en",), sample_rate=RATE, streaming=True)
    Options = InstantOptions

    def __init__(self) -> None:
        self.produced = 0.0
        self.active = 0

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | None = None, **kwargs: Any) -> InstantEngine:
        return cls()

    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        segments = [SegmentWorkItem(request.request_id, i, f"segment {i}", "en") for i in range(request.options.segments)]
        return GenerationContext(request, segments, sample_rate=RATE)

    async def process_tokens_to_speech(self, item: SegmentWorkItem, context: GenerationContext) -> AsyncIterator[TTSOutput]:
        self.active += 1
        try:
            seconds = context.request.options.seconds
            for c in range(context.request.options.chunks):
                await asyncio.sleep(0)
                self.produced += seconds
                # sample values encode (segment, chunk): order is checked on arrival
                yield TTSOutput(np.full(int(seconds * RATE), item.index + c / 100, dtype=np.float32), RATE)
        finally:
            self.active -= 1


def _request(segments: int, chunks: int, seconds: float = 1.0) -> TTSRequest:
    return TTSRequest("x", options={"segments": segments, "chunks": chunks, "seconds": seconds})


def _expected(segments: int, chunks: int) -> list[float]:
    return [np.float32(i + c / 100) for i in range(segments) for c in range(chunks)]


async def _slow_read(agen: AsyncIterator[TTSOutput], probe, pause: float = 0.01) -> list[float]:
    """Read one chunk per ``pause`` and call ``probe()`` before each read."""
    values = []
    async for chunk in agen:
        values.append(chunk.samples[0])
        probe()
        await asyncio.sleep(pause)
    return values


@pytest.mark.parametrize(("segments", "chunks"), [(40, 1), (8, 6), (1, 30)])
async def test_slow_consumer_bounds_what_is_buffered(segments, chunks):
    engine = InstantEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=4, max_buffered_seconds=3.0)
    taken: list[float] = []
    ahead: list[float] = []

    def probe() -> None:
        taken.append(1.0)
        ahead.append(engine.produced - len(taken))  # produced but not yet read
        assert scheduler.buffered_seconds <= 3.0 + 4 * 1.0  # the limit + one chunk per slot

    values = await _slow_read(scheduler.run(_request(segments, chunks)), probe)
    assert values == _expected(segments, chunks)  # strict order, nothing lost
    # one long segment is bounded too (the head pauses while its own queue holds audio)
    assert max(ahead) <= 3.0 + 4 * 1.0, ahead
    assert scheduler.buffered_seconds == 0 and engine.active == 0
    assert not leaked_tasks()


async def test_without_a_bound_everything_is_buffered_at_once():
    """What the bound prevents: with ``None`` the engine runs the whole utterance ahead."""
    engine = InstantEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=4, max_buffered_seconds=None)
    agen = scheduler.run(_request(40, 1))
    await agen.__anext__()
    await asyncio.sleep(0.05)
    assert engine.produced == 40.0 and scheduler.buffered_seconds == 39.0
    await agen.aclose()


async def test_later_segments_still_compute_while_the_first_streams():
    engine = InstantEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=4, max_buffered_seconds=3.0)
    agen = scheduler.run(_request(40, 1))
    await agen.__anext__()
    await asyncio.sleep(0.05)
    assert 3.0 <= scheduler.buffered_seconds <= 7.0  # computed ahead up to the bound, not beyond
    await agen.aclose()
    assert engine.active == 0 and scheduler.buffered_seconds == 0


async def test_a_paused_request_gives_its_slot_to_others():
    """One phase-2 slot: a slow reader's look-ahead pauses, so another request still runs."""
    engine = InstantEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=1, max_buffered_seconds=2.0)
    slow = scheduler.run(_request(20, 3))
    await slow.__anext__()  # then it stops reading
    other = [c.samples[0] async for c in scheduler.run(_request(3, 2))]
    assert other == _expected(3, 2)
    await slow.aclose()
    assert scheduler.in_flight == 0 and scheduler.queue_depth == 0 and engine.active == 0
    assert not leaked_tasks()


async def test_backpressure_reaches_through_the_facade():
    """`TTS.stream_async` relays chunks from its engine loop at most a window ahead."""
    engine = InstantEngine()
    tts = TTS(engine, max_buffered_seconds=3.0)
    try:
        request = _request(40, 1)
        read = 0

        def probe() -> None:
            nonlocal read
            read += 1
            assert engine.produced - read <= 3.0 + 8 * 1.0 + 2  # scheduler bound + relay window

        values = await _slow_read(tts.stream_async(request), probe)
        assert values == _expected(40, 1)
    finally:
        await tts.shutdown_async()


def test_max_buffered_seconds_is_checked():
    with pytest.raises(ValueError, match="max_buffered_seconds must be > 0"):
        TwoPhaseScheduler(InstantEngine(), max_buffered_seconds=0)
