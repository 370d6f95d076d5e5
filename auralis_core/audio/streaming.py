"""`StreamingEncoder`: float32 chunks in, encoded bytes out, as the audio is produced.

Every format can be written incrementally. Compressed formats (mp3, opus, aac, webm) and FLAC go
through FFmpeg via PyAV, with the muxer writing into a non-seekable sink so bytes can leave after
each chunk; the encoder is always fed fixed-size frames, so the codec packets do not depend on how
the input was chunked. m4a is the exception: its index is written last, so its bytes all come
from ``finish()``.

The concatenation of everything ``encode()`` and ``finish()`` return is one valid file.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from .checks import check_channels, check_encoder_options, check_sample_rate, finite_mono
from .formats import AudioFormat, get_format
from .pcm import to_pcm_bytes
from .processing import StreamResampler

_OGG_PAGE_US = 200_000  # Ogg pages / WebM clusters of at most 200 ms: low latency, ~3 % overhead at 32 kb/s


class _ChunkSink:
    """A write-only, non-seekable file for FFmpeg's muxer; ``drain`` hands over what it wrote."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class _FFmpegWriter:
    """Resample (when the codec needs another rate) + frame + encode + mux through PyAV."""

    def __init__(self, fmt: AudioFormat, sample_rate: int, channels: int, bitrate: int | None,
                 bit_depth: int | None, buffered: bool) -> None:
        import av

        from .ffmpeg import pick_sample_format

        self.output_sample_rate = fmt.codec_sample_rate(sample_rate)
        self._resample = StreamResampler(sample_rate, self.output_sample_rate)
        self._buffered = buffered or not fmt.streamable
        self._sink: Any = io.BytesIO() if self._buffered else _ChunkSink()
        options = {"fflags": "+bitexact"}  # no random Ogg serials or version strings: same input, same bytes
        if fmt.container == "ogg":
            options["page_duration"] = str(_OGG_PAGE_US)
        if fmt.container == "webm":
            options["cluster_time_limit"] = str(_OGG_PAGE_US // 1000)  # same latency as Ogg
        if fmt.container == "mp3":
            options["id3v2_version"] = "0"  # plain MPEG frames (plus a LAME/Xing frame when buffered)
        self._container = av.open(self._sink, mode="w", format=fmt.container, options=options)
        try:
            self._stream = self._container.add_stream(fmt.codec, rate=self.output_sample_rate,
                                                      layout="mono" if channels == 1 else "stereo")
            context = self._stream.codec_context
            if fmt.library == "pyav":
                context.bit_rate = bitrate or (fmt.default_bitrate or 64_000) * channels
            if fmt.name == "flac":
                context.format = "s32" if bit_depth == 24 else "s16"  # FFmpeg's FLAC writes s32 as 24-bit
            else:
                context.format = pick_sample_format(context.codec)
            context.open()
            self._container.start_encoding()  # headers now, so even an empty stream is a valid file
        except Exception as exc:
            self._container.close()
            if isinstance(exc, InvalidRequestError):
                raise
            raise InvalidRequestError(f"cannot set up the {fmt.name} encoder: {exc}", "format") from exc
        self._sample_format = context.format.name
        self._frame_size = context.frame_size or 4096  # encoders with variable frames (FLAC) get 4096
        self._channels = channels
        self._pending = np.zeros(0, dtype=np.float32)
        self._pts = 0
        self._closed = False

    def write(self, samples: np.ndarray) -> bytes:
        samples = self._resample(samples)
        self._pending = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(self._pending) // self._frame_size * self._frame_size
        for start in range(0, whole, self._frame_size):
            self._encode_frame(self._pending[start : start + self._frame_size])
        self._pending = self._pending[whole:].copy()
        return self._drain()

    def finish(self) -> bytes:
        self._pending = np.concatenate([self._pending, self._resample(np.zeros(0, dtype=np.float32), last=True)])
        for start in range(0, len(self._pending), self._frame_size):  # the last frame may be short
            self._encode_frame(self._pending[start : start + self._frame_size])
        self._pending = self._pending[:0]
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._closed = True
        self._container.close()
        if self._buffered:
            return self._sink.getvalue()
        return self._drain()

    def __del__(self) -> None:
        # An abandoned stream (a client went away mid-response) must close its container while
        # the Python sink it writes to is still alive; older PyAV crashes if GC does it later.
        if not getattr(self, "_closed", True):
            self._closed = True
            try:
                self._container.close()
            except Exception:
                pass

    def _encode_frame(self, block: np.ndarray) -> None:
        from .ffmpeg import make_frame

        frame = make_frame(block, self._sample_format, self._channels, self.output_sample_rate, self._pts)
        self._pts += len(block)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def _drain(self) -> bytes:
        return b"" if self._buffered else self._sink.drain()


class _PcmWriter:
    def __init__(self, bit_depth: int, channels: int) -> None:
        self.bit_depth = bit_depth
        self.channels = channels

    def write(self, samples: np.ndarray) -> bytes:
        return to_pcm_bytes(samples, self.bit_depth, self.channels)

    def finish(self) -> bytes:
        return b""


class _WavStreamWriter(_PcmWriter):
    """PCM behind a RIFF header whose sizes say "unknown" (0xFFFFFFFF), as streamed WAV is sent."""

    def __init__(self, sample_rate: int, bit_depth: int, channels: int) -> None:
        super().__init__(bit_depth, channels)
        block_align = channels * bit_depth // 8
        unknown = (0xFFFFFFFF).to_bytes(4, "little")
        fmt_chunk = b"".join(
            v.to_bytes(n, "little")
            for v, n in ((16, 4), (1, 2), (channels, 2), (sample_rate, 4), (sample_rate * block_align, 4),
                         (block_align, 2), (bit_depth, 2))
        )
        self._header: bytes | None = b"RIFF" + unknown + b"WAVE" + b"fmt " + fmt_chunk + b"data" + unknown

    def write(self, samples: np.ndarray) -> bytes:
        head, self._header = self._header or b"", None
        return head + super().write(samples)

    def finish(self) -> bytes:
        head, self._header = self._header or b"", None
        return head


class _BufferedSoundfileWriter:
    """Collects everything and writes one soundfile WAV/FLAC at the end (exact headers)."""

    def __init__(self, fmt: AudioFormat, sample_rate: int, bit_depth: int | None, channels: int) -> None:
        self._args = (fmt.name, sample_rate, bit_depth, channels)
        self._parts: list[np.ndarray] = []

    def write(self, samples: np.ndarray) -> bytes:
        self._parts.append(samples)
        return b""

    def finish(self) -> bytes:
        from .codecs import encode

        fmt, rate, bit_depth, channels = self._args
        samples = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)
        return encode(samples, rate, fmt, bit_depth=bit_depth, channels=channels)


class StreamingEncoder:
    """Incremental encoder: ``encode(chunk)`` returns the bytes ready so far, ``finish()`` the rest.

    ``StreamingEncoder(format="mp3", sample_rate=24000)``; chunks are mono float32 arrays at
    ``sample_rate`` (or ``TTSOutput`` objects, resampled when their rate differs). Options:
    ``bitrate`` (compressed formats, e.g. ``"64k"``), ``bit_depth`` (wav/pcm: 16/24/32, flac:
    16/24), ``channels`` (1, or 2 for the mono signal on both sides). Codecs with a fixed set of
    rates (opus: 8/12/16/24/48 kHz; mp3, aac) run at the lowest supported rate at or above
    ``sample_rate`` (``output_sample_rate``), resampled here with soxr's streaming resampler.

    ``buffered=True`` keeps everything until ``finish()`` so that the muxer may seek back: mp3 then
    gets a LAME/Xing frame (exact gapless length on decode) and wav/flac exact headers. That is
    what one-shot ``TTSOutput.to_bytes`` uses; it carries the same codec frames.
    """

    def __init__(self, format: str = "mp3", sample_rate: int = 24000, *, bitrate: int | str | None = None,
                 bit_depth: int | None = None, channels: int = 1, buffered: bool = False) -> None:
        fmt = get_format(format)
        self.format = fmt.name
        self.content_type = fmt.content_type
        self.sample_rate = check_sample_rate(sample_rate)
        self.channels = check_channels(channels)
        self.output_sample_rate = self.sample_rate
        bitrate_bps = check_encoder_options(fmt, bitrate, bit_depth)
        self._writer: Any
        if fmt.library == "pyav" or (fmt.name == "flac" and not buffered):
            self._writer = _FFmpegWriter(fmt, self.sample_rate, self.channels, bitrate_bps, bit_depth, buffered)
            self.output_sample_rate = self._writer.output_sample_rate
        elif fmt.name == "pcm":
            self._writer = _PcmWriter(bit_depth or 16, self.channels)
        elif fmt.name == "wav" and not buffered:
            if (bit_depth or 16) == 8:
                raise InvalidRequestError("streamed wav supports bit_depth 16, 24 or 32", "bit_depth")
            self._writer = _WavStreamWriter(self.sample_rate, bit_depth or 16, self.channels)
        else:
            self._writer = _BufferedSoundfileWriter(fmt, self.sample_rate, bit_depth, self.channels)
        self._finished = False
        self.samples_in = 0

    def encode(self, samples: Any) -> bytes:
        """Add a chunk (array at ``sample_rate`` or a ``TTSOutput``); return the bytes now complete."""
        if self._finished:
            raise InvalidRequestError("this StreamingEncoder is finished; make a new one")
        samples = self._as_samples(samples)
        self.samples_in += len(samples)
        return self._writer.write(samples) if len(samples) else b""

    write = encode

    def finish(self) -> bytes:
        """Flush the codec and the container; the returned bytes end the file. Idempotent."""
        if self._finished:
            return b""
        self._finished = True
        return self._writer.finish()

    close = finish

    def encode_all(self, chunks: Iterable[Any]) -> Iterator[bytes]:
        """Encode an iterable of chunks, yielding non-empty byte strings, then finish."""
        for chunk in chunks:
            data = self.encode(chunk)
            if data:
                yield data
        tail = self.finish()
        if tail:
            yield tail

    async def aencode_all(self, chunks: AsyncIterable[Any]) -> AsyncIterator[bytes]:
        """``encode_all`` for an async iterable (e.g. ``TTS.generate_speech_async(stream=True)``)."""
        async for chunk in chunks:
            data = self.encode(chunk)
            if data:
                yield data
        tail = self.finish()
        if tail:
            yield tail

    def __enter__(self) -> StreamingEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            self._finished = True
            try:
                self._writer.finish()
            except Exception:
                if exc[0] is None:
                    raise

    def _as_samples(self, chunk: Any) -> np.ndarray:
        from ..output import TTSOutput

        if isinstance(chunk, TTSOutput):
            if chunk.sample_rate != self.sample_rate:
                raise InvalidRequestError(
                    f"chunk at {chunk.sample_rate} Hz given to an encoder at {self.sample_rate} Hz; "
                    "resample the stream first (a per-chunk resample would click at the joins)",
                    "sample_rate",
                )
            chunk = chunk.samples
        return finite_mono(chunk)


def encode_stream(chunks: Iterable[Any], format: str = "mp3", sample_rate: int = 24000, **options: Any) -> Iterator[bytes]:
    """Encoded bytes for a stream of chunks (arrays or ``TTSOutput``), as they become ready."""
    return StreamingEncoder(format, sample_rate, **options).encode_all(chunks)
