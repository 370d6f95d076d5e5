"""A private event loop on a daemon thread, so sync callers (scripts, Jupyter) can drive async engines."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
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

    def iterate(self, agen: AsyncIterator[T], timeout: float | None = 30.0) -> Iterator[T]:
        """Drive an async generator living on the engine loop from synchronous code.

        When the caller stops early (``break``, an exception, Ctrl-C), the generator is cancelled
        and closed on the engine loop, and this waits up to ``timeout`` seconds for that, so its
        work is reaped before the caller goes on (e.g. to shut the engine down).
        """
        items: queue.Queue[tuple[str, Any]] = queue.Queue()
        relay = _Relay(agen, lambda kind, value: items.put((kind, value)))
        self.submit(relay.pump())
        ended = False
        try:
            while True:
                kind, value = items.get()
                if kind != "item":
                    ended = True
                    if kind == "error":
                        raise value
                    return
                self.loop.call_soon_threadsafe(relay.credit)
                yield value
        finally:
            if not ended and not self.closed:
                self.loop.call_soon_threadsafe(relay.stop)
                relay.finished.wait(timeout)

    async def iterate_async(self, agen: AsyncIterator[T]) -> AsyncIterator[T]:
        """Relay an async generator running on the engine loop to the caller's loop.

        Items are pushed as they are produced (no round trip per chunk), but at most
        `_Relay.WINDOW` ahead of the caller, so a slow caller slows the producer (the scheduler's
        backpressure reaches through). When the caller stops early or is cancelled, the producer
        is cancelled and closed on the engine loop, and the caller waits for that.
        """
        caller = asyncio.get_running_loop()
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: Any) -> None:
            try:
                caller.call_soon_threadsafe(items.put_nowait, (kind, value))
            except RuntimeError:  # caller loop closed: nobody is listening any more
                pass

        relay = _Relay(agen, put)
        future = self.submit(relay.pump())
        ended = False
        try:
            while True:
                kind, value = await items.get()
                if kind != "item":
                    ended = True
                    if kind == "done":
                        return
                    if isinstance(value, asyncio.CancelledError):
                        raise asyncio.CancelledError()
                    raise value
                self.loop.call_soon_threadsafe(relay.credit)
                yield value
        finally:
            if not ended and not self.closed:
                self.loop.call_soon_threadsafe(relay.stop)
                waiting = asyncio.wrap_future(future)
                waiting.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: no log
                try:
                    await asyncio.shield(waiting)
                except BaseException:  # its own outcome was delivered above; a new cancel ends the wait
                    pass

    def close(self, timeout: float = 10.0) -> None:
        """Cancel what still runs on the loop (e.g. a stream its caller abandoned), let it unwind
        for up to ``timeout`` seconds, then stop the loop and its thread."""
        if self.loop.is_closed():
            return
        try:
            self.submit(self._cancel_all()).result(timeout)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError, RuntimeError):
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=timeout)
        if not self._thread.is_alive():
            self.loop.close()

    @staticmethod
    async def _cancel_all() -> None:
        current = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


class _Relay:
    """Moves one async generator's items from the engine loop to a consumer on another thread.

    ``pump`` runs on the engine loop: it pulls an item only while fewer than ``WINDOW`` are
    waiting for the consumer (``credit`` is called as the consumer takes one). ``stop`` cancels the
    pump and makes it end even if that cancellation is swallowed (``wait_for`` on Python < 3.12
    can), and the generator is always closed on the engine loop, never from another thread while
    it runs (which is what "aclose(): asynchronous generator is already running" was).
    """

    WINDOW = 2

    def __init__(self, agen: AsyncIterator[Any], deliver: Callable[[str, Any], None]) -> None:
        self.agen = agen
        self.deliver = deliver
        self.finished = threading.Event()
        self._credits: asyncio.Semaphore | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stopped = False

    def credit(self) -> None:
        if self._credits is not None:
            self._credits.release()

    def stop(self) -> None:
        """On the engine loop: end the pump."""
        self._stopped = True
        self.credit()
        if self._task is not None:
            self._task.cancel()

    async def pump(self) -> None:
        self._task = asyncio.current_task()
        self._credits = asyncio.Semaphore(self.WINDOW)
        try:
            while True:
                if self._stopped:
                    raise asyncio.CancelledError()
                await self._credits.acquire()
                if self._stopped:
                    raise asyncio.CancelledError()
                try:
                    item = await self.agen.__anext__()  # type: ignore[attr-defined]
                except StopAsyncIteration:
                    self.deliver("done", None)
                    return
                self.deliver("item", item)
        except BaseException as exc:  # includes CancelledError: report, then re-raise
            self.deliver("error", exc)
            raise
        finally:
            try:
                aclose = getattr(self.agen, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                self.finished.set()
