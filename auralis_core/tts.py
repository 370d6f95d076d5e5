"""The `TTS` facade: pick an engine by name or checkpoint, then generate speech (sync or async)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._loop import EngineLoop
from .engine.base import BaseAsyncTTSEngine, EngineCapabilities
from .errors import (
    AuralisError,
    CheckpointNotFoundError,
    EngineArgumentError,
    EngineLoadError,
    EngineNotFoundError,
    InvalidRequestError,
    VoiceNotFoundError,
)
from .metrics import MetricsTracker
from .output import TTSOutput
from .registry.registry import engine_for_model_type, get_engine_spec, list_engines
from .request import TTSRequest
from .scheduler import DEFAULT_MAX_BUFFERED_SECONDS, TwoPhaseScheduler
from .voices import VoiceProfile, VoiceStore, validate_voice_name

log = logging.getLogger("auralis.tts")

DEFAULT_ENGINE = "piper"
"""The engine used when none is named: Piper (natural speech, bundled voice) where installed..."""
FALLBACK_ENGINE = "espeak"
"""... else eSpeak NG (no model files at all)."""


def _default_engine() -> str:
    chosen = os.environ.get("AURALIS_DEFAULT_ENGINE")
    if chosen:
        return chosen
    installed = {spec.name for spec in list_engines()}
    return DEFAULT_ENGINE if DEFAULT_ENGINE in installed or FALLBACK_ENGINE not in installed else FALLBACK_ENGINE


def resolve_engine_name(model_name_or_path: str | None, engine: str | None) -> tuple[str, str | None]:
    """Decide which engine loads ``model_name_or_path``; returns (engine name, model argument)."""
    installed = {spec.name for spec in list_engines()}
    if engine is not None:
        get_engine_spec(engine)  # raises EngineNotFoundError listing the installed engines
        return engine, model_name_or_path
    if model_name_or_path is None:
        return _default_engine(), None
    if model_name_or_path in installed:
        return model_name_or_path, None
    by_id = _engine_for_model_id(model_name_or_path)
    if by_id is not None:
        return by_id, model_name_or_path
    config = Path(model_name_or_path) / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text())
            # Coqui's configs say "model": "xtts"; Hugging Face-style ones say "model_type"
            model_type = data.get("model_type") or data.get("model")
        except (OSError, json.JSONDecodeError) as exc:
            raise EngineLoadError(f"cannot read {config}: {exc}") from exc
        spec = engine_for_model_type(model_type) if model_type else None
        if spec is None:
            raise EngineLoadError(
                f"no installed engine loads model_type {model_type!r} from {config}; "
                f"installed engines: {', '.join(sorted(installed)) or 'none'}"
            )
        return spec.name, model_name_or_path
    if Path(model_name_or_path).exists():
        claimed = _engine_claiming(Path(model_name_or_path))
        if claimed is not None:
            return claimed, model_name_or_path
        raise EngineLoadError(f"{model_name_or_path!r} has no config.json; pass engine=... to say which engine loads it")
    if _reads_as_path(model_name_or_path):
        raise CheckpointNotFoundError(model_name_or_path)
    raise EngineNotFoundError(model_name_or_path, installed)


def set_vllm_logging_level(level: int | str) -> None:
    """Level of vLLM's loggers (``"info"``, ``"warn"``, ``"err"`` as the original Auralis took, any
    stdlib level name, or a number); vLLM reads ``VLLM_LOGGING_LEVEL`` when it is imported."""
    names = {"warn": "WARNING", "err": "ERROR"}
    value = level if isinstance(level, int) else logging.getLevelName(names.get(level.lower(), level.upper()))
    if not isinstance(value, int):
        raise InvalidRequestError(f"vllm_logging_level must be info, warn, err or a logging level, got {level!r}",
                                  "vllm_logging_level")
    os.environ["VLLM_LOGGING_LEVEL"] = logging.getLevelName(value)
    logging.getLogger("vllm").setLevel(value)


def _engine_for_model_id(model_id: str) -> str | None:
    """The engine whose capabilities list ``model_id`` (a hub id) among its ``model_ids``."""
    wanted = model_id.lower()
    for spec in list_engines():
        try:
            if wanted in (m.lower() for m in spec.capabilities.model_ids):
                return spec.name
        except Exception:  # a broken plugin must not stop the lookup
            continue
    return None


def _engine_claiming(path: Path) -> str | None:
    """The first installed engine whose ``claims_path`` accepts a layout without config.json
    (this imports engine classes, so it runs only for such paths)."""
    for spec in list_engines():
        try:
            if spec.load().claims_path(path):
                return spec.name
        except Exception as exc:
            log.debug("engine %s could not check %s: %s", spec.name, path, exc)
    return None


def _load_engine(engine_cls: type[BaseAsyncTTSEngine], name: str, model: str | None,
                 engine_kwargs: dict[str, Any]) -> BaseAsyncTTSEngine:
    try:
        return engine_cls.from_pretrained(model, **engine_kwargs)
    except AuralisError:  # typed errors name the problem already
        raise
    except TypeError as exc:
        match = re.search(r"unexpected keyword argument '([^']+)'", str(exc))
        if match and match.group(1) in engine_kwargs:
            raise EngineArgumentError(name, match.group(1), _accepted_keywords(engine_cls)) from exc
        raise EngineLoadError(f"engine {name!r} failed to load {model!r}: {exc}") from exc
    except Exception as exc:
        raise EngineLoadError(f"engine {name!r} failed to load {model!r}: {exc}") from exc


def _accepted_keywords(engine_cls: type[BaseAsyncTTSEngine]) -> list[str]:
    """Named parameters of the engine's ``from_pretrained`` and ``__init__``."""
    names: list[str] = []
    for fn in (engine_cls.from_pretrained, engine_cls.__init__):
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        names += [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name not in ("self", "cls", "model_name_or_path", "checkpoint") and p.name not in names]
    return names


def _reads_as_path(name: str) -> bool:
    """Absolute, relative (``./``, ``../``, ``~``), or deeper than a hub id's ``owner/name``."""
    path = Path(name).expanduser()
    return path.is_absolute() or name.startswith((".", "~")) or len(path.parts) > 2 or name.endswith(("/", os.sep))


class _EitherMethod:
    """``TTS.from_pretrained(...)`` builds a new facade; ``TTS(...).from_pretrained(...)`` (the
    original Auralis's spelling) loads into the configured instance and returns it."""

    def __init__(self, func: Any) -> None:
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: type) -> Any:
        return functools.partial(self.func, owner if obj is None else obj)


class TTS:
    """Synthesis front door. Owns one engine, its scheduler, a voice store and metrics.

    All engine work runs on a private event loop thread, so the sync methods work in plain
    scripts and inside an already-running loop (Jupyter), and the async methods can be awaited
    from any loop (e.g. the server's).
    """

    def __init__(
        self,
        engine: BaseAsyncTTSEngine | None = None,
        *,
        engine_name: str | None = None,
        max_concurrency: int | None = None,
        request_timeout: float | None = None,
        voices_dir: str | os.PathLike[str] | None = None,
        max_buffered_seconds: float | None = DEFAULT_MAX_BUFFERED_SECONDS,
        scheduler_max_concurrency: int | None = None,
        vllm_logging_level: int | str | None = None,
    ) -> None:
        """``max_concurrency``: segments synthesised at once (default: the engine's
        ``preferred_concurrency``, else 8; ``scheduler_max_concurrency`` is the original Auralis's
        name for it). ``max_buffered_seconds``: audio one request may compute ahead of a consumer
        that reads slowly (see `TwoPhaseScheduler`); ``None`` lets every request run ahead
        unbounded. Without ``engine``, call `from_pretrained` on the instance to load one.
        ``vllm_logging_level`` (the original Auralis's argument) sets the ``vllm`` logger's level."""
        if vllm_logging_level is not None:
            set_vllm_logging_level(vllm_logging_level)
        if max_concurrency is not None and scheduler_max_concurrency is not None:
            raise InvalidRequestError("pass max_concurrency or scheduler_max_concurrency, not both", "max_concurrency")
        self._settings = {
            "max_concurrency": max_concurrency if max_concurrency is not None else scheduler_max_concurrency,
            "request_timeout": request_timeout,
            "voices_dir": voices_dir,
            "max_buffered_seconds": max_buffered_seconds,
        }
        self._engine: BaseAsyncTTSEngine | None = None
        self._closed = False
        if engine is not None:
            self._attach(engine, engine_name)

    def _attach(self, engine: BaseAsyncTTSEngine, engine_name: str | None) -> None:
        s = self._settings
        self._engine = engine
        self.engine_name = engine_name or engine.get_capabilities().name
        self.metrics = MetricsTracker()
        self.scheduler = TwoPhaseScheduler(
            engine, s["max_concurrency"], s["request_timeout"], metrics=self.metrics, engine_name=self.engine_name,
            max_buffered_seconds=s["max_buffered_seconds"],
        )
        self.voices = VoiceStore(self.engine_name, s["voices_dir"])
        self._loop = EngineLoop()

    @property
    def engine(self) -> BaseAsyncTTSEngine:
        if self._engine is None:
            raise EngineLoadError("this TTS has no engine yet: call .from_pretrained(...) on it first")
        return self._engine

    @_EitherMethod
    def from_pretrained(
        self_or_cls: TTS | type[TTS],
        model_name_or_path: str | None = None,
        engine: str | None = None,
        *,
        max_concurrency: int | None = None,
        request_timeout: float | None = None,
        voices_dir: str | os.PathLike[str] | None = None,
        max_buffered_seconds: float | None = DEFAULT_MAX_BUFFERED_SECONDS,
        **engine_kwargs: Any,
    ) -> TTS:
        """Load by engine name (``"espeak"``), checkpoint directory (its config's ``model_type``
        or an engine's ``claims_path`` picks the engine), hub id an engine declares, or any hub id
        with ``engine=``; with no arguments, the default engine. Other keywords go to the
        engine's ``from_pretrained`` (an unknown one is an `EngineArgumentError` naming it)."""
        name, model = resolve_engine_name(model_name_or_path, engine)
        engine_cls = get_engine_spec(name).load()
        instance = _load_engine(engine_cls, name, model, engine_kwargs)
        if isinstance(self_or_cls, TTS):
            if self_or_cls._engine is not None:
                raise EngineLoadError("this TTS has an engine already; build a new TTS for another model")
            self_or_cls._attach(instance, name)
            return self_or_cls
        return self_or_cls(
            instance,
            engine_name=name,
            max_concurrency=max_concurrency,
            request_timeout=request_timeout,
            voices_dir=voices_dir,
            max_buffered_seconds=max_buffered_seconds,
        )

    # --- facts ---------------------------------------------------------------------------------
    @property
    def capabilities(self) -> EngineCapabilities:
        return self.engine.get_capabilities()

    def list_voices(self) -> list[str]:
        """Built-in voices of the engine followed by registered (cloned) voices."""
        return list(self.engine.list_voices()) + [v for v in self.voices.names() if v not in self.engine.list_voices()]

    # --- request preparation -------------------------------------------------------------------
    def _prepare(self, request: TTSRequest | str, overrides: dict[str, Any]) -> TTSRequest:
        if self._closed:
            raise RuntimeError("this TTS instance was shut down")
        if isinstance(request, TTSRequest):
            if overrides:
                request = request.copy(**overrides)
        else:
            request = TTSRequest(text=request, **overrides)
        request = request.resolved_for(self.engine)
        if request.voice is not None and request.voice_profile is None:
            if request.voice in self.voices:
                request = request.copy(voice_profile=self.voices.get(request.voice))
            elif not self.engine.has_voice(request.voice):
                raise VoiceNotFoundError(request.voice, self.list_voices())
        return request

    # --- async API -----------------------------------------------------------------------------
    async def stream_async(self, request: TTSRequest | str, **overrides: Any) -> AsyncIterator[TTSOutput]:
        """Audio chunks in playback order as they are generated."""
        prepared = self._prepare(request, {**overrides, "stream": True})
        async for chunk in self._loop.iterate_async(self.scheduler.run(prepared)):
            yield chunk

    async def generate_speech_async(self, request: TTSRequest | str, **overrides: Any) -> TTSOutput | AsyncIterator[TTSOutput]:
        """The whole utterance as one `TTSOutput`, or an async iterator of chunks if ``stream=True``."""
        prepared = self._prepare(request, overrides)
        if prepared.stream:
            return self.stream_async(prepared)
        return await self._loop.run_async(self._collect(prepared))

    async def _collect(self, request: TTSRequest) -> TTSOutput:
        chunks = [chunk async for chunk in self.scheduler.run(request)]
        if not chunks:
            raise InvalidRequestError("the engine produced no audio for this text", "text")
        out = await asyncio.to_thread(TTSOutput.combine_outputs, chunks)  # a book: hundreds of MB to copy
        out.request_id = request.request_id
        return out

    async def _create_voice(
        self, name: str, speaker_files: Sequence[Any] | Any, request_kwargs: dict[str, Any],
        metadata: Mapping[str, str] | None = None, exclusive: bool = False,
    ) -> VoiceProfile:
        """Runs on the engine loop: validate, let the engine compute conditioning, store it."""
        validate_voice_name(name)
        request = TTSRequest(text=name, speaker_files=speaker_files, **request_kwargs).resolved_for(self.engine)
        profile = await self.engine.create_voice(name, request)
        profile.metadata.update(metadata or {})
        await asyncio.to_thread(self.voices.create if exclusive else self.voices.add, profile)
        return profile

    async def register_voice_async(
        self, name: str, speaker_files: Sequence[Any] | Any, **request_kwargs: Any
    ) -> VoiceProfile:
        """Compute a cloned voice's conditioning once and keep it under ``name``."""
        return await self._loop.run_async(self._create_voice(name, speaker_files, request_kwargs))

    async def create_voice_async(
        self, name: str, speaker_files: Sequence[Any] | Any, *, metadata: Mapping[str, str] | None = None,
        **request_kwargs: Any,
    ) -> VoiceProfile:
        """Like `register_voice_async`, but the name must be new: `VoiceExistsError` if it is
        taken, also when another process sharing the voice store took it a moment ago."""
        return await self._loop.run_async(self._create_voice(name, speaker_files, request_kwargs, metadata, True))

    async def shutdown_async(self) -> None:
        if self._closed or self._engine is None:
            self._closed = True
            return
        self._closed = True
        try:
            await self._loop.run_async(self.engine.shutdown())
        finally:
            self._loop.close()

    # --- sync API ------------------------------------------------------------------------------
    def generate_speech(self, request: TTSRequest | str, **overrides: Any) -> TTSOutput | Iterator[TTSOutput]:
        prepared = self._prepare(request, overrides)
        if prepared.stream:
            return self._loop.iterate(self.scheduler.run(prepared))
        return self._loop.run(self._collect(prepared))

    def stream(self, request: TTSRequest | str, **overrides: Any) -> Iterator[TTSOutput]:
        prepared = self._prepare(request, {**overrides, "stream": True})
        return self._loop.iterate(self.scheduler.run(prepared))

    def register_voice(self, name: str, speaker_files: Sequence[Any] | Any, **request_kwargs: Any) -> VoiceProfile:
        return self._loop.run(self._create_voice(name, speaker_files, request_kwargs))

    def load_voice(self, path: str | os.PathLike[str], name: str | None = None) -> VoiceProfile:
        profile = VoiceProfile.load(path)
        if profile.engine != self.engine_name:
            raise InvalidRequestError(f"voice file is for engine {profile.engine!r}, not {self.engine_name!r}")
        if name:
            profile.name = validate_voice_name(name)
        self.voices.add(profile)
        return profile

    def delete_voice(self, name: str) -> None:
        self.voices.remove(name)

    def shutdown(self) -> None:
        if self._closed or self._engine is None:
            self._closed = True
            return
        self._closed = True
        try:
            self._loop.run(self.engine.shutdown(), timeout=60)
        finally:
            self._loop.close()

    def __enter__(self) -> TTS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    async def __aenter__(self) -> TTS:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown_async()
