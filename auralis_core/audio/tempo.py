"""Pitch-preserving time-stretch with FFmpeg's ``atempo`` filter (WSOLA), run through PyAV.

``atempo`` takes factors in [0.5, 100] per instance; slower factors (down to 0.25) chain two
instances whose product is the factor. The output is cut or zero-padded at the end to exactly
``round(len(samples) / factor)`` samples, so durations scale exactly and streamed chunks add up.
Chunks shorter than 20 ms (less than one atempo window) are interpolated to that length instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidRequestError

MIN_FACTOR = 0.25
MAX_FACTOR = 4.0
_MIN_STRETCH_S = 0.02  # shorter chunks are simply resampled in time


def _atempo_stages(factor: float) -> list[float]:
    stages = []
    while factor < 0.5:  # each atempo instance goes down to 0.5
        stages.append(0.5)
        factor /= 0.5
    stages.append(factor)
    return stages


def change_speed(samples: Any, sample_rate: int, factor: float) -> np.ndarray:
    """Time-stretch mono float32 ``samples`` by ``factor`` (2.0 = twice as fast) keeping pitch."""
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.integer, np.floating)) or not np.isfinite(factor):
        raise InvalidRequestError(f"speed must be a number between {MIN_FACTOR} and {MAX_FACTOR}, got {factor!r}", "speed")
    factor = float(factor)
    if not MIN_FACTOR <= factor <= MAX_FACTOR:
        raise InvalidRequestError(f"speed must be between {MIN_FACTOR} and {MAX_FACTOR}, got {factor}", "speed")
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if factor == 1.0 or len(samples) == 0:
        return samples
    target = int(round(len(samples) / factor))
    if target == 0:
        return samples[:0]
    if len(samples) < _MIN_STRETCH_S * sample_rate:
        # shorter than one atempo window: nothing to overlap-add, and pitch is inaudible anyway
        positions = np.linspace(0.0, len(samples) - 1.0, target)
        return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    stretched = _run_atempo(samples, int(sample_rate), factor)
    if len(stretched) >= target:
        return stretched[:target]
    return np.concatenate([stretched, np.zeros(target - len(stretched), dtype=np.float32)])


def _run_atempo(samples: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    from .filters import run_filters

    return run_filters(samples, sample_rate, [("atempo", f"{stage:.9f}") for stage in _atempo_stages(factor)])
