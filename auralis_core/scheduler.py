"""`TwoPhaseScheduler`: runs phase 1 per request and phase 2 for all segments concurrently.

Chunks reach the caller strictly in segment order while later segments (of this and other
requests) are already being computed. A global bound limits how many segments run phase 2 at
once; waiting segments are admitted by segment index first, so a new request's first segment
is not stuck behind another request's deep look-ahead (this keeps time to first audio low under
load). Stopping the consumer (``aclose``, cancellation, client disconnect) cancels the request's
tasks and waits for them, so no work or task outlives its request.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .engine.base import BaseAsyncTTSEngine, GenerationContext, SegmentWorkItem
from .errors import AuralisError, GenerationError, GenerationTimeoutError
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


@dataclass
class _Slot:
    """Chunks of one segment, in order; ends with ``_END`` or an exception."""

    item: SegmentWorkItem
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)


class TwoPhaseScheduler:
    def __init__(
        self,
        engine: BaseAsyncTTSEngine,
        max_concurrency: int = 8,
        request_timeout: float | None = None,
        metrics: MetricsTracker | None = None,
        engine_name: str | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if request_timeout is not None and request_timeout <= 0:
            raise ValueError("request_timeout must be > 0 seconds")
        self.engine = engine
        self.max_concurrency = max_concurrency
        self.request_timeout = request_timeout
        self.metrics = metrics or MetricsTracker()
        self.engine_name = engine_name or engine.get_capabilities().name
        self._semaphore: _PrioritySemaphore | None = None
        self._active = 0  # segments inside phase 2 right now
        self._requests = 0  # requests between start and end of `run`

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

    # --- running a request ---------------------------------------------------------------------
    async def run(self, request: TTSRequest) -> AsyncIterator[TTSOutput]:
        """Async generator of the request's audio chunks in playback order."""
        if self._semaphore is None:
            self._semaphore = _PrioritySemaphore(self.max_concurrency)
        deadline = None if self.request_timeout is None else time.monotonic() + self.request_timeout
        metrics = self.metrics.start(request.request_id, self.engine_name)
        slots: asyncio.Queue[_Slot | object | BaseException] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        status = "error"
        self._requests += 1
        try:
            tasks.add(asyncio.create_task(self._plan(request, slots, tasks), name=f"auralis-plan-{request.request_id}"))
            while True:
                slot = await self._next(slots, deadline, request)
                if slot is _END:
                    break
                if isinstance(slot, BaseException):
                    raise slot
                assert isinstance(slot, _Slot)
                metrics.segments += 1
                while True:
                    chunk = await self._next(slot.queue, deadline, request)
                    if chunk is _END:
                        break
                    if isinstance(chunk, BaseException):
                        raise chunk
                    metrics.add_audio(chunk.duration)
                    yield chunk
            status = "ok"
        except (asyncio.CancelledError, GeneratorExit):
            status = "cancelled"
            raise
        finally:
            self._requests -= 1
            for task in tasks:
                task.cancel()
            if tasks:
                # shield: even if our own cancellation continues, the tasks must be reaped
                await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))
            self.metrics.finish(metrics, status)

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

    async def _plan(self, request: TTSRequest, slots: asyncio.Queue[Any], tasks: set[asyncio.Task[None]]) -> None:
        """Phase 1 (once, or once per sentence of a streamed text), then start phase-2 tasks."""
        try:
            if request.is_text_stream:
                index = 0
                async for sentence in iter_sentences(request.text):  # type: ignore[arg-type]
                    ctx = await self._phase1(request.copy(text=sentence))
                    index = self._launch(ctx, slots, tasks, index)
            else:
                self._launch(await self._phase1(request), slots, tasks, 0)
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

    def _launch(self, ctx: GenerationContext, slots: asyncio.Queue[Any], tasks: set[asyncio.Task[None]], first_index: int) -> int:
        index = first_index
        for item in ctx.segments:
            slot = _Slot(item)
            slots.put_nowait(slot)
            task = asyncio.create_task(self._phase2(slot, ctx, index), name=f"auralis-seg-{ctx.request_id}-{index}")
            tasks.add(task)
            index += 1
        return index

    async def _phase2(self, slot: _Slot, ctx: GenerationContext, priority: int) -> None:
        assert self._semaphore is not None
        speed = ctx.request.speed
        stretch = speed != 1.0 and not self.engine.get_capabilities().native_speed
        await self._semaphore.acquire(priority)
        self._active += 1
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
                    slot.queue.put_nowait(chunk)
            finally:
                aclose = getattr(agen, "aclose", None)
                if aclose is not None:
                    await aclose()
            slot.queue.put_nowait(_END)
        except asyncio.CancelledError:
            raise
        except AuralisError as exc:
            slot.queue.put_nowait(exc)
        except Exception as exc:
            log.exception("engine %s failed on segment %d of %s", self.engine_name, priority, ctx.request_id)
            err = GenerationError(f"engine {self.engine_name!r} failed on segment {priority}: {exc}")
            err.__cause__ = exc
            slot.queue.put_nowait(err)
        finally:
            self._active -= 1
            self._semaphore.release()
