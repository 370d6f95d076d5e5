"""One loaded Piper voice: text -> phoneme ids (piper-tts) -> audio (our onnxruntime sessions).

Phonemization is piper-tts's own (``PiperVoice.phonemize`` and ``phonemes_to_ids``: espeak-ng
through its bundled bridge, behind piper's lock, plus its Chinese/Japanese/... phonemizers), so
the ids are exactly what ``piper`` feeds the model. Inference is ours: the rewritten graph (see
`graph`) in a `SessionPool`, for seeded noise and exact speed.

Speed: ``length_scale`` divided by the speed does most of it, but each phoneme's frame count is
rounded up (``ceil``), so at speed 2 a sentence comes out ~10 % longer than half. The graph
reports the unrounded durations, which give the frame count the same noise would have produced
at speed 1; the remaining ratio is applied with a pitch-preserving time-stretch, so the duration
is the speed-1 duration divided by the speed, to the sample.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from auralis_core.errors import EngineLoadError, InvalidRequestError

from .graph import prepare_model
from .pool import SessionPool
from .voices import VoiceFiles

NOISE_PER_ID = 192 * 12
"""Noise samples drawn per phoneme id for each random op: the prior's 192 channels times 12 frames
per id (about 140 ms at 22 kHz; longer sentences reuse the noise, see `graph`)."""


@dataclass(frozen=True)
class SynthesisParams:
    """Everything that shapes one sentence's audio besides its text."""

    noise_scale: float
    noise_w: float
    length_scale: float
    speed: float = 1.0
    speaker_id: int | None = None
    seed: int | None = None


class PiperSynthesizer:
    def __init__(self, voice: VoiceFiles, cores: int, max_narrow: int, warm_narrow: int = 0) -> None:
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        self.voice = voice
        self.config = voice.config
        prepared = prepare_model(voice.model)
        self.noise_inputs = prepared.noise_inputs
        self.has_durations = prepared.has_durations
        self.has_sid = prepared.has_sid
        try:
            piper_config = PiperConfig.from_dict(voice.config.raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineLoadError(f"piper-tts cannot read {voice.config.path}: {exc}") from exc
        # piper-tts's phonemizer only; the session is ours (the pool below)
        self._phonemizer = PiperVoice(session=None, config=piper_config)  # type: ignore[arg-type]
        self._phonemize_lock = threading.Lock()  # lazily built non-espeak phonemizers are not thread-safe
        try:
            self.phoneme_ids("a")  # a config naming a voice espeak-ng lacks fails here, not mid-request
        except Exception as exc:
            raise EngineLoadError(
                f"voice {voice.name!r}: piper-tts cannot phonemize with its config ({voice.config.path}): {exc}"
            ) from exc
        try:
            self.pool = SessionPool(prepared.model, cores, max_narrow, warm_narrow)
        except Exception as exc:  # onnxruntime rejects a graph that parsed but does not hold together
            raise EngineLoadError(f"onnxruntime cannot load {voice.model}: {str(exc).strip()[:300]}") from exc

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    def phoneme_ids(self, text: str) -> list[list[int]]:
        """Phoneme ids per sentence (piper-tts splits the text where espeak-ng ends a sentence)."""
        with self._phonemize_lock:
            sentences = self._phonemizer.phonemize(text)
            return [self._phonemizer.phonemes_to_ids(p) for p in sentences if p]

    def synthesize(
        self, ids: list[int], params: SynthesisParams, rng: np.random.Generator, session: Any, run_options: Any = None
    ) -> np.ndarray:
        """One sentence of phoneme ids -> float32 samples in [-1, 1], peak-normalised like piper,
        on ``session`` (one of `pool`'s)."""
        feeds: dict[str, np.ndarray] = {
            "input": np.asarray([ids], dtype=np.int64),
            "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            "scales": np.asarray([params.noise_scale, params.length_scale / params.speed, params.noise_w], dtype=np.float32),
        }
        if self.has_sid:
            feeds["sid"] = np.asarray([params.speaker_id or 0], dtype=np.int64)
        for name in self.noise_inputs:
            feeds[name] = rng.standard_normal(NOISE_PER_ID * len(ids), dtype=np.float32)
        try:
            outputs = session.run(None, feeds, run_options)
        except Exception as exc:
            if run_options is not None and getattr(run_options, "terminate", False):
                raise _Cancelled() from None
            raise InvalidRequestError(f"voice {self.voice.name!r} could not synthesise this text: {exc}") from exc
        audio = np.asarray(outputs[0], dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(audio), initial=0.0))
        audio = audio / peak if peak > 1e-8 else np.zeros_like(audio)
        if self.has_durations and params.speed != 1.0:
            audio = self._top_up(audio, np.asarray(outputs[-1]), params.speed)  # auralis_durations: last
        return np.clip(audio, -1.0, 1.0)

    def _top_up(self, audio: np.ndarray, durations: np.ndarray, speed: float) -> np.ndarray:
        """Stretch ``audio`` so its length is the speed-1 length divided by ``speed``."""
        from auralis_core.audio.tempo import change_speed

        frames = float(np.sum(np.ceil(durations)))
        unit_frames = float(np.sum(np.ceil(durations * speed)))  # what length_scale / 1 would give
        if frames <= 0 or unit_frames <= 0:
            return audio
        target = round(unit_frames / speed * self.config.hop_length)
        if target <= 0 or abs(len(audio) - target) <= 1:
            return audio
        return change_speed(audio, self.sample_rate, len(audio) / target)

    def close(self) -> None:
        self.pool.close()


class _Cancelled(Exception):
    """A run stopped through ``RunOptions.terminate`` because its request went away."""

