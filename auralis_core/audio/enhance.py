"""Clean-up of reference audio: loudness normalisation, silence trimming, noise reduction."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidRequestError
from ..preprocessing import AudioPreprocessingConfig


def normalize_loudness(samples: np.ndarray, sample_rate: int, target_lufs: float) -> np.ndarray:
    """Gain to reach ``target_lufs`` (ITU-R BS.1770 via pyloudnorm), limited to avoid clipping."""
    import pyloudnorm

    if len(samples) < int(0.4 * sample_rate):  # the meter needs at least one 400 ms block
        peak = float(np.max(np.abs(samples), initial=0.0))
        return samples if peak == 0 else (samples * (0.5 / peak)).astype(np.float32)
    loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(samples.astype(np.float64))
    if not np.isfinite(loudness):
        return samples
    gain = 10.0 ** ((target_lufs - loudness) / 20.0)
    out = samples * gain
    peak = float(np.max(np.abs(out), initial=0.0))
    if peak > 0.999:
        out = out * (0.999 / peak)
    return out.astype(np.float32)


def trim_silence(samples: np.ndarray, sample_rate: int, threshold_db: float = -40.0) -> np.ndarray:
    """Drop leading/trailing audio quieter than ``threshold_db`` relative to the clip's peak."""
    if len(samples) == 0:
        return samples
    frame = max(1, int(0.01 * sample_rate))
    n = len(samples) // frame
    if n == 0:
        return samples
    frames = samples[: n * frame].reshape(n, frame)
    rms_db = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-12)
    loud = np.nonzero(rms_db > rms_db.max() + threshold_db)[0]
    if len(loud) == 0:
        return samples[:0]
    start = loud[0] * frame
    end = min(len(samples), (loud[-1] + 1) * frame)
    return samples[start:end]


def preprocess_reference(samples: np.ndarray, sample_rate: int, config: AudioPreprocessingConfig) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if not np.all(np.isfinite(samples)):
        raise InvalidRequestError("reference audio contains NaN or infinite samples", "speaker_files")
    if config.trim_silence:
        samples = trim_silence(samples, sample_rate, config.trim_threshold_db)
    if config.normalize and len(samples):
        samples = normalize_loudness(samples, sample_rate, config.target_lufs)
    return samples
