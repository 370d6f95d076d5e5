"""Continuous micro-batching of GPU calls that many concurrent requests make one at a time.

Callers ``await batcher.submit(job)``. Jobs that arrive while a batch is running wait for the next
one; each batch takes every waiting job (up to ``max_batch``) with the same ``key`` and runs
``run_batch`` once, in an executor, so the event loop never blocks and the GPU sees one large call
instead of many small ones. With one caller the latency is that of a direct call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")


@dataclass
class _Pending(Generic[J, R]):
    job: J
    key: Hashable
    future: asyncio.Future[R] = field(repr=False)


class MicroBatcher(Generic[J, R]):
    def __init__(
        self,
        run_batch: Callable[[list[J]], list[R]],
        executor: Executor,
        *,
        key: Callable[[J], Hashable] = lambda job: None,
        max_batch: int = 64,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._run_batch = run_batch
        self._executor = executor
        self._key = key
        self.max_batch = max_batch
        self._pending: list[_Pending[J, R]] = []
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # observability / tests
        self.largest = 0
        self.jobs = 0
        self.busy_s = 0.0  # wall time inside run_batch (GPU work included: results come back on the CPU)

    async def submit(self, job: J) -> R:
        loop = asyncio.get_running_loop()
        item = _Pending(job, self._key(job), loop.create_future())
        self._pending.append(item)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        try:
            return await asyncio.shield(item.future)
        except asyncio.CancelledError:
            if item in self._pending:  # not started yet: drop it
                self._pending.remove(item)
            raise

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)  # let callers woken in the same loop turn join the first batch
        while self._pending:
            key = self._pending[0].key
            batch = [p for p in self._pending if p.key == key][: self.max_batch]
            taken = {id(p) for p in batch}
            self._pending = [p for p in self._pending if id(p) not in taken]
            self.batches += 1
            self.largest = max(self.largest, len(batch))
            self.jobs += len(batch)
            try:
                results = await loop.run_in_executor(self._executor, self._timed, [p.job for p in batch])
            except Exception as exc:  # every caller of the batch sees the failure; the next batch runs
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, result in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(result)

    def _timed(self, jobs: list[J]) -> list[R]:
        start = time.perf_counter()
        try:
            return self._run_batch(jobs)
        finally:
            self.busy_s += time.perf_counter() - start
