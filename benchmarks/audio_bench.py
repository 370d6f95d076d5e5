"""Audio micro-benchmark: encode 60 s of speech to every format, resample, decode, speed, clean-up;
plus the clean-up quality numbers quoted in docs/audio.md (SNR, and STOI when pystoi is installed).

The speech is eSpeak NG output (the embedded engine) at 22050 Hz, looped to 60 s. Each case runs
``--repeats`` times after a warm-up; the table shows the median wall time and the real-time
factor (audio seconds per wall second: 1000x means 60 s of audio in 60 ms).

Usage: python benchmarks/audio_bench.py [--seconds 60] [--repeats 5] [--out benchmarks/results/audio_bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "audio"))
from audio_metrics import SPEECH_TEXT, babble_noise, mix_at_snr, snr_db  # noqa: E402  (shared with the tests)

ENCODE_FORMATS = ("wav", "pcm", "flac", "mp3", "opus", "aac", "m4a", "webm")


def make_speech(seconds: float) -> tuple[Any, Any, np.ndarray]:
    """(60 s looped speech, the original ~8 s clip, six-talker babble as long as the clip)."""
    from auralis_core import TTS, TTSOutput

    tts = TTS.from_pretrained(engine="espeak")
    try:
        clip = tts.generate_speech(SPEECH_TEXT, voice="en-us")
        babble = babble_noise(tts, len(clip))
    finally:
        tts.shutdown()
    n = int(seconds * clip.sample_rate)
    return TTSOutput(np.resize(clip.samples, n), clip.sample_rate), clip, babble


def quality(clip: Any, babble: np.ndarray) -> dict[str, Any]:
    """Reference clean-up quality at 5 dB input SNR (the measurements tests/audio asserts)."""
    from scipy import signal

    from auralis_core import AudioPreprocessingConfig
    from auralis_core.audio.enhance import preprocess_reference

    clean, sr = clip.samples, clip.sample_rate
    denoise = AudioPreprocessingConfig(normalize=False, trim_silence=False, noise_reduction=True)
    enhance = AudioPreprocessingConfig(normalize=False, trim_silence=False, enhance_speech=True)
    try:
        from pystoi import stoi
    except ImportError:
        stoi = None
    out: dict[str, Any] = {}
    white = np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    for name, noise in (("white", white), ("babble", babble)):
        noisy = mix_at_snr(clean, noise, 5.0)
        cleaned = preprocess_reference(noisy, sr, denoise)
        row = {"snr_in_db": snr_db(clean, noisy), "snr_out_db": snr_db(clean, cleaned)}
        if stoi is not None:
            row.update(stoi_in=float(stoi(clean, noisy, sr)), stoi_out=float(stoi(clean, cleaned, sr)))
        out[f"noise_reduction {name}"] = row
    brown = np.cumsum(np.random.default_rng(1).standard_normal(len(clean)))
    brown = signal.sosfiltfilt(signal.butter(4, 50, fs=sr, output="sos"), brown - brown.mean())
    hum = np.sin(2 * np.pi * 50 * np.arange(len(clean)) / sr)
    noisy = mix_at_snr(clean, (brown / brown.std() + hum / hum.std()).astype(np.float32), 5.0)
    reference = preprocess_reference(clean, sr, enhance)
    out["speech_band rumble"] = {"snr_in_db": snr_db(clean, noisy),
                                 "snr_out_db": snr_db(reference, preprocess_reference(noisy, sr, enhance))}
    return out


def time_it(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    result = fn()  # warm-up (codec tables, filter graphs, imports)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cases(speech: Any) -> dict[str, tuple[str, Callable[[], Any]]]:
    from auralis_core import AudioPreprocessingConfig, TTSOutput
    from auralis_core.audio import StreamingEncoder
    from auralis_core.audio.enhance import preprocess_reference

    def streamed(fmt: str) -> Callable[[], bytes]:
        def run() -> bytes:
            encoder = StreamingEncoder(fmt, speech.sample_rate)
            step = speech.sample_rate // 5  # 200 ms chunks, like a streaming engine
            parts = [encoder.encode(speech.samples[i : i + step]) for i in range(0, len(speech), step)]
            return b"".join(parts) + encoder.finish()
        return run

    table: dict[str, tuple[str, Callable[[], Any]]] = {}
    for fmt in ENCODE_FORMATS:
        table[f"encode {fmt}"] = ("encode", lambda fmt=fmt: speech.to_bytes(fmt))
    for fmt in ("mp3", "opus", "aac"):
        table[f"stream-encode {fmt} (200 ms chunks)"] = ("encode", streamed(fmt))
    for rate in (24000, 48000, 16000):
        table[f"resample 22.05k -> {rate // 1000}k"] = ("resample", lambda rate=rate: speech.resample(rate))
    encoded = {fmt: speech.to_bytes(fmt) for fmt in ("wav", "flac", "mp3", "opus", "aac")}
    for fmt, data in encoded.items():
        table[f"decode {fmt}"] = ("decode", lambda data=data: TTSOutput.from_bytes(data))
    for factor in (0.5, 1.5, 2.0):
        table[f"change_speed x{factor}"] = ("speed", lambda factor=factor: speech.change_speed(factor))
    noisy = speech.samples + 0.05 * np.random.default_rng(0).standard_normal(len(speech)).astype(np.float32)
    full = AudioPreprocessingConfig(noise_reduction=True, enhance_speech=True)
    table["reference clean-up (all steps)"] = ("enhance", lambda: preprocess_reference(noisy, speech.sample_rate, full))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/audio_bench.json"))
    args = parser.parse_args()

    speech, clip, babble = make_speech(args.seconds)
    results = {}
    print(f"{args.seconds:.0f} s of eSpeak speech at {speech.sample_rate} Hz, median of {args.repeats}")
    print(f"{'case':<36} {'ms':>9} {'x real time':>12} {'output':>14}")
    for name, (kind, fn) in cases(speech).items():
        seconds, result = time_it(fn, args.repeats)
        if isinstance(result, bytes):
            size = f"{len(result) / 1024:.0f} KiB"
            extra = {"bytes": len(result), "kbit_per_s": round(8 * len(result) / speech.duration / 1000, 1)}
        else:
            size, extra = "", {}
        rtf = speech.duration / seconds
        results[name] = {"kind": kind, "median_s": seconds, "x_real_time": rtf, **extra}
        print(f"{name:<36} {seconds * 1000:>9.1f} {rtf:>12.0f} {size:>14}")
    cleanup = quality(clip, babble)
    print(f"\nreference clean-up at 5 dB input SNR ({clip.duration:.1f} s clip)")
    print(f"{'case':<28} {'SNR in':>7} {'SNR out':>8} {'STOI in':>8} {'STOI out':>9}")
    for name, row in cleanup.items():
        stoi_cols = f"{row['stoi_in']:>8.3f} {row['stoi_out']:>9.3f}" if "stoi_in" in row else f"{'-':>8} {'-':>9}"
        print(f"{name:<28} {row['snr_in_db']:>7.2f} {row['snr_out_db']:>8.2f} {stoi_cols}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    import av
    import soxr

    machine = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
               "pyav": av.__version__, "ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
               "soxr": soxr.__version__}
    payload = {"machine": machine, "audio_seconds": speech.duration, "sample_rate": speech.sample_rate,
               "repeats": args.repeats, "results": results, "cleanup_quality": cleanup}
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
