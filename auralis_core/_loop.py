"""A private event loop on a daemon thread, so sync callers (scripts, Jupyter) can drive async engines."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class EngineLoop:
    def __init__(self, name: str = "auralis-engine-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def closed(self) -> bool:
        return self.loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the engine loop and block for its result (safe inside another loop)."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` running on the engine loop from another loop; cancelling us cancels it."""
        future = self.submit(coro)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """Drive an async generator living on the engine loop from synchronous code."""
        try:
            while True:
                try:
                    yield self.run(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self.closed:
                self.run(aclose())

    async def iterate_async(self, agen: AsyncIterator[T]) -> AsyncIterator[T]:
        """Relay an async generator running on the engine loop to the caller's loop.

        Items are pushed as they are produced (no round trip per chunk); when the caller stops
        early or is cancelled, the producing task on the engine loop is cancelled.
        """
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: Any) -> None:
            try:
                caller.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # caller loop closed: nobody is listening any more
                pass

        async def pump() -> None:
            try:
                async for item in agen:  # type: ignore[attr-defined]
                    put("item", item)
            except BaseException as exc:  # includes CancelledError: report, then re-raise
                put("error", exc)
                raise
            else:
                put("done", None)

        future = self.submit(pump())
        try:
            while True:
                kind, value = await queue.get()
                if kind == "done":
                    return
                if kind == "error":
                    if isinstance(value, asyncio.CancelledError):
                        raise asyncio.CancelledError()
                    raise value
                yield value
        finally:
            if not future.done():
                future.cancel()
                try:
                    await asyncio.wrap_future(future)
                except BaseException:
                    pass

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()
