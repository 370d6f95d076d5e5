"""A Piper voice's ``.onnx.json``: what Auralis needs from it, read without importing onnxruntime.

Piper configs name the language twice: ``language.code`` (``en_US``, from the voice's training
data) and ``espeak.voice`` (``en-us``, what the phonemizer speaks). Auralis codes are lowercase
BCP-47 (``en-us``), and the family (``en``) is offered too, so ``language="en"`` picks any English
voice and ``language="en-gb"`` a British one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auralis_core.errors import EngineLoadError

DEFAULT_NOISE_SCALE = 0.667
DEFAULT_NOISE_W = 0.8
DEFAULT_LENGTH_SCALE = 1.0
DEFAULT_HOP_LENGTH = 256


def normalize_language(code: str) -> str:
    """``en_US`` / ``en-us`` / ``EN`` -> ``en-us`` / ``en-us`` / ``en``."""
    return code.strip().replace("_", "-").lower()


@dataclass(frozen=True)
class VoiceConfig:
    """The parts of a Piper voice config that the engine and its capabilities use."""

    path: Path
    sample_rate: int
    language: str
    """Normalised main language code, e.g. ``en-us``."""
    family: str
    """Language family, e.g. ``en``."""
    espeak_voice: str
    num_speakers: int
    speaker_ids: dict[str, int] = field(default_factory=dict)
    noise_scale: float = DEFAULT_NOISE_SCALE
    noise_w: float = DEFAULT_NOISE_W
    length_scale: float = DEFAULT_LENGTH_SCALE
    hop_length: int = DEFAULT_HOP_LENGTH
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.language, self.family)))

    @property
    def multi_speaker(self) -> bool:
        return self.num_speakers > 1

    def speaker_names(self) -> tuple[str, ...]:
        """Speaker names in id order (voices without a map are numbered ``0``, ``1`` ...)."""
        if self.speaker_ids:
            return tuple(sorted(self.speaker_ids, key=lambda name: self.speaker_ids[name]))
        return tuple(str(i) for i in range(self.num_speakers)) if self.multi_speaker else ()

    def speaker_id(self, speaker: str | int) -> int | None:
        """The id of a speaker given by name or number; None if this voice has no such speaker."""
        if isinstance(speaker, str) and speaker in self.speaker_ids:
            return self.speaker_ids[speaker]
        try:
            number = int(speaker)
        except (TypeError, ValueError):
            return None
        return number if 0 <= number < self.num_speakers and not isinstance(speaker, bool) else None

    @classmethod
    def load(cls, path: Path) -> VoiceConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EngineLoadError(f"Piper voice config {path} is missing (a voice needs MODEL.onnx and MODEL.onnx.json)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EngineLoadError(f"cannot read Piper voice config {path}: {exc}") from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, path: Path) -> VoiceConfig:
        try:
            espeak_voice = str(data["espeak"]["voice"])
            language = data.get("language") or {}
            code = normalize_language(str(language.get("code") or espeak_voice))
            family = normalize_language(str(language.get("family") or code.split("-")[0]))
            inference = data.get("inference") or {}
            speaker_ids = {str(k): int(v) for k, v in (data.get("speaker_id_map") or {}).items()}
            config = cls(
                path=path,
                sample_rate=int(data["audio"]["sample_rate"]),
                language=code,
                family=family,
                espeak_voice=espeak_voice,
                num_speakers=int(data.get("num_speakers", 1)),
                speaker_ids=speaker_ids,
                noise_scale=float(inference.get("noise_scale", DEFAULT_NOISE_SCALE)),
                noise_w=float(inference.get("noise_w", DEFAULT_NOISE_W)),
                length_scale=float(inference.get("length_scale", DEFAULT_LENGTH_SCALE)),
                hop_length=int(data.get("hop_length", DEFAULT_HOP_LENGTH)),
                raw=data,
            )
            if not isinstance(data["phoneme_id_map"], dict):
                raise TypeError("phoneme_id_map is not an object")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EngineLoadError(f"{path} is not a Piper voice config: missing or malformed {exc}") from None
        if config.sample_rate <= 0 or config.num_speakers < 1:
            raise EngineLoadError(f"{path}: sample_rate and num_speakers must be positive")
        return config
