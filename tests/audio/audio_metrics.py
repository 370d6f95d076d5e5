"""Measurement helpers for the audio tests and benchmarks/audio_bench.py: test speech, babble noise,
alignment, SNR, correlation, F0, noise mixing."""

from __future__ import annotations

from typing import Any

import numpy as np

SPEECH_TEXT = (
    "The quick brown fox jumps over the lazy dog. It was a bright and sunny morning in the city. "
    "Every evening, we walk along the river and talk about our day."
)
BABBLE = [  # (voice, text): other talkers summed into speech-like background noise
    ("en-gb", "Please call Stella and ask her to bring these things with her from the store."),
    ("en-us+f3", "Six spoons of fresh snow peas, five thick slabs of blue cheese, and a snack."),
    ("en-us+m3", "We also need a small plastic snake and a big toy frog for the kids."),
    ("en-gb+f2", "She can scoop these things into three red bags, and we will go meet her."),
    ("en-us+m7", "A large size in stockings is hard to sell."),
    ("en-us+f4", "The birch canoe slid on the smooth planks."),
]


def babble_noise(tts: Any, n: int) -> np.ndarray:
    """The ``BABBLE`` talkers (eSpeak via ``tts``), each at unit RMS, looped to ``n`` samples, summed."""
    total = np.zeros(n, dtype=np.float64)
    for voice, text in BABBLE:
        talker = np.resize(tts.generate_speech(text, voice=voice).samples.astype(np.float64), n)
        total += talker / np.sqrt(np.mean(talker**2))
    return total.astype(np.float32)


def align(reference: np.ndarray, test: np.ndarray, max_lag: int = 4096) -> tuple[int, np.ndarray, np.ndarray]:
    """(lag, reference part, test part) with ``test[lag:]`` lined up on ``reference``."""
    from scipy import signal

    corr = signal.correlate(test.astype(np.float64), reference.astype(np.float64), mode="full", method="fft")
    lags = np.arange(-len(reference) + 1, len(test))
    window = (lags >= -max_lag) & (lags <= max_lag)
    lag = int(lags[window][np.argmax(corr[window])])
    ref = reference[max(-lag, 0):]
    tst = test[max(lag, 0):]
    n = min(len(ref), len(tst))
    return lag, ref[:n], tst[:n]


def snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """10 log10(reference energy / energy of the difference); inf when identical."""
    ref = reference.astype(np.float64)
    err = np.sum((test.astype(np.float64) - ref) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(np.sum(ref**2) / err))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.astype(np.float64), b.astype(np.float64))[0, 1])


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    noise = noise[: len(clean)].astype(np.float64)
    gain = np.sqrt(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2) / 10 ** (snr / 10))
    return (clean + gain * noise).astype(np.float32)


def f0_track(x: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 400.0) -> np.ndarray:
    """Per-frame F0 (Hz) of voiced frames by the YIN method (de Cheveigné and Kawahara 2002).

    25 ms frames every 5 ms; frames quieter than 0.3x the clip's RMS are skipped; a frame is
    voiced when the cumulative-mean-normalised difference dips below 0.2.
    """
    x = x.astype(np.float64)
    frame, hop = int(0.025 * sr), int(0.005 * sr)
    lo, hi = int(sr / fmax), int(sr / fmin)
    starts = np.arange(0, len(x) - frame - hi, hop)
    if len(starts) == 0:
        return np.zeros(0)
    windows = np.lib.stride_tricks.sliding_window_view(x, frame + hi)[starts]  # (frames, frame + hi)
    head = windows[:, :frame]
    loud = np.sqrt(np.mean(head**2, axis=1)) >= 0.3 * np.sqrt(np.mean(x**2))
    windows, head = windows[loud], head[loud]
    # d(tau) = sum a^2 + sum b_tau^2 - 2 sum a b_tau, all taus at once
    sq = np.cumsum(np.pad(windows**2, ((0, 0), (1, 0))), axis=1)
    energy_b = sq[:, frame : frame + hi + 1] - sq[:, : hi + 1]
    size = 1 << int(np.ceil(np.log2(2 * (frame + hi))))
    cross = np.fft.irfft(np.fft.rfft(windows, size) * np.conj(np.fft.rfft(head, size)), size)[:, : hi + 1]
    diff = np.maximum(np.sum(head**2, axis=1)[:, None] + energy_b - 2 * cross, 0.0)
    taus = np.arange(1, hi + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus / np.maximum(np.cumsum(diff[:, 1:], axis=1), 1e-12)
    f0 = []
    for row in cmnd:
        below = np.nonzero(row[lo:hi] < 0.2)[0]
        if len(below) == 0:
            continue
        tau = below[0] + lo
        while tau + 1 < hi and row[tau + 1] < row[tau]:
            tau += 1
        f0.append(sr / tau)
    return np.array(f0)


def median_f0(x: np.ndarray, sr: int) -> float:
    track = f0_track(x, sr)
    assert len(track) > 20, f"too few voiced frames ({len(track)}) to estimate F0"
    return float(np.median(track))
