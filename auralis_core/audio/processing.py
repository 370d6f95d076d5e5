"""Sample-level processing: resampling (soxr, one-shot and streaming) and concatenation.

Time-stretching lives in ``tempo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from .checks import check_sample_rate

__all__ = ["StreamResampler", "concatenate", "resample"]


def resample(samples: np.ndarray, source_sr: int, target_sr: int, quality: str = "HQ") -> np.ndarray:
    """Band-limited resampling with libsoxr (``quality``: "QQ", "LQ", "MQ", "HQ" or "VHQ")."""
    import soxr

    source_sr = check_sample_rate(source_sr, "sample_rate")
    target_sr = check_sample_rate(target_sr, "target_sr")
    samples = np.asarray(samples, dtype=np.float32)
    if source_sr == target_sr or len(samples) == 0:
        return samples
    return soxr.resample(samples, source_sr, target_sr, quality=quality).astype(np.float32, copy=False)


class StreamResampler:
    """Chunk-by-chunk soxr resampling; the filter state carries across chunks, so joins do not click.

    ``resampler(chunk)`` returns what is ready; ``resampler(empty, last=True)`` flushes the tail.
    Equal rates pass samples through untouched.
    """

    def __init__(self, source_sr: int, target_sr: int, quality: str = "HQ") -> None:
        self._stream: Any = None
        if source_sr != target_sr:
            import soxr

            self._stream = soxr.ResampleStream(source_sr, target_sr, 1, dtype="float32", quality=quality)

    def __call__(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples, last=last)


def concatenate(parts: Sequence[np.ndarray], sample_rate: int, silence_s: float = 0.0, crossfade_s: float = 0.0) -> np.ndarray:
    """Join ``parts`` with ``silence_s`` of silence or a ``crossfade_s`` equal-gain crossfade between them."""
    if not parts:
        raise InvalidRequestError("nothing to concatenate")
    if not (np.isfinite(silence_s) and np.isfinite(crossfade_s)) or silence_s < 0 or crossfade_s < 0:
        raise InvalidRequestError("silence_s and crossfade_s must be finite and >= 0")
    if silence_s and crossfade_s:
        raise InvalidRequestError("use either silence_s or crossfade_s, not both")
    gap = np.zeros(round(silence_s * sample_rate), dtype=np.float32)
    fade_len = round(crossfade_s * sample_rate)
    # one copy at the end: joining part by part copies the whole output each time (quadratic; a
    # book of 445 segments spent 30 s here)
    pieces = [np.asarray(parts[0], dtype=np.float32)]
    total = len(pieces[0])
    for part in parts[1:]:
        part = np.asarray(part, dtype=np.float32)
        fade = min(fade_len, total, len(part))
        if fade:
            if len(pieces[-1]) < fade:  # the fade reaches back over several pieces (tiny parts)
                pieces = [np.concatenate(pieces)]
            prev = pieces[-1]
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            pieces[-1:] = [prev[:-fade], prev[-fade:] * (1.0 - ramp) + part[:fade] * ramp, part[fade:]]
            total += len(part) - fade
        else:
            pieces += [gap, part]
            total += len(gap) + len(part)
    return np.concatenate(pieces)
