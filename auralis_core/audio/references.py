"""Turning speaker references into clean mono audio at the engine's rate, cached by content."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AudioDecodeError, InvalidRequestError
from ..output import TTSOutput
from ..preprocessing import AudioPreprocessingConfig

_CACHE_SIZE = 64
_cache: OrderedDict[tuple[str, int, str, float], TTSOutput] = OrderedDict()
_lock = threading.Lock()


def _reference_to_output(ref: Any, array_sample_rate: int) -> tuple[TTSOutput, bytes]:
    """Decode one reference; also return the bytes that identify its content."""
    if isinstance(ref, TTSOutput):
        return ref, ref.samples.tobytes() + str(ref.sample_rate).encode()
    if isinstance(ref, np.ndarray):
        out = TTSOutput(ref, array_sample_rate)
        return out, out.samples.tobytes() + str(array_sample_rate).encode()
    if isinstance(ref, (bytes, bytearray)):
        return TTSOutput.from_bytes(bytes(ref)), bytes(ref)
    if isinstance(ref, (str, os.PathLike)):
        data = Path(ref).read_bytes()
        try:
            return TTSOutput.from_bytes(data), data
        except AudioDecodeError as exc:
            raise AudioDecodeError(f"speaker file {str(ref)!r} is not a readable audio file ({exc})", "speaker_files") from exc
    raise InvalidRequestError(f"unsupported speaker reference type {type(ref).__name__}", "speaker_files")


def load_references(
    refs: list[Any],
    sample_rate: int,
    config: AudioPreprocessingConfig,
    array_sample_rate: int = 22050,
    max_seconds: float | None = None,
) -> list[TTSOutput]:
    from .enhance import preprocess_reference

    outputs: list[TTSOutput] = []
    for ref in refs:
        raw, identity = _reference_to_output(ref, array_sample_rate)
        key = (hashlib.sha256(identity).hexdigest(), sample_rate, config.cache_key(), float(max_seconds or 0))
        with _lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
                outputs.append(cached)
                continue
        audio = raw.resample(sample_rate)
        if max_seconds:
            audio = TTSOutput(audio.samples[: int(max_seconds * sample_rate)], sample_rate)
        cleaned = TTSOutput(preprocess_reference(audio.samples, sample_rate, config), sample_rate)
        if len(cleaned.samples) < sample_rate // 4 or float(np.max(np.abs(cleaned.samples), initial=0.0)) < 1e-4:
            raise AudioDecodeError(
                "speaker reference is silent or shorter than 0.25 s after trimming; give a clip with speech",
                "speaker_files",
            )
        with _lock:
            _cache[key] = cleaned
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        outputs.append(cleaned)
    return outputs
