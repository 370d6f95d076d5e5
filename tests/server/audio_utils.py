"""Decoding helpers for the server tests (PyAV for compressed formats, soundfile otherwise)."""

from __future__ import annotations

import io

import numpy as np


def decode_any(data: bytes, fmt: str, pcm_rate: int = 24000) -> tuple[np.ndarray, int]:
    """Decode a response body of ``fmt`` to mono float32 samples and the sample rate."""
    if fmt == "pcm":
        assert len(data) % 2 == 0, "pcm must be whole 16-bit samples"
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, pcm_rate
    if fmt in ("wav", "flac"):
        import soundfile as sf

        try:
            samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
            return samples.mean(axis=1), int(sr)
        except Exception:
            pass  # streamed wav/flac headers may say "unknown length": fall through to FFmpeg
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        parts = [frame.to_ndarray().astype(np.float32).reshape(-1, frame.samples).mean(axis=0)
                 for frame in container.decode(stream)]
        rate = stream.codec_context.sample_rate or stream.rate
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    if np.abs(samples).max(initial=0) > 2.0:  # integer sample formats
        samples = samples / 32768.0
    return samples, int(rate)


def duration(data: bytes, fmt: str, pcm_rate: int = 24000) -> float:
    samples, sr = decode_any(data, fmt, pcm_rate)
    return len(samples) / sr


def median_f0(samples: np.ndarray, sr: int) -> float:
    """Median fundamental frequency (Hz) of the voiced 40 ms frames, by autocorrelation."""
    frame = int(0.04 * sr)
    lo, hi = int(sr / 400), int(sr / 60)
    loud = np.sqrt(np.mean(samples**2)) * 0.5
    f0s = []
    for start in range(0, len(samples) - frame, frame):
        x = samples[start:start + frame] - samples[start:start + frame].mean()
        if np.sqrt(np.mean(x**2)) < loud:
            continue
        ac = np.correlate(x, x, "full")[frame - 1:]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            f0s.append(sr / lag)
    return float(np.median(f0s))


def same_voice(a: bytes, b: bytes) -> bool:
    """Same length (within 3 %) and pitch (within 5 %): eSpeak's output varies by a few samples
    from call to call, so byte equality is no test of "same settings"."""
    (x, sr), (y, _) = decode_any(a, "wav"), decode_any(b, "wav")
    same_length = abs(len(x) - len(y)) <= 0.03 * max(len(x), len(y))
    return same_length and abs(median_f0(x, sr) / median_f0(y, sr) - 1) < 0.05
