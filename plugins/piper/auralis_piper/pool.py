"""Running sentences on onnxruntime sessions: which sentence next, on which session.

Each voice has a `SessionPool`: one *wide* session whose intra-op threads span every core (what
piper itself uses), and up to one *narrow* single-thread session per core. Narrow sessions are
built one at a time in the background, once the engine has seen work that repays a build
(concurrent requests, or a long text), whenever a sentence ends with more of that voice's
sentences still queued: never while a first sentence waits for its audio. The `Dispatcher` keeps a budget of
one thread per core and a queue ordered by (sentence index, request arrival):

* the best queued sentence starts as soon as the budget allows, on a narrow session if one is
  free, or on the wide one when nothing else runs and it is a first sentence (or no narrow
  session exists yet), so a lone request streams exactly as fast as piper;
* under concurrent requests the narrow sessions run one sentence per core (no thread
  oversubscription, no synchronisation inside a sentence), and a new request's first sentence
  (index 0) overtakes the look-ahead sentences (index 1, 2 ...) of requests already running: it
  waits only for a sentence that is already running to end.

A queued sentence whose request went away is dropped; a running one is stopped through
``RunOptions.terminate`` by its caller.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("auralis.piper")


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def new_session(model: bytes | str, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # shape-merge warnings about the added durations output
    # spinning threads would take cores from the sessions running next to this one
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


class SessionPool:
    """The sessions of one voice: one wide, up to ``max_narrow`` narrow (see the module docstring)."""

    def __init__(self, model: bytes | str, cores: int, max_narrow: int, warm_narrow: int = 0) -> None:
        self._model = model
        self.cores = cores
        self.max_narrow = max(0, max_narrow)
        self.wide = new_session(model, cores)
        self.wide_free = True
        self._narrow_free: list[Any] = [new_session(model, 1) for _ in range(min(warm_narrow, self.max_narrow))]
        self.narrow_count = len(self._narrow_free)
        self._grower: threading.Thread | None = None
        self.wanted = False
        """Set by the engine once parallel sentences pay for a build (concurrent requests, long texts)."""
        self._closed = False
        self._lock = threading.Lock()
        self.on_change: Callable[[Any], None] = self._narrow_free.append
        """Takes a newly built narrow session (the dispatcher hooks in to re-check its queue)."""

    def has_free_narrow(self) -> bool:
        return bool(self._narrow_free)

    def take_narrow(self) -> Any:
        return self._narrow_free.pop()

    def give_back_narrow(self, session: Any) -> None:
        self._narrow_free.append(session)

    def grow(self) -> None:
        """Build one more narrow session in the background (no-op at the limit or while one builds)."""
        with self._lock:
            if self._closed or self.narrow_count >= self.max_narrow or (self._grower and self._grower.is_alive()):
                return
            self._grower = threading.Thread(target=self._build, name="auralis-piper-session", daemon=True)
            self._grower.start()

    def _build(self) -> None:
        try:
            session = new_session(self._model, 1)
        except Exception:  # out of memory, say: the sessions we have keep serving
            log.warning("could not add an onnxruntime session to the pool", exc_info=True)
            return
        with self._lock:
            if self._closed:
                return
            self.narrow_count += 1
        self.on_change(session)

    def close(self) -> None:
        """Drop the sessions; waits for one still being built (onnxruntime aborts the process if
        the interpreter exits under a thread inside it)."""
        with self._lock:
            self._closed = True
            grower = self._grower
        if grower is not None:
            grower.join()
        self._narrow_free.clear()


@dataclass(order=True)
class _Job:
    priority: Any
    seq: int
    pool: SessionPool = field(compare=False)
    fn: Callable[[Any], Any] = field(compare=False)
    first: bool = field(compare=False)
    future: Future[Any] = field(compare=False)


class Dispatcher:
    """Runs ``fn(session)`` jobs by priority within a budget of ``cores`` threads."""

    def __init__(self, cores: int, name: str = "auralis-piper") -> None:
        self.cores = cores
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._busy = 0  # threads in use: cores for a wide run, 1 per narrow run
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=cores, thread_name_prefix=name)
        self._thread = threading.Thread(target=self._dispatch, name=f"{name}-dispatch", daemon=True)
        self._thread.start()

    def attach(self, pool: SessionPool) -> None:
        def added(session: Any) -> None:
            with self._cv:
                pool.give_back_narrow(session)
                self._cv.notify_all()

        pool.on_change = added

    def submit(self, priority: Any, pool: SessionPool, fn: Callable[[Any], T], first: bool) -> Future[T]:
        future: Future[T] = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the Piper engine was shut down")
            heapq.heappush(self._queue, _Job(priority, next(self._seq), pool, fn, first, future))
            self._cv.notify_all()
        return future

    @property
    def queued(self) -> int:
        with self._cv:
            return sum(1 for job in self._queue if not job.future.cancelled())

    def _lease(self, job: _Job) -> tuple[Any, bool] | None:
        """A session for ``job`` now, and whether it is the wide one; None: wait."""
        pool = job.pool
        if self._busy == 0 and pool.wide_free and (job.first or not pool.has_free_narrow()):
            pool.wide_free = False
            self._busy = self.cores
            return pool.wide, True
        if self._busy < self.cores and pool.has_free_narrow():
            self._busy += 1
            return pool.take_narrow(), False
        return None

    def _dispatch(self) -> None:
        while True:
            with self._cv:
                while True:
                    while self._queue and self._queue[0].future.cancelled():
                        heapq.heappop(self._queue)  # its request went away before it started
                    if self._closed and not self._queue:
                        return
                    lease = self._lease(self._queue[0]) if self._queue else None
                    if lease is not None:
                        job = heapq.heappop(self._queue)
                        break
                    self._cv.wait()
            if not job.future.set_running_or_notify_cancel():
                self._release(job.pool, *lease)
                continue
            self._executor.submit(self._run, job, *lease)

    def _run(self, job: _Job, session: Any, wide: bool) -> None:
        try:
            job.future.set_result(job.fn(session))
        except BaseException as exc:  # delivered to the awaiting request; the worker lives on
            job.future.set_exception(exc)
        finally:
            self._release(job.pool, session, wide)

    def _release(self, pool: SessionPool, session: Any, wide: bool) -> None:
        with self._cv:
            if wide:
                pool.wide_free = True
                self._busy = 0
            else:
                pool.give_back_narrow(session)
                self._busy -= 1
            backlog = pool.wanted and any(job.pool is pool and not job.future.cancelled() for job in self._queue)
            self._cv.notify_all()
        if backlog:
            # work is still waiting after a sentence ended (its audio is out, so the build no longer
            # delays a first sentence): one more single-thread session for parallel sentences
            pool.grow()

    def shutdown(self) -> None:
        """Drop queued jobs, let running ones finish, stop the threads."""
        with self._cv:
            self._closed = True
            for job in self._queue:
                job.future.cancel()
            self._cv.notify_all()
        self._thread.join()
        self._executor.shutdown(wait=True)
