"""Clean-up of reference audio before conditioning, driven by `AudioPreprocessingConfig`.

Order: speech-band EQ (``enhance_speech``) -> spectral noise reduction (``noise_reduction``) ->
silence trimming (``trim_silence``) -> loudness normalisation (``normalize``, ITU-R BS.1770 via
pyloudnorm). Removing rumble first gives the noise estimate a cleaner floor; trimming after
denoising finds the real speech edges; loudness comes last so the level is the one engines get.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import InvalidRequestError
from ..preprocessing import AudioPreprocessingConfig

log = logging.getLogger(__name__)

_TRIM_FRAME_S = 0.005  # trimming resolution
_TRIM_KEEP_S = 0.005  # kept before the first / after the last loud frame (soft onsets)
_TRIM_FLOOR_MARGIN_DB = 10.0  # speech must stand this far above the clip's noise floor...
_TRIM_FLOOR_CAP_DB = -20.0  # ...but the floor rule never cuts what is within 20 dB of the peak
_PEAK_CEILING = 10.0 ** (-1.0 / 20.0)  # -1 dBFS: normalisation never pushes peaks above this
_MAX_LIMITING_DB = 12.0


def normalize_loudness(samples: np.ndarray, sample_rate: int, target_lufs: float) -> np.ndarray:
    """Reach ``target_lufs`` integrated loudness (ITU-R BS.1770-4 meter from pyloudnorm).

    A plain gain when the peaks allow it. When the gain would push peaks above -1 dBFS, FFmpeg's
    ``alimiter`` (5 ms attack, 50 ms release, delay-compensated) holds them there and the gain is
    re-measured and corrected up to four times; if the target still cannot be met without more
    than 12 dB of limiting, the clip stays quieter (logged). Clips shorter than one 400 ms gating
    block cannot be measured and are peak-normalised to -6 dBFS instead.
    """
    import pyloudnorm

    samples = np.asarray(samples, dtype=np.float32)
    peak = float(np.max(np.abs(samples), initial=0.0))
    if peak == 0.0:
        return samples
    if len(samples) < int(0.4 * sample_rate):
        return (samples * (0.5 / peak)).astype(np.float32)
    meter = pyloudnorm.Meter(sample_rate)
    loudness = meter.integrated_loudness(samples.astype(np.float64))
    if not np.isfinite(loudness):  # everything below the -70 LUFS absolute gate
        return samples
    gain_db = target_lufs - loudness
    if peak * 10.0 ** (gain_db / 20.0) <= _PEAK_CEILING:
        return (samples * 10.0 ** (gain_db / 20.0)).astype(np.float32)
    return _normalize_with_limiter(samples, sample_rate, target_lufs, gain_db, meter)


def _normalize_with_limiter(samples: np.ndarray, sample_rate: int, target_lufs: float, gain_db: float, meter: object) -> np.ndarray:
    from .filters import run_filters

    peak_db = 20.0 * np.log10(float(np.max(np.abs(samples))))
    max_gain_db = -1.0 - peak_db + _MAX_LIMITING_DB  # peaks at most 12 dB into the limiter
    limiter = [("alimiter", f"limit={_PEAK_CEILING:.6f}:attack=5:release=50:level=0:latency=1")]
    out = samples
    for _ in range(4):
        gain_db = min(gain_db, max_gain_db)
        out = run_filters(samples * np.float32(10.0 ** (gain_db / 20.0)), sample_rate, limiter)[: len(samples)]
        out = np.clip(out, -_PEAK_CEILING, _PEAK_CEILING)  # the limiter may overshoot by a hair
        reached = meter.integrated_loudness(out.astype(np.float64))  # type: ignore[attr-defined]
        if abs(target_lufs - reached) <= 0.1 or gain_db >= max_gain_db:
            break
        gain_db += target_lufs - reached
    if abs(target_lufs - reached) > 0.5:
        log.info("loudness target %.1f LUFS needs more than %.0f dB of peak limiting; reached %.1f LUFS",
                 target_lufs, _MAX_LIMITING_DB, reached)
    return out.astype(np.float32)


def speech_bounds(samples: np.ndarray, sample_rate: int, threshold_db: float = -40.0) -> tuple[int, int]:
    """(start, end) sample indices of the audio louder than ``threshold_db`` relative to the
    loudest 5 ms frame and 10 dB above the noise floor (10th percentile frame; this second rule
    is capped at -20 dB below the peak), widened by 5 ms on each side; (0, 0) when nothing is
    that loud."""
    samples = np.asarray(samples, dtype=np.float32)
    frame = max(1, int(round(_TRIM_FRAME_S * sample_rate)))
    n = int(np.ceil(len(samples) / frame))
    if n == 0:
        return 0, 0
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: len(samples)] = samples
    rms = np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1))
    if rms.max() <= 0:
        return 0, 0
    # above the threshold relative to the peak, and clearly above the noise floor (the 10th
    # percentile frame) so that a noisy room does not count as speech; the floor rule never asks
    # for more than -20 dB below the peak (a steady tone or a clip with no pauses stays whole)
    peak = float(rms.max())
    floor = min(float(np.percentile(rms, 10)) * 10.0 ** (_TRIM_FLOOR_MARGIN_DB / 20.0),
                peak * 10.0 ** (_TRIM_FLOOR_CAP_DB / 20.0))
    loud = np.nonzero(rms > max(peak * 10.0 ** (threshold_db / 20.0), floor))[0]
    if len(loud) == 0:
        return 0, 0
    keep = int(round(_TRIM_KEEP_S * sample_rate))
    start = max(0, loud[0] * frame - keep)
    end = min(len(samples), (loud[-1] + 1) * frame + keep)
    return int(start), int(end)


def trim_silence(samples: np.ndarray, sample_rate: int, threshold_db: float = -40.0) -> np.ndarray:
    """Drop leading/trailing audio quieter than ``threshold_db`` relative to the loudest 5 ms
    (or less than 10 dB above the noise floor); see ``speech_bounds``."""
    start, end = speech_bounds(samples, sample_rate, threshold_db)
    return np.asarray(samples, dtype=np.float32)[start:end]


def preprocess_reference(samples: np.ndarray, sample_rate: int, config: AudioPreprocessingConfig) -> np.ndarray:
    """Apply ``config`` to one mono reference clip (see the module docstring for the order)."""
    samples = np.asarray(samples, dtype=np.float32)
    if not np.all(np.isfinite(samples)):
        raise InvalidRequestError("reference audio contains NaN or infinite samples", "speaker_files")
    if config.enhance_speech and config.enhance_amount > 0:
        from .speech_eq import enhance_speech_band

        samples = enhance_speech_band(samples, sample_rate, config.enhance_amount)
    if config.noise_reduction:
        from .denoise import reduce_noise

        samples = reduce_noise(samples, sample_rate)
    if config.trim_silence:
        samples = trim_silence(samples, sample_rate, config.trim_threshold_db)
    if config.normalize and len(samples):
        samples = normalize_loudness(samples, sample_rate, config.target_lufs)
    return samples
