"""Spectral noise reduction for reference audio (STFT Wiener gain, noise profile from quiet frames).

1. STFT with a Hann window of ~32 ms (a power of two) and 75 % overlap (scipy).
2. Noise profile: the mean power spectrum of the quietest 10 % of frames (at least 4), skipping
   digital silence. Reference clips have pauses between words; those frames are noise only.
3. Per time-frequency bin, the a-priori SNR by Ephraim and Malah's decision-directed rule
   (smoothing 0.98, which keeps "musical noise" down) and the Wiener gain xi / (1 + xi),
   floored at ``-max_attenuation_db`` so that nothing is gated to silence.
4. Inverse STFT; the output is aligned sample for sample with the input.

Stationary noise (hiss, fans, white noise) is reduced most; speech-like babble much less, as
with any single-channel method (measured numbers: docs/audio.md).
"""

from __future__ import annotations

import numpy as np

_SMOOTHING = 0.98  # decision-directed a-priori SNR smoothing
_NOISE_QUANTILE = 0.10
_MIN_NOISE_FRAMES = 4
_DIGITAL_SILENCE = 1e-10  # frame power relative to the loudest frame: ignore exact zeros/padding


def _frame_length(sample_rate: int) -> int:
    return 1 << int(np.ceil(np.log2(0.032 * sample_rate)))


def reduce_noise(samples: np.ndarray, sample_rate: int, max_attenuation_db: float = 20.0) -> np.ndarray:
    """Mono float32 ``samples`` with stationary background noise attenuated (length unchanged)."""
    from scipy import signal

    x = np.asarray(samples, dtype=np.float32)
    nperseg = _frame_length(sample_rate)
    if len(x) < 2 * nperseg:  # too short to tell noise from speech
        return x
    noverlap = nperseg * 3 // 4
    _, _, spec = signal.stft(x, sample_rate, window="hann", nperseg=nperseg, noverlap=noverlap)
    power = spec.real**2 + spec.imag**2
    noise = _noise_profile(power)
    if noise is None:
        return x
    gains = _wiener_gains(power / noise[:, None], 10.0 ** (-abs(max_attenuation_db) / 20.0))
    _, y = signal.istft(spec * gains, sample_rate, window="hann", nperseg=nperseg, noverlap=noverlap)
    out = np.zeros(len(x), dtype=np.float32)
    out[: min(len(x), len(y))] = y[: len(x)]
    return out


def _noise_profile(power: np.ndarray) -> np.ndarray | None:
    """Mean spectrum of the quietest frames that are not digital silence; None if there are none."""
    energy = power.sum(axis=0)
    if energy.max(initial=0.0) <= 0:
        return None
    candidates = np.nonzero(energy > energy.max() * _DIGITAL_SILENCE)[0]
    if len(candidates) == 0:
        return None
    count = min(len(candidates), max(_MIN_NOISE_FRAMES, int(_NOISE_QUANTILE * power.shape[1])))
    quietest = candidates[np.argsort(energy[candidates])[:count]]
    return power[:, quietest].mean(axis=1) + 1e-20


def _wiener_gains(posterior_snr: np.ndarray, floor: float) -> np.ndarray:
    gains = np.empty_like(posterior_snr)
    prev_gain = np.zeros(posterior_snr.shape[0])  # first frame: the maximum-likelihood estimate alone
    prev_snr = np.zeros(posterior_snr.shape[0])
    for t in range(posterior_snr.shape[1]):
        gamma = posterior_snr[:, t]
        prior = _SMOOTHING * prev_gain**2 * prev_snr + (1.0 - _SMOOTHING) * np.maximum(gamma - 1.0, 0.0)
        gain = np.maximum(prior / (1.0 + prior), floor)
        gains[:, t] = gain
        prev_gain, prev_snr = gain, gamma
    return gains
