"""`ServerRuntime`: the process-wide state routes share (model, readiness, admission, metrics)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..scheduler import DEFAULT_MAX_CONCURRENCY
from .config import ServerConfig
from .errors import APIError
from .metrics import ServerMetrics

if TYPE_CHECKING:
    from ..tts import TTS

log = logging.getLogger("auralis.server")


class ServerRuntime:
    """Loads the model off the event loop (so liveness answers during loading) and admits requests.

    Admission: at most ``max_concurrency + max_queue`` synthesis requests are inside the server at
    once; the next one gets 429 with ``Retry-After`` instead of waiting without bound.
    """

    def __init__(self, config: ServerConfig, tts: TTS | None = None) -> None:
        self.config = config
        if tts is not None:
            check_voice_aliases(tts, config)
            check_options(tts, config)
        self.tts: TTS | None = tts
        self.owns_tts = tts is None
        self.status = "ok" if tts is not None else "loading"
        self.detail: str | None = None
        self.active = 0
        self.stopping = False
        self._lock = threading.Lock()
        self.metrics = ServerMetrics(self)

    @property
    def capacity(self) -> int:
        concurrency = self.tts.scheduler.max_concurrency if self.tts is not None else self.config.max_concurrency or DEFAULT_MAX_CONCURRENCY
        return concurrency + self.config.max_queue

    # --- loading -------------------------------------------------------------------------------
    async def load(self) -> None:
        if self.tts is not None:
            return
        from ..tts import TTS

        try:
            tts = await asyncio.to_thread(
                TTS.from_pretrained,
                self.config.model,
                engine=self.config.engine,
                max_concurrency=self.config.max_concurrency,
                request_timeout=self.config.request_timeout,
                voices_dir=self.config.voices_dir,
                **self.config.engine_args,
            )
            try:
                check_voice_aliases(tts, self.config)
                check_options(tts, self.config)
            except ConfigurationError:
                await tts.shutdown_async()
                raise
            self.tts = tts
        except Exception as exc:
            self.status, self.detail = "failed", f"{type(exc).__name__}: {exc}"
            log.error("model failed to load: %s", self.detail)
            return
        self.status = "ok"
        log.info("engine %s ready", self.tts.engine_name)

    async def close(self) -> None:
        self.stopping = True
        if self.tts is not None and self.owns_tts:
            await self.tts.shutdown_async()

    def ready_tts(self) -> TTS:
        """The loaded model, or 503 while it loads (or after it failed)."""
        if self.tts is None or self.status != "ok":
            msg = "the model is still loading" if self.status == "loading" else f"the model failed to load: {self.detail}"
            raise APIError(503, msg, type="server_error", code="model_not_ready",
                           headers={"Retry-After": str(self.config.retry_after_seconds)})
        return self.tts

    # --- admission -----------------------------------------------------------------------------
    def acquire(self) -> Callable[[], None]:
        """Take one request slot; returns an idempotent release (a stream holds it until it ends)."""
        with self._lock:
            if self.active >= self.capacity:
                self.metrics.record_rejected()
                raise APIError(
                    429,
                    f"server busy: {self.active} requests in progress (limit {self.capacity}); retry shortly",
                    type="rate_limit_error",
                    code="server_busy",
                    headers={"Retry-After": str(self.config.retry_after_seconds)},
                )
            self.active += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self.active -= 1

        return release

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one request slot for the ``with`` block and release it however the block ends (an
        error of any kind, a cancellation). A response that outlives the handler takes the slot
        with it by moving the context out of an ``AsyncExitStack`` (``pop_all``)."""
        release = self.acquire()
        try:
            yield
        finally:
            release()


def check_voice_aliases(tts: TTS, config: ServerConfig) -> None:
    """Every configured alias must name a voice the engine has (built in or uploaded): a typo in
    ``--voice-alias`` fails at start-up, not on the first request that uses it. (The built-in
    defaults are the engines' own voices or their default voice, and are not second-guessed.)"""
    bad = {name: target for name, target in config.voice_aliases.items()
           if not (tts.engine.has_voice(target) or target in tts.voices)}
    if bad:
        shown = ", ".join(f"{name}={target}" for name, target in sorted(bad.items()))
        raise ConfigurationError(f"voice alias targets unknown to engine {tts.engine_name!r}: {shown}; "
                                 f"its voices: {', '.join(tts.list_voices()[:40])}")


def check_options(tts: TTS, config: ServerConfig) -> None:
    """``--option`` defaults must be options of the engine, in range: checked once at start-up."""
    from ..errors import InvalidRequestError
    from ..options import resolve_options

    try:
        resolve_options(tts.engine, config.options)
    except InvalidRequestError as exc:
        raise ConfigurationError(f"--option: {exc}") from None
