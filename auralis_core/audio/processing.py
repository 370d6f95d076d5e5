"""Sample-level processing: resampling, concatenation, time-stretching."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidRequestError


def resample(samples: np.ndarray, source_sr: int, target_sr: int) -> np.ndarray:
    import soxr

    if not 1000 <= int(target_sr) <= 384_000:
        raise InvalidRequestError(f"target sample rate must be in [1000, 384000] Hz, got {target_sr}")
    if source_sr == target_sr or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    return soxr.resample(np.asarray(samples, dtype=np.float32), source_sr, target_sr, quality="HQ").astype(np.float32)


def concatenate(parts: Sequence[np.ndarray], sample_rate: int, silence_s: float = 0.0, crossfade_s: float = 0.0) -> np.ndarray:
    if silence_s < 0 or crossfade_s < 0:
        raise InvalidRequestError("silence_s and crossfade_s must be >= 0")
    if silence_s and crossfade_s:
        raise InvalidRequestError("use either silence_s or crossfade_s, not both")
    gap = np.zeros(int(round(silence_s * sample_rate)), dtype=np.float32)
    out = np.asarray(parts[0], dtype=np.float32)
    for part in parts[1:]:
        part = np.asarray(part, dtype=np.float32)
        fade = min(int(round(crossfade_s * sample_rate)), len(out), len(part))
        if fade:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            mixed = out[-fade:] * (1.0 - ramp) + part[:fade] * ramp
            out = np.concatenate([out[:-fade], mixed, part[fade:]])
        else:
            out = np.concatenate([out, gap, part])
    return out


def change_speed(samples: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Pitch-preserving time-stretch (WSOLA). ``factor`` > 1 speeds up."""
    if not 0.25 <= factor <= 4.0:
        raise InvalidRequestError(f"speed must be between 0.25 and 4.0, got {factor}", "speed")
    if factor == 1.0 or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    return _wsola(np.asarray(samples, dtype=np.float32), sample_rate, factor)


def _wsola(x: np.ndarray, sr: int, factor: float) -> np.ndarray:
    frame = int(0.03 * sr)  # 30 ms analysis frames, 50 % overlap
    hop_out = frame // 2
    hop_in = hop_out * factor
    tolerance = int(0.01 * sr)
    window = np.hanning(frame).astype(np.float32)
    padded = np.concatenate([np.zeros(frame, np.float32), x, np.zeros(frame + tolerance * 2, np.float32)])
    n_out = int(len(x) / factor)
    out = np.zeros(n_out + 2 * frame, dtype=np.float32)
    norm = np.zeros_like(out)
    prev_tail = padded[frame : frame + frame]
    k = 0
    while True:
        pos_out = k * hop_out
        if pos_out >= n_out + frame:
            break
        center = int(k * hop_in) + frame
        lo, hi = max(center - tolerance, 0), center + tolerance
        if hi + frame > len(padded):
            break
        if k == 0:
            best = center
        else:  # pick the offset whose frame best continues the previous output
            region = padded[lo : hi + frame]
            corr = np.correlate(region, prev_tail, mode="valid")
            best = lo + int(np.argmax(corr))
        seg = padded[best : best + frame]
        out[pos_out : pos_out + frame] += seg * window
        norm[pos_out : pos_out + frame] += window
        prev_tail = padded[best + hop_out : best + hop_out + frame]
        k += 1
    norm[norm < 1e-3] = 1.0
    y = out / norm
    return y[frame // 2 : frame // 2 + n_out].astype(np.float32) if len(y) > n_out else y.astype(np.float32)
