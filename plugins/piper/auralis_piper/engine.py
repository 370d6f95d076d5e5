"""`PiperEngine`: Piper voices through a pool of onnxruntime sessions.

Phase 1 picks the voice (by name, ``VOICE:SPEAKER``, or the request's language), resolves the
options against the voice's own defaults and splits the text into sentences. Phase 2 phonemizes
one sentence and runs it on the next free session, in a worker pool sized to the cores: jobs are
taken by (sentence index, arrival), so a new request's first sentence overtakes the look-ahead
sentences of requests already running. Each sentence is one streamed chunk.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from auralis_core import (
    BaseAsyncTTSEngine,
    EngineCapabilities,
    GenerationContext,
    InvalidRequestError,
    SegmentWorkItem,
    TTSOutput,
    TTSRequest,
    UnsupportedLanguageError,
)
from auralis_core.options import EngineOptions, resolve_options
from auralis_core.text import split_sentences

from .options import PiperOptions
from .plugin import build_capabilities, bundled_capabilities
from .pool import Dispatcher, available_cores
from .synth import PiperSynthesizer, SynthesisParams
from .voices import (
    VoiceCatalog,
    VoiceFiles,
    catalog_from_sources,
    looks_like_voice_path,
)

LONG_TEXT_SENTENCES = 8
"""A request with this many sentences keeps several cores busy by itself: worth single-thread
sessions (a short one-shot text is done before their build would pay off)."""


@dataclass(frozen=True)
class _Plan:
    """Phase 1's decisions for one request, shared by its sentences."""

    synth: PiperSynthesizer
    params: SynthesisParams
    seed: int
    arrival: int


class PiperEngine(BaseAsyncTTSEngine):
    capabilities: ClassVar[EngineCapabilities] = bundled_capabilities()
    Options: ClassVar[type[EngineOptions]] = PiperOptions

    def __init__(
        self,
        catalog: VoiceCatalog,
        *,
        default_voice: str | None = None,
        pool_size: int | None = None,
        warm_sessions: int = 0,
    ) -> None:
        """``pool_size``: cores to use, i.e. the thread budget, the wide session's threads and the
        most single-thread sessions per voice (default: the cores this process may use).
        ``warm_sessions``: single-thread sessions of the default voice to build now rather than on
        the first sentences that queue (see `auralis_piper.pool`)."""
        self.catalog = catalog
        self.pool_size = int(pool_size or available_cores())
        if self.pool_size < 1:
            raise InvalidRequestError("pool_size must be at least 1", "pool_size")
        self._warm = warm_sessions
        voice = catalog.resolve(default_voice)[0] if default_voice else catalog.first()
        self.default_voice = voice.name
        self._workers = Dispatcher(self.pool_size)
        self._active: dict[int, int] = {}  # request arrival -> its sentences in phase 2 now
        self._synths: dict[str, PiperSynthesizer] = {}
        self._load_lock = threading.Lock()
        try:
            self._synth(voice)  # the default voice loads now: a broken model fails here, not mid-request
        except BaseException:
            self._workers.shutdown()
            raise
        self._caps = build_capabilities(catalog, self.default_voice, preferred_concurrency=2 * self.pool_size)
        self._arrivals = itertools.count()

    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | Path | None = None,
        *,
        voices: Sequence[str] | str | None = None,
        include_bundled: bool = True,
        default_voice: str | None = None,
        pool_size: int | None = None,
        warm_sessions: int = 0,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
    ) -> PiperEngine:
        """Voices from ``model_name_or_path``: None (the bundled ``joe``), a ``.onnx`` file, a
        folder of voices, or a hub repo in the ``rhasspy/piper-voices`` layout (id or local copy)
        with ``voices=["en_US-lessac-medium", ...]``. The bundled voice is added unless
        ``include_bundled=False``; the first voice given is the default."""
        hub = {"revision": revision, "cache_dir": cache_dir, "local_files_only": local_files_only}
        catalog = catalog_from_sources(model_name_or_path, voices, include_bundled=include_bundled, **hub)
        return cls(
            catalog, default_voice=default_voice, pool_size=pool_size, warm_sessions=warm_sessions,
        )

    @classmethod
    def claims_path(cls, path: Path) -> bool:
        return looks_like_voice_path(Path(path))

    # --- facts ---------------------------------------------------------------------------------
    def get_capabilities(self) -> EngineCapabilities:
        return self._caps

    def list_voices(self) -> tuple[str, ...]:
        return self._caps.voices

    def has_voice(self, name: str) -> bool:
        return self.catalog.has(name)

    def default_options(self) -> PiperOptions:
        return PiperOptions()

    # --- phase 1 -------------------------------------------------------------------------------
    def _synth(self, voice: VoiceFiles) -> PiperSynthesizer:
        with self._load_lock:
            synth = self._synths.get(voice.name)
            if synth is None:
                warm = self._warm if voice.name == self.default_voice else 0
                synth = PiperSynthesizer(voice, self.pool_size, self.pool_size, warm)
                self._workers.attach(synth.pool)
                self._synths[voice.name] = synth
            return synth

    def _pick_voice(self, request: TTSRequest, options: PiperOptions) -> tuple[VoiceFiles, int | None]:
        language = request.language
        if request.voice is not None:
            voice, speaker_id = self.catalog.resolve(request.voice)
            if language != "auto" and language not in voice.config.languages and language.split("-")[0] != voice.config.family:
                others = [v.name for v in self.catalog if language in v.config.languages or language.split("-")[0] == v.config.family]
                raise InvalidRequestError(
                    f"voice {voice.name!r} speaks {voice.config.language}, not {language!r}"
                    + (f"; voices for {language!r}: {', '.join(others)}" if others else ""),
                    "language",
                )
        elif language != "auto":
            found = self.catalog.for_language(language)
            if found is None:
                raise UnsupportedLanguageError(language, self._caps.name, self._caps.languages)
            voice, speaker_id = found, None
        else:
            voice, speaker_id = self.catalog.resolve(self.default_voice)
        if options.speaker is not None:
            speaker_id = voice.config.speaker_id(options.speaker)
            if not voice.config.multi_speaker or speaker_id is None:
                names = voice.config.speaker_names()
                listing = f"its speakers: {', '.join(names[:40])}" if names else "it has a single speaker"
                raise InvalidRequestError(f"voice {voice.name!r} has no speaker {options.speaker!r}; {listing}", "speaker")
        return voice, speaker_id

    def _options(self, request: TTSRequest) -> PiperOptions:
        given: Any = request.options
        if isinstance(given, PiperOptions):  # validated by the core already
            return given
        return resolve_options(self, given)  # type: ignore[return-value]

    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        request.validate_for(self._caps)
        options = self._options(request)
        voice, speaker_id = self._pick_voice(request, options)
        synth = self._synths.get(voice.name) or await asyncio.to_thread(self._synth, voice)
        config = voice.config
        params = SynthesisParams(
            noise_scale=config.noise_scale if options.noise_scale is None else options.noise_scale,
            noise_w=config.noise_w if options.noise_w is None else options.noise_w,
            length_scale=config.length_scale if options.length_scale is None else options.length_scale,
            speed=request.speed,
            speaker_id=config.speaker_id(config.raw.get("default_speaker_id", 0)) if speaker_id is None and config.multi_speaker else speaker_id,
        )
        seed = request.seed if request.seed is not None else secrets.randbits(63)
        sentences = [s for text in request.texts() for s in split_sentences(text, config.language)]
        segments = [SegmentWorkItem(request.request_id, i, s, config.language) for i, s in enumerate(sentences)]
        plan = _Plan(synth, params, seed, next(self._arrivals))
        return GenerationContext(
            request, segments, conditioning=plan, sample_rate=synth.sample_rate,
            metadata={"voice": voice.name, "speaker_id": params.speaker_id, "seed": seed},
        )

    # --- phase 2 -------------------------------------------------------------------------------
    async def process_tokens_to_speech(self, item: SegmentWorkItem, context: GenerationContext) -> AsyncIterator[TTSOutput]:
        import onnxruntime

        plan: _Plan = context.conditioning
        run_options = onnxruntime.RunOptions()

        def job(session: Any) -> list[np.ndarray]:
            return [
                plan.synth.synthesize(ids, plan.params, np.random.default_rng([plan.seed, item.index, j]), session, run_options)
                for j, ids in enumerate(plan.synth.phoneme_ids(item.text))
            ]

        self._active[plan.arrival] = self._active.get(plan.arrival, 0) + 1
        if len(self._active) > 1 or len(context.segments) >= LONG_TEXT_SENTENCES:
            plan.synth.pool.wanted = True  # parallel single-thread sessions now pay for their build
        future = self._workers.submit((item.index, plan.arrival), plan.synth.pool, job, first=item.index == 0)
        try:
            sentences = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not future.cancel():
                run_options.terminate = True  # already running: stop onnxruntime mid-graph
            raise
        finally:
            left = self._active.pop(plan.arrival) - 1
            if left:
                self._active[plan.arrival] = left
        for samples in sentences:
            yield TTSOutput(samples, plan.synth.sample_rate, metadata={"text": item.text, "voice": plan.synth.voice.name, "seed": plan.seed})

    async def shutdown(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        """Let the running sentences finish, drop the queued ones, then free the sessions."""
        self._workers.shutdown()
        with self._load_lock:
            for synth in self._synths.values():
                synth.close()
            self._synths.clear()

