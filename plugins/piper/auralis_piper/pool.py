"""Worker threads that take jobs by priority, and a pool of ONNX sessions per voice.

onnxruntime releases the GIL while it runs, so N threads, each with its own session, keep N cores
busy. The job queue is a priority queue keyed by (segment index, arrival): a new request's first
sentence (index 0) starts on the next free worker, ahead of every other request's look-ahead
sentences (index 1, 2, ...) already queued. A job that was cancelled before it started is
dropped; one that is running is stopped through ``RunOptions.terminate``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("auralis.piper")


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class PriorityWorkers:
    """``size`` threads running submitted callables, lowest priority value first (FIFO on ties)."""

    def __init__(self, size: int, name: str = "auralis-piper") -> None:
        if size < 1:
            raise ValueError("need at least one worker")
        self.size = size
        self._queue: list[tuple[Any, int, Future[Any], Callable[[], Any]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, priority: Any, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the Piper workers were shut down")
            heapq.heappush(self._queue, (priority, next(self._seq), future, fn))
            self._cv.notify()
        return future

    @property
    def queued(self) -> int:
        with self._cv:
            return sum(1 for _, _, future, _ in self._queue if not future.cancelled())

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                _, _, future, fn = heapq.heappop(self._queue)
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                future.set_result(fn())
            except BaseException as exc:  # delivered to the awaiting request, never kills the worker
                future.set_exception(exc)

    def shutdown(self) -> None:
        with self._cv:
            self._closed = True
            for _, _, future, _ in self._queue:
                future.cancel()
            self._queue.clear()
            self._cv.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()


class SessionPool:
    """Up to ``size`` onnxruntime sessions of one model.

    ``warm`` sessions are made at once (at least one). When every session is busy and the pool
    may grow, one more is built in the background; the waiting job takes whichever session frees
    first, so a slow session build (seconds for a medium voice) never delays a job that an
    existing session could have served sooner.
    """

    def __init__(self, model_bytes: bytes, size: int, threads_per_session: int, warm: int = 1) -> None:
        self._model = model_bytes
        self.size = max(1, size)
        self.threads_per_session = threads_per_session
        self._free: list[Any] = []
        self._created = 0
        self._growing = False
        self._grower: threading.Thread | None = None
        self._closed = False
        self._cv = threading.Condition()
        for _ in range(max(1, min(warm, self.size))):
            self._free.append(self._new_session())
            self._created += 1

    @property
    def created(self) -> int:
        return self._created

    def _new_session(self) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads_per_session
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # shape-merge warnings about the added durations output
        # spinning threads would steal the cores that the pool's other sessions are using
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(self._model, sess_options=options, providers=["CPUExecutionProvider"])

    def acquire(self) -> Any:
        with self._cv:
            if not self._free and self._created < self.size and not self._growing and not self._closed:
                self._growing = True
                self._grower = threading.Thread(target=self._grow, name="auralis-piper-session", daemon=True)
                self._grower.start()
            while not self._free:
                self._cv.wait()
            return self._free.pop()

    def _grow(self) -> None:
        try:
            session = self._new_session()
        except Exception:  # out of memory, say: the sessions we have keep serving
            log.warning("could not add an onnxruntime session to the pool", exc_info=True)
            session = None
        with self._cv:
            self._growing = False
            if session is not None and not self._closed:
                self._free.append(session)
                self._created += 1
            self._cv.notify_all()

    def release(self, session: Any) -> None:
        with self._cv:
            self._free.append(session)
            self._cv.notify()

    def close(self) -> None:
        """Drop the sessions; waits for a session still being built (onnxruntime aborts the
        process if the interpreter exits under a thread inside it)."""
        with self._cv:
            self._closed = True
            self._free.clear()
            grower = self._grower
        if grower is not None:
            grower.join()
