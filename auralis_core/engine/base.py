"""Engine contract: the two-phase interface and the dataclasses that cross it.

Phase 1 (`get_generation_context`) runs once per request: it resolves the voice, prepares
conditioning and splits the text into segments. Phase 2 (`process_tokens_to_speech`) turns one
segment into audio chunks. The scheduler runs phase 2 for many segments (of many requests) at
once, so an engine that batches internally sees concurrent calls and can share GPU steps.

The contract is framework-neutral: nothing here imports torch. A torch engine may also subclass
``torch.nn.Module`` (``class MyEngine(BaseAsyncTTSEngine, nn.Module)``).
"""

from __future__ import annotations

import pathlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..options import EngineOptions

if TYPE_CHECKING:
    from ..output import TTSOutput
    from ..request import TTSRequest
    from ..voices import VoiceProfile


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do; cheap to build, shown by ``auralis engines`` before any import."""

    name: str
    languages: tuple[str, ...]
    sample_rate: int
    voice_cloning: bool = False
    streaming: bool = False
    voices: tuple[str, ...] = ()
    default_voice: str | None = None
    auto_language: bool = True
    """``language="auto"`` is accepted (the engine detects or has a default)."""
    native_speed: bool = False
    """The engine applies ``speed`` itself; otherwise the core time-stretches the audio."""
    model_types: tuple[str, ...] = ()
    """``model_type`` values in a checkpoint's ``config.json`` that this engine loads."""
    model_ids: tuple[str, ...] = ()
    """Hub ids that name this engine's models (``TTS.from_pretrained("AstraMindAI/xttsv2")``
    routes them here without ``engine=``)."""
    description: str = ""
    voice_aliases: Mapping[str, str] = field(default_factory=dict)
    """OpenAI voice name (``alloy``, ``nova``, ...) -> this engine's voice. Names not listed mean
    the default voice; the server's ``voice_aliases`` setting overrides these."""
    voice_languages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Voice -> the languages it speaks (lets a client pick a voice by language)."""
    preferred_concurrency: int | None = None
    """Segments the engine runs best at once (e.g. 1 for a single-threaded C library, the batch
    size for a batching GPU engine); the scheduler's default concurrency. None: no preference."""
    deterministic: bool = False
    """The same request with the same ``seed`` gives the same samples (the conformance suite
    checks this only for engines that declare it)."""

    def supports_language(self, language: str) -> bool:
        lang = language.lower()
        langs = {code.lower() for code in self.languages}
        return lang in langs or lang.split("-")[0] in langs

    def summary(self) -> str:
        flags = [
            flag
            for flag, on in (
                ("cloning", self.voice_cloning),
                ("streaming", self.streaming),
                ("voices", bool(self.voices)),
                ("speed", self.native_speed),
            )
            if on
        ]
        return ",".join(flags) or "-"


@dataclass(frozen=True)
class ConditioningConfig:
    """How an engine wants speaker references delivered in phase 1."""

    uses_speaker_reference: bool = False
    reference_sample_rate: int | None = None
    max_reference_files: int = 16
    max_reference_seconds: float = 60.0


@dataclass
class SegmentWorkItem:
    """One text segment of a request, ready for phase 2.

    ``payload`` is the engine's own prepared data (token ids, phonemes, ...); the core never
    looks inside it.
    """

    request_id: str
    index: int
    text: str
    language: str
    """The language of ``text``: one of the engine's ``capabilities.languages`` (never ``"auto"``
    once phase 1 has detected it). Voices and other engine data go in ``payload``."""
    payload: Any = None


@dataclass
class GenerationContext:
    """What phase 1 returns for a request: its segments plus shared conditioning."""

    request: TTSRequest
    segments: list[SegmentWorkItem]
    conditioning: Any = None
    """Engine-specific conditioning shared by all segments (e.g. GPT latents + speaker embedding)."""
    sample_rate: int = 24000
    """Sample rate (Hz) of every chunk phase 2 yields for this request; the core sets up output
    encoders and resampling from it before the first chunk arrives."""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        return self.request.request_id


class BaseAsyncTTSEngine(ABC):
    """Base class of every engine. Subclasses set `capabilities` and implement the two phases."""

    capabilities: ClassVar[EngineCapabilities]
    conditioning_config: ClassVar[ConditioningConfig] = ConditioningConfig()
    Options: ClassVar[type[EngineOptions]] = EngineOptions
    """The engine's typed generation options; ``request.options`` is an instance of it in phase 1
    and 2 (validated by the core against `default_options`)."""

    @classmethod
    def claims_path(cls, path: pathlib.Path) -> bool:
        """Whether this engine loads ``path``, a model layout without a ``config.json`` whose
        ``model_type`` would route it (e.g. a Piper ``voice.onnx``). Keep it cheap: file names
        and small headers only."""
        return False

    @classmethod
    @abstractmethod
    def from_pretrained(cls, model_name_or_path: str | None = None, **kwargs: Any) -> BaseAsyncTTSEngine:
        """Build a ready engine from a local path, a hub id, or (``None``) the engine's default."""

    @abstractmethod
    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        """Phase 1: resolve voice and language, prepare conditioning, split text into segments."""

    @abstractmethod
    def process_tokens_to_speech(
        self, item: SegmentWorkItem, context: GenerationContext
    ) -> AsyncIterator[TTSOutput]:
        """Phase 2: an async generator of audio chunks for one segment, in playback order."""

    # --- optional hooks ------------------------------------------------------------------------
    def default_options(self) -> EngineOptions:
        """The options a request gets for what it does not set. Override when the defaults
        depend on the loaded model (XTTS reads them from the checkpoint's config)."""
        return self.Options()

    def get_capabilities(self) -> EngineCapabilities:
        """The loaded instance's capabilities (a checkpoint may add voices or languages)."""
        return self.capabilities

    def list_voices(self) -> Sequence[str]:
        """Built-in voice names of the loaded model."""
        return self.get_capabilities().voices

    def has_voice(self, name: str) -> bool:
        """Whether ``name`` is a voice this engine speaks by itself (override for voice syntaxes
        that a list cannot hold, such as eSpeak's ``en-gb+f3``)."""
        return name in self.list_voices()

    async def create_voice(self, name: str, request: TTSRequest) -> VoiceProfile:
        """Compute conditioning for ``request.speaker_files`` once, so it can be reused by name."""
        from ..errors import CapabilityError

        raise CapabilityError(f"engine {self.get_capabilities().name!r} does not support voice cloning")

    async def shutdown(self) -> None:
        """Release models, threads and device memory. Called once; the engine is unusable after."""
