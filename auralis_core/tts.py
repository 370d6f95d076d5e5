"""The `TTS` facade: pick an engine by name or checkpoint, then generate speech (sync or async)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from ._loop import EngineLoop
from .engine.base import BaseAsyncTTSEngine, EngineCapabilities
from .errors import (
    AuralisError, CheckpointNotFoundError, EngineLoadError, EngineNotFoundError, InvalidRequestError, VoiceNotFoundError,
)
from .metrics import MetricsTracker
from .output import TTSOutput
from .registry.registry import engine_for_model_type, get_engine_spec, list_engines
from .request import TTSRequest
from .scheduler import DEFAULT_MAX_BUFFERED_SECONDS, TwoPhaseScheduler
from .voices import VoiceProfile, VoiceStore, validate_voice_name

log = logging.getLogger("auralis.tts")

DEFAULT_ENGINE = "espeak"


def _default_engine() -> str:
    return os.environ.get("AURALIS_DEFAULT_ENGINE", DEFAULT_ENGINE)


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
        raise EngineLoadError(f"{model_name_or_path!r} has no config.json; pass engine=... to say which engine loads it")
    if _reads_as_path(model_name_or_path):
        raise CheckpointNotFoundError(model_name_or_path)
    raise EngineNotFoundError(model_name_or_path, installed)


def _reads_as_path(name: str) -> bool:
    """Absolute, relative (``./``, ``../``, ``~``), or deeper than a hub id's ``owner/name``."""
    path = Path(name).expanduser()
    return path.is_absolute() or name.startswith((".", "~")) or len(path.parts) > 2 or name.endswith(("/", os.sep))


class TTS:
    """Synthesis front door. Owns one engine, its scheduler, a voice store and metrics.

    All engine work runs on a private event loop thread, so the sync methods work in plain
    scripts and inside an already-running loop (Jupyter), and the async methods can be awaited
    from any loop (e.g. the server's).
    """

    def __init__(
        self,
        engine: BaseAsyncTTSEngine,
        *,
        engine_name: str | None = None,
        max_concurrency: int = 8,
        request_timeout: float | None = None,
        voices_dir: str | os.PathLike[str] | None = None,
        max_buffered_seconds: float | None = DEFAULT_MAX_BUFFERED_SECONDS,
    ) -> None:
        """``max_buffered_seconds``: audio one request may compute ahead of a consumer that reads
        slowly (see `TwoPhaseScheduler`); ``None`` lets every request run ahead unbounded."""
        self.engine = engine
        self.engine_name = engine_name or engine.get_capabilities().name
        self.metrics = MetricsTracker()
        self.scheduler = TwoPhaseScheduler(
            engine, max_concurrency, request_timeout, metrics=self.metrics, engine_name=self.engine_name,
            max_buffered_seconds=max_buffered_seconds,
        )
        self.voices = VoiceStore(self.engine_name, voices_dir)
        self._loop = EngineLoop()
        self._closed = False

    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | None = None,
        engine: str | None = None,
        *,
        max_concurrency: int = 8,
        request_timeout: float | None = None,
        voices_dir: str | os.PathLike[str] | None = None,
        max_buffered_seconds: float | None = DEFAULT_MAX_BUFFERED_SECONDS,
        **engine_kwargs: Any,
    ) -> TTS:
        """Load by engine name (``"espeak"``), checkpoint directory (its config's ``model_type``
        picks the engine) or hub id with ``engine=``; with no arguments, the default engine."""
        name, model = resolve_engine_name(model_name_or_path, engine)
        engine_cls = get_engine_spec(name).load()
        try:
            instance = engine_cls.from_pretrained(model, **engine_kwargs)
        except (AuralisError, TypeError):  # typed errors name the problem already
            raise
        except Exception as exc:
            raise EngineLoadError(f"engine {name!r} failed to load {model!r}: {exc}") from exc
        return cls(
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
        request.validate_for(self.capabilities)
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

    async def _create_voice(self, name: str, speaker_files: Sequence[Any] | Any, request_kwargs: dict[str, Any]) -> VoiceProfile:
        """Runs on the engine loop: validate, let the engine compute conditioning, store it."""
        validate_voice_name(name)
        request = TTSRequest(text=name, speaker_files=speaker_files, **request_kwargs)
        request.validate_for(self.capabilities)
        profile = await self.engine.create_voice(name, request)
        self.voices.add(profile)
        return profile

    async def register_voice_async(
        self, name: str, speaker_files: Sequence[Any] | Any, **request_kwargs: Any
    ) -> VoiceProfile:
        """Compute a cloned voice's conditioning once and keep it under ``name``."""
        return await self._loop.run_async(self._create_voice(name, speaker_files, request_kwargs))

    async def shutdown_async(self) -> None:
        if self._closed:
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
        if self._closed:
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
