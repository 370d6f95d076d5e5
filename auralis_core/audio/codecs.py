"""One-shot encoding and decoding of audio bytes.

WAV and FLAC are written by soundfile (libsndfile), raw PCM by numpy, the compressed formats by
FFmpeg through PyAV (see ``streaming.StreamingEncoder``, which one-shot encoding reuses).
Decoding sniffs the data: RIFF/FLAC/AIFF go to soundfile first, everything else (and anything
soundfile refuses) to FFmpeg.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AudioDecodeError, InvalidRequestError
from .checks import check_channels, check_encoder_options, check_sample_rate, finite_mono
from .formats import FORMATS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, format_from_path, get_format

SUPPORTED_FORMATS = tuple(FORMATS)
_SOUNDFILE_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"fLaC", b"FORM")
_SUBTYPES = {8: "PCM_U8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}

__all__ = ["SUPPORTED_FORMATS", "decode", "decode_file", "encode", "format_from_path"]


def encode(samples: Any, sample_rate: int, format: str = "wav", *, bit_depth: int | None = None,
           bitrate: int | str | None = None, channels: int = 1, subtype: str | None = None) -> bytes:
    """Encode mono float samples at ``sample_rate`` to a complete file of ``format``.

    ``bit_depth``: wav 8/16/24/32, pcm 16/24/32, flac 16/24 (default 16). ``subtype``: a
    libsndfile subtype for wav/flac instead (e.g. ``"FLOAT"``). ``bitrate``: mp3/opus/aac/m4a/webm,
    bits per second or ``"64k"``. ``channels``: 1, or 2 for the mono signal on both sides.
    Samples are clipped to [-1, 1]; NaN or infinity is an InvalidRequestError.
    """
    fmt = get_format(format)
    rate = check_sample_rate(sample_rate)
    channels = check_channels(channels)
    samples = finite_mono(samples)
    if subtype is not None and fmt.library != "soundfile":
        raise InvalidRequestError(f"subtype applies to wav and flac, not {fmt.name}", "subtype")
    if fmt.library == "soundfile":
        check_encoder_options(fmt, bitrate, bit_depth)
        if fmt.name == "flac" and len(samples) == 0 and subtype is None:  # libsndfile writes nothing
            from .streaming import StreamingEncoder

            return StreamingEncoder("flac", rate, bit_depth=bit_depth, channels=channels).finish()
        return _encode_soundfile(samples, rate, fmt.name, subtype or _SUBTYPES[bit_depth or 16], channels)
    from .streaming import StreamingEncoder

    encoder = StreamingEncoder(fmt.name, rate, bitrate=bitrate, bit_depth=bit_depth, channels=channels, buffered=True)
    return encoder.encode(samples) + encoder.finish()


def _encode_soundfile(samples: np.ndarray, rate: int, fmt: str, subtype: str, channels: int) -> bytes:
    import soundfile as sf

    data = np.clip(samples, -1.0, 1.0)
    if channels > 1:
        data = np.repeat(data[:, None], channels, axis=1)
    buffer = io.BytesIO()
    try:
        sf.write(buffer, data, rate, format=fmt.upper(), subtype=subtype)
    except (ValueError, TypeError, RuntimeError) as exc:  # bad subtype, rate the format cannot hold
        raise InvalidRequestError(f"cannot write {fmt} ({subtype}, {rate} Hz): {exc}", "format") from exc
    return buffer.getvalue()


def decode(data: bytes, format: str | None = None, *, sample_rate: int | None = None,
           bit_depth: int = 16, channels: int = 1) -> tuple[np.ndarray, int]:
    """Decode a whole file's bytes to (mono float32 samples, sample rate).

    Any format soundfile or FFmpeg reads: wav, flac, mp3, ogg (opus/vorbis), m4a/aac, webm...
    Channels are averaged. Headerless ``format="pcm"`` needs ``sample_rate`` (and takes
    ``bit_depth``/``channels``). Raises AudioDecodeError for empty, corrupt or truncated-to-nothing
    data, zero-length audio, NaN samples or a sample rate outside [1000, 384000] Hz.
    """
    if not data:
        raise AudioDecodeError("audio data is empty")
    if format is not None and get_format(format).name == "pcm":
        if sample_rate is None:
            raise InvalidRequestError("raw pcm has no header: pass sample_rate (and bit_depth, channels)", "sample_rate")
        from .pcm import from_pcm_bytes

        if bit_depth not in FORMATS["pcm"].bit_depths:
            raise InvalidRequestError(f"pcm bit_depth must be 16, 24 or 32, got {bit_depth!r}", "bit_depth")
        samples, rate = from_pcm_bytes(bytes(data), bit_depth, check_channels(channels)), check_sample_rate(sample_rate)
    else:
        samples, rate = _decode_container(bytes(data))
    if len(samples) == 0:
        raise AudioDecodeError("the audio has zero length (no samples)")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioDecodeError(f"the audio's sample rate {rate} Hz is outside [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz")
    if not np.isfinite(samples).all():
        raise AudioDecodeError("the audio contains NaN or infinite samples")
    return samples, rate


def _decode_container(data: bytes) -> tuple[np.ndarray, int]:
    if data[:4] in _SOUNDFILE_MAGIC:
        import soundfile as sf

        try:
            samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
            if len(samples):
                return samples.mean(axis=1).astype(np.float32), int(rate)
        except Exception:  # libsndfile errors; streamed headers, odd codecs: let FFmpeg try
            pass
    from .ffmpeg import decode_with_ffmpeg

    return decode_with_ffmpeg(data)


def decode_file(path: str | os.PathLike[str], **options: Any) -> tuple[np.ndarray, int]:
    """``decode`` a file; ``.pcm``/``.raw`` files are headerless and need ``sample_rate=``."""
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"audio file not found: {str(path)!r}", "path")
    if "format" not in options and path.suffix.lower() in FORMATS["pcm"].extensions:
        options["format"] = "pcm"
    try:
        return decode(path.read_bytes(), **options)
    except AudioDecodeError as exc:
        raise AudioDecodeError(f"{str(path)!r} is not readable audio: {exc}", exc.param) from exc
