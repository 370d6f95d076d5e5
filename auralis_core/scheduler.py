"""`TwoPhaseScheduler`: runs phase 1 per request and phase 2 for all segments concurrently.

Chunks reach the caller strictly in segment order while later segments (of this and other
requests) are already being computed. A global bound limits how many segments run phase 2 at
once; waiting segments are admitted by segment index first, so a new request's first segment
is not stuck behind another request's deep look-ahead (this keeps time to first audio low under
load). Stopping the consumer (``aclose``, cancellation, client disconnect) cancels the request's
tasks and waits for them, so no work or task outlives its request.

Backpressure: each request may hold at most ``max_buffered_seconds`` of audio that its consumer
has not taken yet. Past that, later segments wait to start, and a segment that has computed ahead
pauses and gives its phase-2 slot to other requests until the consumer catches up. The segment the
consumer is reading never pauses, so a stream cannot stall on its own backlog.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .engine.base import BaseAsyncTTSEngine, GenerationContext, SegmentWorkItem
from .errors import (
    AuralisError,
    GenerationError,
    GenerationTimeoutError,
    NothingToSpeakError,
)
from .metrics import MetricsTracker
from .output import TTSOutput
from .request import TTSRequest
from .text_stream import iter_sentences

log = logging.getLogger("auralis.scheduler")


class _PrioritySemaphore:
    """A counting semaphore whose waiters are woken lowest priority value first (FIFO on ties)."""

    def __init__(self, value: int) -> None:
        self._value = value
        self._waiters: list[tuple[Any, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, fut in self._waiters if not fut.done())

    async def acquire(self, priority: Any) -> None:
        if self._value > 0 and not self.waiting:
            self._value -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # woken and cancelled at once: pass the slot on
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            *_, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)
                return
        self._value += 1


_END = object()


def is_speakable(text: str) -> bool:
    """A segment is worth sending to an engine if it holds a letter or a digit (any script);
    punctuation, symbols and spaces alone would come back as silence."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


@dataclass(eq=False)  # identity: slots are keys of the running set
class _Slot:
    """Chunks of one segment, in order; ends with ``_END`` or an exception."""

    item: SegmentWorkItem
    index: int
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    seconds: float = 0.0
    """Audio in ``queue``."""
    produced: int = 0
    """Chunks the engine has yielded for this segment (a segment with none can be preempted)."""
    task: asyncio.Task[None] | None = None
    preempted: bool = False


class _Backlog:
    """Audio of one request computed but not yet taken by its consumer, and who may add to it.

    A segment may compute while less than ``limit`` seconds are buffered (``None``: no limit).
    Segment ``head``, the one being read, may also compute whenever its own queue is empty, so
    the consumer never waits on a paused head (no stall, whatever the later segments hold).
    """

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.seconds = 0.0
        self.head = 0
        self.started = False
        """The request has audio out already (its first chunk was produced)."""
        self._waiters: set[asyncio.Future[None]] = set()

    def has_room(self, slot: _Slot) -> bool:
        if self.limit is None or self.seconds < self.limit:
            return True
        return slot.index <= self.head and slot.seconds == 0

    async def wait_for_room(self, slot: _Slot) -> None:
        while not self.has_room(slot):
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)

    def put(self, slot: _Slot, chunk: TTSOutput) -> None:
        self.started = True
        slot.produced += 1
        slot.queue.put_nowait(chunk)
        slot.seconds += chunk.duration
        self.seconds += chunk.duration

    def took(self, slot: _Slot, chunk: TTSOutput) -> None:
        slot.seconds = max(0.0, slot.seconds - chunk.duration)
        self.seconds = max(0.0, self.seconds - chunk.duration)
        self._wake()

    def advance(self, head: int) -> None:
        self.head = head
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


DEFAULT_MAX_BUFFERED_SECONDS = 20.0
DEFAULT_MAX_CONCURRENCY = 8


class TwoPhaseScheduler:
    def __init__(
        self,
        engine: BaseAsyncTTSEngine,
        max_concurrency: int | None = None,
        request_timeout: float | None = None,
        metrics: MetricsTracker | None = None,
        engine_name: str | None = None,
        max_buffered_seconds: float | None = DEFAULT_MAX_BUFFERED_SECONDS,
        preempt: bool | None = None,
    ) -> None:
        """``max_buffered_seconds``: audio one request may compute ahead of its consumer (``None``:
        unbounded, as fast as the engine goes). ``max_concurrency``: segments in phase 2 at once;
        default: the engine's ``preferred_concurrency``, else 8. ``preempt``: a new request's
        first segment that finds every slot taken stops (and later restarts) a segment of a
        request whose audio has started and which has produced nothing yet; default: on when
        one segment runs at a time (with more slots, a newcomer gets the next free one, and a
        batching engine would lose shared work)."""
        if max_concurrency is None:
            max_concurrency = engine.get_capabilities().preferred_concurrency or DEFAULT_MAX_CONCURRENCY
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if request_timeout is not None and request_timeout <= 0:
            raise ValueError("request_timeout must be > 0 seconds")
        if max_buffered_seconds is not None and not max_buffered_seconds > 0:
            raise ValueError("max_buffered_seconds must be > 0 seconds (or None for no bound)")
        self.engine = engine
        self.max_concurrency = max_concurrency
        self.request_timeout = request_timeout
        self.metrics = metrics or MetricsTracker()
        self.engine_name = engine_name or engine.get_capabilities().name
        self.max_buffered_seconds = max_buffered_seconds
        self.preempt = max_concurrency == 1 if preempt is None else preempt
        self.preemptions = 0
        self._running: dict[_Slot, _Backlog] = {}  # segments holding a phase-2 slot
        self._semaphore: _PrioritySemaphore | None = None
        self._active = 0  # segments inside phase 2 right now (paused ones excluded)
        self._requests = 0  # requests between start and end of `run`
        self._backlogs: set[_Backlog] = set()

    # --- observability -------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        """Segments currently running phase 2."""
        return self._active

    @property
    def queue_depth(self) -> int:
        """Segments waiting for a phase-2 slot."""
        return self._semaphore.waiting if self._semaphore else 0

    @property
    def active_requests(self) -> int:
        return self._requests

    @property
    def buffered_seconds(self) -> float:
        """Audio computed for running requests that their consumers have not taken yet."""
        return sum(backlog.seconds for backlog in self._backlogs)

    # --- running a request ---------------------------------------------------------------------
    async def run(self, request: TTSRequest) -> AsyncIterator[TTSOutput]:
        """Async generator of the request's audio chunks in playback order."""
        request = request.resolved_for(self.engine)  # a no-op when the facade did it already
        if self._semaphore is None:
            self._semaphore = _PrioritySemaphore(self.max_concurrency)
        deadline = None if self.request_timeout is None else time.monotonic() + self.request_timeout
        metrics = self.metrics.start(request.request_id, self.engine_name)
        slots: asyncio.Queue[_Slot | object | BaseException] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        backlog = _Backlog(self.max_buffered_seconds)
        status = "error"
        self._requests += 1
        self._backlogs.add(backlog)
        try:
            tasks.add(asyncio.create_task(self._plan(request, slots, tasks, backlog), name=f"auralis-plan-{request.request_id}"))
            while True:
                slot = await self._next(slots, deadline, request)
                if slot is _END:
                    break
                if isinstance(slot, BaseException):
                    raise slot
                assert isinstance(slot, _Slot)
                backlog.advance(slot.index)
                metrics.segments += 1
                while True:
                    chunk = await self._next(slot.queue, deadline, request)
                    if chunk is _END:
                        break
                    if isinstance(chunk, BaseException):
                        raise chunk
                    backlog.took(slot, chunk)
                    metrics.add_audio(chunk.duration)
                    yield chunk
            status = "ok"
        except (asyncio.CancelledError, GeneratorExit):
            status = "cancelled"
            raise
        finally:
            # Accounting first and without awaiting: a second cancellation (anyio cancels a
            # cancelled scope again on every loop turn) may interrupt the reaping below.
            self._requests -= 1
            self._backlogs.discard(backlog)
            try:
                await self._reap(tasks)
            finally:
                self.metrics.finish(metrics, status)

    @staticmethod
    async def _reap(tasks: set[asyncio.Task[None]]) -> None:
        """Cancel a request's tasks and wait for them (shielded: even if our own cancellation
        continues, they are reaped). Repeats in case a task started another one meanwhile."""
        while pending := [task for task in tasks if not task.done()]:
            for task in pending:
                task.cancel()
            await asyncio.shield(asyncio.gather(*pending, return_exceptions=True))

    async def _next(self, queue: asyncio.Queue[Any], deadline: float | None, request: TTSRequest) -> Any:
        if deadline is None:
            return await queue.get()
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            return await asyncio.wait_for(queue.get(), remaining)
        except asyncio.TimeoutError:
            raise GenerationTimeoutError(
                f"request {request.request_id} exceeded the {self.request_timeout:g} s timeout"
            ) from None

    async def _plan(
        self, request: TTSRequest, slots: asyncio.Queue[Any], tasks: set[asyncio.Task[None]], backlog: _Backlog
    ) -> None:
        """Phase 1 (once, or once per sentence of a streamed text), then start phase-2 tasks."""
        try:
            index = 0
            if request.is_text_stream:
                async for sentence in iter_sentences(request.text_stream()):
                    ctx = await self._phase1(request.copy(text=sentence))
                    index = self._launch(ctx, slots, tasks, index, backlog)
            else:
                index = self._launch(await self._phase1(request), slots, tasks, 0, backlog)
            if index == 0:
                raise NothingToSpeakError()
            slots.put_nowait(_END)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            slots.put_nowait(exc)

    async def _phase1(self, request: TTSRequest) -> GenerationContext:
        try:
            ctx = await self.engine.get_generation_context(request)
        except AuralisError:
            raise
        except Exception as exc:
            raise GenerationError(f"engine {self.engine_name!r} failed to prepare the request: {exc}") from exc
        if not isinstance(ctx, GenerationContext):
            raise GenerationError(f"engine {self.engine_name!r} returned {type(ctx).__name__} from phase 1")
        return ctx

    def _launch(
        self, ctx: GenerationContext, slots: asyncio.Queue[Any], tasks: set[asyncio.Task[None]], first_index: int,
        backlog: _Backlog,
    ) -> int:
        """Start phase 2 for the segments worth speaking; returns the next segment index."""
        index = first_index
        for item in ctx.segments:
            if not is_speakable(item.text):
                log.debug("segment %r of %s has nothing to speak; skipped", item.text, ctx.request_id)
                continue
            slot = _Slot(item, index)
            slots.put_nowait(slot)
            self._spawn(slot, ctx, backlog, tasks)
            index += 1
        return index

    def _spawn(self, slot: _Slot, ctx: GenerationContext, backlog: _Backlog, tasks: set[asyncio.Task[None]]) -> None:
        slot.task = asyncio.create_task(self._phase2(slot, ctx, backlog, tasks),
                                        name=f"auralis-seg-{ctx.request_id}-{slot.index}")
        tasks.add(slot.task)

    async def _phase2(
        self, slot: _Slot, ctx: GenerationContext, backlog: _Backlog, tasks: set[asyncio.Task[None]]
    ) -> None:
        assert self._semaphore is not None
        priority = slot.index
        speed = ctx.request.speed
        stretch = speed != 1.0 and not self.engine.get_capabilities().native_speed
        await self._enter(slot, backlog)
        holding = True
        try:
            agen = self.engine.process_tokens_to_speech(slot.item, ctx)
            try:
                async for chunk in agen:
                    if not isinstance(chunk, TTSOutput):
                        raise GenerationError(f"engine {self.engine_name!r} yielded {type(chunk).__name__}, not TTSOutput")
                    if stretch:
                        chunk = chunk.change_speed(speed)
                    chunk.request_id = ctx.request_id
                    chunk.segment_index = priority
                    backlog.put(slot, chunk)
                    if not backlog.has_room(slot):
                        # far enough ahead of the consumer: give the slot to others meanwhile
                        holding = False
                        self._leave(slot)
                        await self._enter(slot, backlog)
                        holding = True
            finally:
                aclose = getattr(agen, "aclose", None)
                if aclose is not None:
                    await aclose()
            slot.queue.put_nowait(_END)
        except asyncio.CancelledError:
            if not slot.preempted:
                raise
            slot.preempted = False  # our own preemption: queue up again (nothing was produced)
            self._leave(slot)
            holding = False
            if slot.produced:  # the engine went on after the cancel; its partial audio cannot be redone
                slot.queue.put_nowait(GenerationError(f"segment {priority} was interrupted after it started"))
            else:
                self._spawn(slot, ctx, backlog, tasks)
        except AuralisError as exc:
            slot.queue.put_nowait(exc)
        except Exception as exc:
            log.exception("engine %s failed on segment %d of %s", self.engine_name, priority, ctx.request_id)
            err = GenerationError(f"engine {self.engine_name!r} failed on segment {priority}: {exc}")
            err.__cause__ = exc
            slot.queue.put_nowait(err)
        finally:
            if holding:
                self._leave(slot)

    async def _enter(self, slot: _Slot, backlog: _Backlog) -> None:
        """Take a phase-2 slot once the request's backlog has room for this segment."""
        assert self._semaphore is not None
        while True:
            await backlog.wait_for_room(slot)
            if self.preempt and slot.index == 0 and not backlog.started:
                self._preempt_for_newcomer()
            await self._semaphore.acquire(slot.index)
            if backlog.has_room(slot):  # still (it may have filled while we queued for the slot)
                self._active += 1
                self._running[slot] = backlog
                return
            self._semaphore.release()

    def _preempt_for_newcomer(self) -> None:
        """Every slot is taken: stop the most recently started segment of a request whose audio
        is already out and which has produced nothing yet (the least work lost); it restarts
        from scratch once a slot is free."""
        assert self._semaphore is not None
        if self._semaphore._value > 0:
            return
        victims = [s for s, b in self._running.items() if b.started and s.produced == 0 and not s.preempted]
        if victims and victims[-1].task is not None:
            victim = victims[-1]
            victim.preempted = True
            victim.task.cancel()
            self.preemptions += 1
            log.debug("preempted segment %d of %s for a new request", victim.index, victim.item.request_id)

    def _leave(self, slot: _Slot) -> None:
        assert self._semaphore is not None
        self._running.pop(slot, None)
        self._active -= 1
        self._semaphore.release()
