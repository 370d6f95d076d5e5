"""Encoding and decoding of audio bytes. PCM/WAV/FLAC go through soundfile (libsndfile)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..errors import AudioDecodeError, InvalidRequestError

SUPPORTED_FORMATS = ("wav", "pcm", "flac")
_EXTENSIONS = {".wav": "wav", ".flac": "flac", ".pcm": "pcm", ".raw": "pcm"}


def format_from_path(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InvalidRequestError(
            f"cannot tell the audio format from {str(path)!r}; use one of: {', '.join(sorted(_EXTENSIONS))}"
        )
    return _EXTENSIONS[suffix]


def encode(samples: np.ndarray, sample_rate: int, format: str = "wav", subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    fmt = format.lower()
    if fmt not in SUPPORTED_FORMATS:
        raise InvalidRequestError(f"unsupported audio format {format!r}; supported: {', '.join(SUPPORTED_FORMATS)}")
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    if fmt == "pcm":
        return (clipped * 32767.0).round().astype("<i2").tobytes()
    buffer = io.BytesIO()
    sf.write(buffer, clipped, sample_rate, format=fmt.upper(), subtype=subtype)
    return buffer.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, int]:
    import soundfile as sf

    if not data:
        raise AudioDecodeError("audio data is empty")
    try:
        samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError subclasses
        raise AudioDecodeError(f"could not decode audio: {exc}") from exc
    return samples.mean(axis=1).astype(np.float32), int(sr)


def decode_file(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"audio file not found: {str(path)!r}")
    try:
        return decode(path.read_bytes())
    except AudioDecodeError as exc:
        raise AudioDecodeError(f"{str(path)!r} is not a readable audio file ({exc})") from exc
