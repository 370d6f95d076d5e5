"""Turning a stream of `TTSOutput` chunks into the bytes of one response format, incrementally.

Compressed formats (mp3, opus, aac) come from the core's streaming encoder
(``auralis_core.audio.StreamingEncoder``) when it is installed; ``_external_encoder`` is the one
place that adapts to it. Without it, pcm and wav still stream (wav with an open-ended header, as
OpenAI sends it), flac is encoded at the end, and the compressed formats answer 400.
"""

from __future__ import annotations

import importlib
import struct
from typing import Any, Protocol

import numpy as np

from ..errors import InvalidRequestError

CONTENT_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",  # Ogg-encapsulated Opus, as OpenAI sends it
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}

OPENAI_PCM_RATE = 24000


class ChunkEncoder(Protocol):
    def encode(self, samples: np.ndarray) -> bytes: ...

    def finish(self) -> bytes: ...


def _to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


class PcmEncoder:
    """Raw 16-bit little-endian mono, no header."""

    def encode(self, samples: np.ndarray) -> bytes:
        return _to_pcm16(samples)

    def finish(self) -> bytes:
        return b""


class WavStreamEncoder(PcmEncoder):
    """PCM behind a RIFF header whose sizes say "unknown" (0xFFFFFFFF), so it can stream."""

    def __init__(self, sample_rate: int) -> None:
        self._header: bytes | None = (
            b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF)
        )

    def encode(self, samples: np.ndarray) -> bytes:
        head, self._header = self._header or b"", None
        return head + _to_pcm16(samples)

    def finish(self) -> bytes:
        head, self._header = self._header or b"", None
        return head


class BufferedEncoder:
    """Collects everything and encodes once at the end (formats with no streaming writer)."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self._parts: list[np.ndarray] = []

    def encode(self, samples: np.ndarray) -> bytes:
        self._parts.append(samples)
        return b""

    def finish(self) -> bytes:
        from ..audio.codecs import encode

        samples = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)
        return encode(samples, self.sample_rate, self.fmt)


class _ExternalAdapter:
    """Wraps the core's streaming encoder, whatever its method names turn out to be."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._push = next(getattr(inner, m) for m in ("encode", "write", "push", "feed") if hasattr(inner, m))
        self._end = next(getattr(inner, m) for m in ("finish", "flush", "close") if hasattr(inner, m))

    def encode(self, samples: np.ndarray) -> bytes:
        return bytes(self._push(samples) or b"")

    def finish(self) -> bytes:
        return bytes(self._end() or b"")


def streaming_encoder_available() -> bool:
    return _streaming_encoder_class() is not None


def _streaming_encoder_class() -> Any:
    for module in ("auralis_core.audio", "auralis_core.audio.streaming", "auralis_core.audio.codecs"):
        try:
            cls = getattr(importlib.import_module(module), "StreamingEncoder", None)
        except ImportError:
            continue
        if cls is not None:
            return cls
    return None


def _external_encoder(fmt: str, sample_rate: int) -> ChunkEncoder | None:
    cls = _streaming_encoder_class()
    if cls is None:
        return None
    try:
        inner = cls(format=fmt, sample_rate=sample_rate)
    except TypeError:
        inner = cls(fmt, sample_rate)
    return _ExternalAdapter(inner)


def make_encoder(fmt: str, sample_rate: int) -> ChunkEncoder:
    """An incremental encoder for ``fmt`` at ``sample_rate``; raises InvalidRequestError if unsupported."""
    if fmt == "pcm":
        return PcmEncoder()
    if fmt == "wav":
        return WavStreamEncoder(sample_rate)
    try:
        external = _external_encoder(fmt, sample_rate)
    except (InvalidRequestError, ValueError) as exc:
        if fmt != "flac":
            raise InvalidRequestError(f"response_format {fmt!r} is not available: {exc}", "response_format") from exc
        external = None
    if external is not None:
        return external
    if fmt == "flac":
        return BufferedEncoder("flac", sample_rate)
    raise InvalidRequestError(
        f"response_format {fmt!r} needs the streaming audio encoder (auralis_core.audio.StreamingEncoder), "
        "which this installation lacks; use wav, pcm or flac",
        "response_format",
    )


class Resampler:
    """Streaming resampler (soxr keeps filter state across chunks, so no clicks at boundaries)."""

    def __init__(self, source_sr: int, target_sr: int) -> None:
        self.source_sr = source_sr
        self.target_sr = target_sr
        self._stream: Any = None
        if source_sr != target_sr:
            import soxr

            self._stream = soxr.ResampleStream(source_sr, target_sr, 1, dtype="float32", quality="HQ")

    def __call__(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples, last=last)


class AudioStreamEncoder:
    """Resample + encode, chunk by chunk; ``feed`` may return b"" while an encoder buffers."""

    def __init__(self, fmt: str, source_sr: int, target_sr: int) -> None:
        self.format = fmt
        self.sample_rate = target_sr
        self.content_type = CONTENT_TYPES[fmt]
        self._resample = Resampler(source_sr, target_sr)
        self._encoder = make_encoder(fmt, target_sr)
        self.samples_out = 0

    def feed(self, samples: np.ndarray) -> bytes:
        out = self._resample(samples)
        self.samples_out += len(out)
        return self._encoder.encode(out) if len(out) else b""

    def finish(self) -> bytes:
        tail = self._resample(np.zeros(0, dtype=np.float32), last=True)
        self.samples_out += len(tail)
        data = self._encoder.encode(tail) if len(tail) else b""
        return data + self._encoder.finish()
