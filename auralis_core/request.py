"""`TTSRequest`: everything one synthesis call asks for, validated on construction."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import InitVar, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .errors import InvalidRequestError, UnsupportedLanguageError
from .options import (
    SEED_OPTION_NAMES,
    EngineOptions,
    options_as_dict,
    resolve_options,
    validate_options,
)
from .preprocessing import AudioPreprocessingConfig
from .text_stream import _aiter

if TYPE_CHECKING:
    from .engine.base import BaseAsyncTTSEngine, EngineCapabilities
    from .output import TTSOutput
    from .voices import VoiceProfile

SpeakerReference = Union[str, os.PathLike, bytes, np.ndarray, "TTSOutput"]
"""A reference clip: a file path, encoded audio bytes, a float array (at ``reference_sample_rate``)
or a `TTSOutput`."""

TextInput = Union[str, list[str], Iterable[str], AsyncIterable[str]]

MAX_SEED = 2**63 - 1
"""Seeds are 63-bit so that every framework's generator takes them (and seed + segment index)."""


def _check_range(name: str, value: Any, lo: float, hi: float, lo_open: bool = False) -> None:
    """``value`` must be a real number (not a bool, a string or NaN) inside the interval."""
    interval = f"{'(' if lo_open else '['}{lo}, {hi}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidRequestError(f"{name} must be a number in {interval}, got {value!r}", name)
    bad = value <= lo if lo_open else value < lo
    if bad or value > hi or value != value:  # NaN compares false to everything
        raise InvalidRequestError(f"{name} must be in {interval}, got {value}", name)


def check_text(text: str, param: str = "text") -> None:
    """Text every engine can take: valid Unicode (no lone surrogate, which no encoder accepts) and
    no NUL (C libraries stop reading at it, silently dropping the rest)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            f"{param} contains a lone surrogate (U+{ord(text[exc.start]):04X}) at position {exc.start}; "
            "text must be valid Unicode",
            param,
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise InvalidRequestError(f"{param} contains a NUL character at position {nul}", param)


async def checked_text_stream(source: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    """The pieces of a streamed text, each checked as it arrives (see `check_text`)."""
    async for piece in _aiter(source):
        if not isinstance(piece, str):
            raise InvalidRequestError(f"text stream yielded {type(piece).__name__}, expected str", "text")
        check_text(piece)
        yield piece


@dataclass
class TTSRequest:
    """One synthesis request.

    ``text`` may be a string, a list of strings (each spoken in turn), or a (async) iterator of
    string pieces for streaming text in (e.g. tokens from an LLM); the scheduler cuts the stream
    into sentences as they complete.
    """

    text: TextInput
    speaker_files: list[SpeakerReference] | SpeakerReference | None = None
    voice: str | None = None
    language: str = "auto"
    stream: bool = False
    speed: float = 1.0
    seed: int | None = None
    reference_sample_rate: int = 22050
    audio_config: AudioPreprocessingConfig = field(default_factory=AudioPreprocessingConfig)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    options: dict[str, Any] | EngineOptions = field(default_factory=dict)
    """The engine's typed options (see `auralis_core.options`): validated once against the
    selected engine before phase 1; engines then read it as their ``Options`` instance."""
    # The original Auralis's sampling/conditioning keywords: routed into ``options`` (which wins
    # where both name a value) for the engines that declare them; the others reject them.
    temperature: InitVar[float | None] = None
    top_p: InitVar[float | None] = None
    top_k: InitVar[int | None] = None
    repetition_penalty: InitVar[float | None] = None
    length_penalty: InitVar[float | None] = None
    do_sample: InitVar[bool | None] = None
    max_ref_length: InitVar[float | None] = None
    gpt_cond_len: InitVar[float | None] = None
    gpt_cond_chunk_len: InitVar[float | None] = None
    voice_profile: VoiceProfile | None = field(default=None, repr=False)
    """Set by the facade when ``voice`` names a registered (cloned) voice."""

    def __post_init__(self, *seed_options: Any) -> None:
        self._merge_seed_options(dict(zip(SEED_OPTION_NAMES, seed_options)))
        self._validate_text()
        self._normalise_speakers()
        if not isinstance(self.language, str) or not self.language.strip():
            raise InvalidRequestError("language must be a non-empty language code or 'auto'", "language")
        self.language = self.language.strip().lower()
        if self.voice is not None and (not isinstance(self.voice, str) or not self.voice.strip()):
            raise InvalidRequestError("voice must be a non-empty name", "voice")
        if isinstance(self.stream, np.bool_):
            self.stream = bool(self.stream)
        if not isinstance(self.stream, bool):
            raise InvalidRequestError(f"stream must be True or False, got {self.stream!r}", "stream")
        _check_range("speed", self.speed, 0.25, 4.0)
        self.speed = float(self.speed)
        if self.seed is not None:
            if isinstance(self.seed, (bool, np.bool_)) or not isinstance(self.seed, (int, np.integer)):
                raise InvalidRequestError(f"seed must be an integer, got {self.seed!r}", "seed")
            if not 0 <= self.seed <= MAX_SEED:
                raise InvalidRequestError(f"seed must be in [0, 2**63 - 1], got {self.seed}", "seed")
            self.seed = int(self.seed)
        if not isinstance(self.audio_config, AudioPreprocessingConfig):
            raise InvalidRequestError("audio_config must be an AudioPreprocessingConfig", "audio_config")
        if not isinstance(self.request_id, str) or not self.request_id:
            raise InvalidRequestError("request_id must be a non-empty string", "request_id")

    # --- validation helpers ------------------------------------------------------------------
    def _merge_seed_options(self, seed: dict[str, Any]) -> None:
        """Seed keywords go under ``options``; what ``options`` names itself wins."""
        given = {name: value for name, value in seed.items() if value is not None}
        if isinstance(self.options, EngineOptions):
            if given:  # the instance's class decides whether it has them
                merged = {**given, **self.options.model_dump(exclude_unset=True)}
                self.options = validate_options("(request)", type(self.options).model_construct(), merged)
            return
        self.options = {**given, **options_as_dict(self.options)}

    def _validate_text(self) -> None:
        text = self.text
        if isinstance(text, str):
            if not text.strip():
                raise InvalidRequestError("text is empty", "text")
            check_text(text)
        elif isinstance(text, (list, tuple)):
            if not text or not all(isinstance(t, str) for t in text):
                raise InvalidRequestError("text list must be a non-empty list of strings", "text")
            if not any(t.strip() for t in text):
                raise InvalidRequestError("text is empty", "text")
            for i, piece in enumerate(text):
                try:
                    check_text(piece, f"text[{i}]")
                except InvalidRequestError as exc:
                    raise InvalidRequestError(str(exc), "text") from None
            self.text = list(text)
        elif isinstance(text, (bytes, bytearray)) or not (
            isinstance(text, Iterable) or isinstance(text, AsyncIterable)
        ):
            raise InvalidRequestError(
                f"text must be a string, a list of strings or an (async) iterator of strings, got {type(text).__name__}",
                "text",
            )

    def _normalise_speakers(self) -> None:
        from .output import TTSOutput

        refs = self.speaker_files
        if refs is None:
            self.speaker_files = []
            return
        if isinstance(refs, (str, os.PathLike, bytes, bytearray, np.ndarray, TTSOutput)):
            refs = [refs]
        refs = list(refs)
        for ref in refs:
            if isinstance(ref, (str, os.PathLike)):
                path = Path(ref)
                if not path.is_file():
                    raise InvalidRequestError(f"speaker file not found: {str(path)!r}", "speaker_files")
                _sniff_audio_file(path)
            elif isinstance(ref, (bytes, bytearray)):
                if len(ref) == 0:
                    raise InvalidRequestError("speaker audio bytes are empty", "speaker_files")
            elif isinstance(ref, np.ndarray):
                if ref.size == 0 or ref.dtype.kind not in "fi":
                    raise InvalidRequestError("speaker array must be a non-empty numeric array", "speaker_files")
                if ref.dtype.kind == "f" and not np.all(np.isfinite(ref)):
                    raise InvalidRequestError("speaker array contains NaN or infinite values", "speaker_files")
            elif not isinstance(ref, TTSOutput):
                raise InvalidRequestError(
                    f"speaker reference must be a path, bytes, numpy array or TTSOutput, got {type(ref).__name__}",
                    "speaker_files",
                )
        self.speaker_files = refs

    def validate_for(self, engine: BaseAsyncTTSEngine | EngineCapabilities) -> None:
        """Checks that depend on the engine: language and voice cloning. Pass the engine itself
        where its capabilities depend on the loaded model (its ``get_capabilities()`` is used)."""
        from .engine.base import EngineCapabilities
        from .errors import CapabilityError

        capabilities = engine if isinstance(engine, EngineCapabilities) else engine.get_capabilities()
        if self.language != "auto" and not capabilities.supports_language(self.language):
            raise UnsupportedLanguageError(self.language, capabilities.name, capabilities.languages)
        if self.language == "auto" and not capabilities.auto_language and not capabilities.languages:
            raise UnsupportedLanguageError("auto", capabilities.name, capabilities.languages)
        if self.speaker_files and not capabilities.voice_cloning:
            raise CapabilityError(
                f"engine {capabilities.name!r} does not clone voices from reference audio; "
                "pick one of its built-in voices instead"
            )

    def resolved_for(self, engine: BaseAsyncTTSEngine) -> TTSRequest:
        """This request checked against ``engine`` (`validate_for`), with ``options`` validated
        into the engine's ``Options`` instance. Idempotent: a resolved request comes back as is."""
        self.validate_for(engine)
        options = self.options
        if isinstance(options, EngineOptions) and options.model_fields_set >= set(type(options).model_fields):
            if type(options) is type(engine.default_options()):
                return self
        return self.copy(options=resolve_options(engine, options))

    # --- conveniences ------------------------------------------------------------------------
    @property
    def is_text_stream(self) -> bool:
        return not isinstance(self.text, (str, list))

    def text_stream(self) -> AsyncIterator[str]:
        """The pieces of a streamed text, each validated as it arrives (a bad piece raises
        `InvalidRequestError` from the iterator)."""
        if not self.is_text_stream:
            raise InvalidRequestError("text_stream() is only for streaming text input", "text")
        return checked_text_stream(self.text)  # type: ignore[arg-type]

    def texts(self) -> list[str]:
        """The text pieces of a non-streaming request."""
        if isinstance(self.text, str):
            return [self.text]
        if isinstance(self.text, list):
            return [t for t in self.text if t.strip()]
        raise InvalidRequestError("texts() is not available for streaming text input", "text")

    def copy(self, **changes: Any) -> TTSRequest:
        if "request_id" not in changes:
            changes["request_id"] = self.request_id
        return replace(self, **changes)

    async def load_speaker_audio(self, sample_rate: int | None = None, max_seconds: float | None = None
                                 ) -> list[TTSOutput]:
        """Decode, resample and clean the speaker references (cached by content and config), each
        cut to ``max_seconds`` (None keeps all).

        Engines call this in phase 1; the work runs in a thread so the event loop stays free.
        """
        import asyncio

        from .audio.references import load_references

        sr = sample_rate or self.reference_sample_rate
        return await asyncio.to_thread(
            load_references, list(self.speaker_files), sr, self.audio_config, self.reference_sample_rate,
            max_seconds,
        )


def _sniff_audio_file(path: Path) -> None:
    """Fail early on files that are clearly not audio (reads headers only, not the whole file)."""
    import soundfile as sf

    try:
        sf.info(str(path))
        return
    except Exception:
        pass
    try:  # compressed formats (mp3, ogg/opus, m4a, webm) through FFmpeg
        import av

        with av.open(str(path)) as container:
            if container.streams.audio:
                return
    except Exception:
        pass
    raise InvalidRequestError(f"speaker file {str(path)!r} is not a readable audio file", "speaker_files")
