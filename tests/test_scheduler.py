"""Property-based tests of `TwoPhaseScheduler`: order, concurrency bound, errors, cancellation, leaks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from conftest import leaked_tasks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict

from auralis_core import (
    BaseAsyncTTSEngine,
    EngineCapabilities,
    EngineOptions,
    GenerationContext,
    GenerationError,
    GenerationTimeoutError,
    SegmentWorkItem,
    TTSOutput,
    TTSRequest,
    TwoPhaseScheduler,
)


@dataclass(frozen=True)
class SegmentScript:
    delay: float  # seconds before each chunk
    chunks: int
    fail_at: int | None = None  # chunk index that raises


class ScriptOptions(EngineOptions):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    script: list[SegmentScript] = []
    tag: int = 0


class ScriptedEngine(BaseAsyncTTSEngine):
    """Segments follow ``request.options.script``; each chunk's samples encode (request, segment, chunk)."""

    capabilities = EngineCapabilities(name="scripted", languages=("en",), sample_rate=1000)
    Options = ScriptOptions

    def __init__(self, phase1_delay: float = 0.0) -> None:
        self.active = 0
        self.max_active = 0
        self.phase1_delay = phase1_delay

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | None = None, **kwargs: Any) -> ScriptedEngine:
        return cls()

    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        await asyncio.sleep(self.phase1_delay)
        script: list[SegmentScript] = request.options.script
        items = [SegmentWorkItem(request.request_id, i, f"s{i}", "en", payload=s) for i, s in enumerate(script)]
        return GenerationContext(request, items, conditioning=request.options.tag, sample_rate=1000)

    async def process_tokens_to_speech(self, item: SegmentWorkItem, context: GenerationContext) -> AsyncIterator[TTSOutput]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            script: SegmentScript = item.payload
            for c in range(script.chunks):
                await asyncio.sleep(script.delay)
                if script.fail_at == c:
                    raise RuntimeError(f"injected failure {context.conditioning}/{item.index}/{c}")
                value = context.conditioning * 1e-3 + item.index * 1e-5 + c * 1e-7
                yield TTSOutput(np.full(4, value, dtype=np.float64), 1000)
        finally:
            self.active -= 1


segment_scripts = st.lists(
    st.builds(SegmentScript, delay=st.sampled_from([0.0, 0.0005, 0.001, 0.003]), chunks=st.integers(1, 3)),
    min_size=1,
    max_size=8,
)


async def _collect(scheduler: TwoPhaseScheduler, request: TTSRequest) -> list[TTSOutput]:
    return [chunk async for chunk in scheduler.run(request)]


def _expected_values(tag: int, script: list[SegmentScript]) -> list[float]:
    return [np.float32(tag * 1e-3 + i * 1e-5 + c * 1e-7) for i, s in enumerate(script) for c in range(s.chunks)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts=st.lists(segment_scripts, min_size=1, max_size=6), bound=st.integers(1, 5))
def test_order_bound_and_isolation(scripts, bound):
    async def scenario():
        engine = ScriptedEngine()
        scheduler = TwoPhaseScheduler(engine, max_concurrency=bound)
        requests = [TTSRequest("x", options={"script": s, "tag": k + 1}) for k, s in enumerate(scripts)]
        results = await asyncio.gather(*[_collect(scheduler, r) for r in requests])
        for request, script, chunks in zip(requests, scripts, results):
            assert [c.samples[0] for c in chunks] == _expected_values(request.options["tag"], script)
            assert all(c.request_id == request.request_id for c in chunks)
            indices = [c.segment_index for c in chunks]
            assert indices == sorted(indices)
        assert engine.max_active <= bound
        assert engine.active == 0 and scheduler.in_flight == 0 and scheduler.queue_depth == 0
        assert not leaked_tasks()

    asyncio.run(scenario())


@settings(max_examples=200, deadline=None)
@given(
    script=segment_scripts,
    fail_segment=st.integers(0, 7),
    fail_chunk=st.integers(0, 2),
    bystander=segment_scripts,
)
def test_failure_reaches_only_its_caller(script, fail_segment, fail_chunk, bystander):
    fail_segment %= len(script)
    fail_chunk %= script[fail_segment].chunks
    script = list(script)
    script[fail_segment] = SegmentScript(script[fail_segment].delay, script[fail_segment].chunks, fail_chunk)

    async def scenario():
        engine = ScriptedEngine()
        scheduler = TwoPhaseScheduler(engine, max_concurrency=3)
        failing = TTSRequest("x", options={"script": script, "tag": 1})
        other = TTSRequest("y", options={"script": bystander, "tag": 2})
        received: list[TTSOutput] = []

        async def run_failing():
            async for chunk in scheduler.run(failing):
                received.append(chunk)

        results = await asyncio.gather(run_failing(), _collect(scheduler, other), return_exceptions=True)
        assert isinstance(results[0], GenerationError)
        assert f"segment {fail_segment}" in str(results[0])
        assert "injected failure" in str(results[0].__cause__)
        # everything before the failing chunk arrived, in order
        expected = _expected_values(1, script)
        before = sum(s.chunks for s in script[:fail_segment]) + fail_chunk
        assert [c.samples[0] for c in received] == expected[:before]
        assert [c.samples[0] for c in results[1]] == _expected_values(2, bystander)
        assert engine.active == 0
        assert not leaked_tasks()

    asyncio.run(scenario())


@settings(max_examples=200, deadline=None)
@given(script=segment_scripts, stop_after=st.integers(0, 10), bystander=segment_scripts)
def test_consumer_stopping_cancels_its_work(script, stop_after, bystander):
    async def scenario():
        engine = ScriptedEngine()
        scheduler = TwoPhaseScheduler(engine, max_concurrency=4)
        request = TTSRequest("x", options={"script": script, "tag": 1})
        other_task = asyncio.create_task(_collect(scheduler, TTSRequest("y", options={"script": bystander, "tag": 2})))
        agen = scheduler.run(request)
        got = 0
        async for _ in agen:
            got += 1
            if got >= stop_after:
                break
        await agen.aclose()
        other = await other_task
        assert [c.samples[0] for c in other] == _expected_values(2, bystander)
        assert engine.active == 0 and scheduler.in_flight == 0
        assert not leaked_tasks()
        assert scheduler.metrics.in_flight == 0

    asyncio.run(scenario())


async def test_task_cancellation_of_consumer_frees_work():
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=2)
    script = [SegmentScript(0.05, 3) for _ in range(6)]
    task = asyncio.create_task(_collect(scheduler, TTSRequest("x", options={"script": script, "tag": 1})))
    await asyncio.sleep(0.08)
    assert engine.active > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.active == 0
    assert not leaked_tasks()
    assert scheduler.metrics.last().status == "cancelled"


async def test_timeout_is_a_typed_error_and_cleans_up():
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=2, request_timeout=0.1)
    script = [SegmentScript(0.05, 10)]
    with pytest.raises(GenerationTimeoutError, match="exceeded the 0.1 s timeout"):
        await _collect(scheduler, TTSRequest("x", options={"script": script, "tag": 1}))
    assert engine.active == 0
    assert not leaked_tasks()


async def test_later_segments_compute_while_earlier_are_consumed():
    """Look-ahead: by the time segment 0 finishes, later segments are already running."""
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=4)
    script = [SegmentScript(0.02, 2) for _ in range(4)]
    agen = scheduler.run(TTSRequest("x", options={"script": script, "tag": 1}))
    await agen.__anext__()
    assert engine.active >= 3
    await agen.aclose()


async def test_first_segments_jump_ahead_of_deep_lookahead():
    """With one slot, a new request's first segment runs before another request's later segments."""
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=1)
    long = asyncio.create_task(_collect(scheduler, TTSRequest("x", options={"script": [SegmentScript(0.01, 1)] * 10, "tag": 1})))
    await asyncio.sleep(0.015)
    started = asyncio.get_running_loop().time()
    first = await scheduler.run(TTSRequest("y", options={"script": [SegmentScript(0.01, 1)], "tag": 2})).__anext__()
    waited = asyncio.get_running_loop().time() - started
    assert first.samples[0] == np.float32(2e-3)
    assert waited < 0.06, f"new request waited {waited:.3f}s behind look-ahead"
    await long


async def test_a_newcomer_preempts_a_running_segment_of_a_started_request():
    """One slot, long segments: the newcomer's first segment stops the other request's running
    segment (which has produced nothing yet) instead of waiting for it; that segment restarts
    and the long request still gets every chunk, in order, with the right samples."""
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine)  # ScriptedEngine: no preference -> 8 slots, no preemption
    assert not scheduler.preempt
    scheduler = TwoPhaseScheduler(engine, max_concurrency=1)
    assert scheduler.preempt
    script = [SegmentScript(0.0, 1)] + [SegmentScript(0.3, 1)] * 3
    long_request = TTSRequest("x", options={"script": script, "tag": 1})
    long = asyncio.create_task(_collect(scheduler, long_request))
    await asyncio.sleep(0.05)  # segment 0 is out, segment 1 is running its 0.3 s
    started = asyncio.get_running_loop().time()
    first = await scheduler.run(TTSRequest("y", options={"script": [SegmentScript(0.01, 1)], "tag": 2})).__anext__()
    waited = asyncio.get_running_loop().time() - started
    assert first.samples[0] == np.float32(2e-3)
    assert waited < 0.15, f"new request waited {waited:.3f}s behind a running segment"
    assert scheduler.preemptions == 1
    chunks = await long
    assert [c.samples[0] for c in chunks] == _expected_values(1, script)
    assert scheduler.in_flight == 0 and scheduler.queue_depth == 0
    assert not leaked_tasks()


async def test_no_preemption_before_a_request_has_audio():
    """Two newcomers never preempt each other: only requests with audio out can be stopped."""
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=1)
    one = asyncio.create_task(_collect(scheduler, TTSRequest("a", options={"script": [SegmentScript(0.1, 1)], "tag": 1})))
    await asyncio.sleep(0.02)
    two = await _collect(scheduler, TTSRequest("b", options={"script": [SegmentScript(0.0, 1)], "tag": 2}))
    assert len(await one) == 1 and len(two) == 1
    assert scheduler.preemptions == 0


async def test_fifty_concurrent_requests_through_facade():
    from toy_engine import ToneEngine

    from auralis_core import TTS

    engine = ToneEngine()
    tts = TTS(engine, max_concurrency=8)
    texts = [f"Request number {i}. " + "Another sentence here. " * (i % 4) for i in range(50)]
    try:
        outputs = await asyncio.gather(*[tts.generate_speech_async(t, voice="low") for t in texts])
        for i, (text, out) in enumerate(zip(texts, outputs)):
            reference = tts.generate_speech(text, voice="low")
            assert np.array_equal(out.samples, reference.samples), f"request {i} got someone else's audio"
        assert engine.max_active <= 8
        assert tts.metrics.summary()["in_flight"] == 0
        assert engine.active == 0
    finally:
        await tts.shutdown_async()
    assert not leaked_tasks()


async def test_streamed_text_input_is_cut_into_sentences():
    class PerSentence(ScriptedEngine):
        seen: list[str] = []

        async def get_generation_context(self, request):
            self.seen.append(request.text)
            request.options.script = [SegmentScript(0.0, 1)]
            return await super().get_generation_context(request)

    engine = PerSentence()
    scheduler = TwoPhaseScheduler(engine)

    async def tokens():
        for word in ["Hello", "there,", "my", "friend.", "This", "arrives", "word", "by", "word!", "And", "ends"]:
            yield word + " "
            await asyncio.sleep(0)

    chunks = [c async for c in scheduler.run(TTSRequest(tokens(), options={"tag": 1}))]
    assert engine.seen == ["Hello there, my friend.", "This arrives word by word!", "And ends"]
    assert [c.segment_index for c in chunks] == [0, 1, 2]


@dataclass(frozen=True)
class Ending:
    """How a consumer leaves: read everything, stop after ``after`` chunks, or be cancelled
    ``cancels`` times (``gap`` loop turns apart, as anyio re-cancels a cancelled scope)."""

    kind: str  # "complete" | "close" | "cancel"
    after: int = 0
    delay: float = 0.0
    cancels: int = 1
    gap: int = 0


endings = st.one_of(
    st.just(Ending("complete")),
    st.builds(Ending, kind=st.just("close"), after=st.integers(0, 6)),
    st.builds(Ending, kind=st.just("cancel"), delay=st.sampled_from([0.0, 0.001, 0.003, 0.008]),
              cancels=st.integers(1, 4), gap=st.integers(0, 3)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.lists(st.tuples(segment_scripts, endings), min_size=1, max_size=5),
    bound=st.integers(1, 4),
    buffered=st.sampled_from([None, 0.004, 0.05]),
)
def test_every_gauge_returns_to_zero_after_any_mix_of_cancels(cases, bound, buffered):
    async def consume(scheduler: TwoPhaseScheduler, request: TTSRequest, ending: Ending) -> None:
        agen = scheduler.run(request)
        got = 0
        async for _ in agen:
            got += 1
            if ending.kind == "close" and got >= ending.after:
                break
        await agen.aclose()

    async def scenario():
        engine = ScriptedEngine()
        scheduler = TwoPhaseScheduler(engine, max_concurrency=bound, max_buffered_seconds=buffered)
        tasks = []
        for k, (script, ending) in enumerate(cases):
            request = TTSRequest("x", options={"script": script, "tag": k + 1})
            tasks.append((asyncio.create_task(consume(scheduler, request, ending)), ending))
        for task, ending in tasks:
            if ending.kind != "cancel":
                continue
            await asyncio.sleep(ending.delay)
            for _ in range(ending.cancels):
                task.cancel()
                for _ in range(ending.gap):
                    await asyncio.sleep(0)
        await asyncio.gather(*(task for task, _ in tasks), return_exceptions=True)
        for _ in range(5):  # let reaping that outlived a repeated cancel finish
            await asyncio.sleep(0.01)
        assert scheduler.metrics.in_flight == 0
        assert scheduler.active_requests == 0
        assert scheduler.in_flight == 0 and scheduler.queue_depth == 0
        assert scheduler.buffered_seconds == 0
        assert engine.active == 0
        assert scheduler.metrics.totals["requests"] == len(cases)
        assert not leaked_tasks()

    asyncio.run(scenario())


async def test_repeated_cancellation_still_finishes_the_request_metrics():
    """The drift seen in production: a second cancel while `run` reaps its tasks."""
    engine = ScriptedEngine()
    scheduler = TwoPhaseScheduler(engine, max_concurrency=2)
    task = asyncio.create_task(_collect(scheduler, TTSRequest("x", options={"script": [SegmentScript(0.05, 3)] * 4, "tag": 1})))
    await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)
    assert scheduler.metrics.in_flight == 0 and scheduler.metrics.last().status == "cancelled"
    assert scheduler.active_requests == 0 and engine.active == 0
    assert not leaked_tasks()


async def test_punctuation_only_text_is_nothing_to_speak():
    from toy_engine import ToneEngine

    from auralis_core import TTS
    from auralis_core.errors import NothingToSpeakError

    tts = TTS(ToneEngine())
    try:
        for text in ("...", "?! …", ["--", "* * *"]):
            with pytest.raises(NothingToSpeakError, match="nothing to speak") as info:
                await tts.generate_speech_async(text, voice="low")
            assert info.value.param == "text"
        # unspeakable segments among speakable ones are skipped, not rendered as silence
        mixed = await tts.generate_speech_async("Hello there. ... And more.", voice="low")
        plain = await tts.generate_speech_async("Hello there. And more.", voice="low")
        assert mixed.duration == plain.duration
        assert tts.metrics.summary()["in_flight"] == 0
    finally:
        await tts.shutdown_async()


async def test_a_bad_piece_of_streamed_text_is_an_invalid_request():
    from auralis_core import InvalidRequestError

    class PerSentence(ScriptedEngine):
        async def get_generation_context(self, request):
            request.options.script = [SegmentScript(0.0, 1)]
            return await super().get_generation_context(request)

    scheduler = TwoPhaseScheduler(PerSentence())

    async def tokens():
        yield "A fine first sentence. "
        yield b"bytes"

    with pytest.raises(InvalidRequestError, match="text stream yielded bytes, expected str"):
        await _collect(scheduler, TTSRequest(tokens(), options={"tag": 1}))
    assert scheduler.metrics.in_flight == 0
    assert not leaked_tasks()
