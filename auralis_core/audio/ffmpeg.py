"""FFmpeg (through PyAV) for the compressed codecs: frame conversion and decoding of any container."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import AudioDecodeError
from .pcm import float_to_int

# sample formats we can produce, best first; FFmpeg encoders list what they take
_PREFERRED_FORMATS = ("fltp", "flt", "s16", "s16p", "s32", "s32p")
_INT_BITS = {"s16": 16, "s32": 32}
_LAYOUTS = {1: "mono", 2: "stereo"}
_NO_SAMPLES = "the data decodes to no audio samples (zero-length audio, or truncated before the first frame)"


def pick_sample_format(codec: Any) -> str:
    """The sample format to feed ``codec`` (an ``av.Codec``): float if it takes float."""
    offered = [f.name for f in (codec.audio_formats or ())]
    for name in _PREFERRED_FORMATS:
        if name in offered:
            return name
    raise AudioDecodeError(f"FFmpeg encoder {codec.name!r} takes none of the sample formats {_PREFERRED_FORMATS}")


def make_frame(block: np.ndarray, sample_format: str, channels: int, sample_rate: int, pts: int) -> Any:
    """An ``av.AudioFrame`` holding the mono float ``block`` on ``channels`` channels."""
    import av

    base = sample_format.rstrip("p")
    planar = sample_format.endswith("p")
    if base in _INT_BITS:
        data = float_to_int(block, _INT_BITS[base])
    else:
        data = block.astype(np.float32, copy=False)
    if planar:
        array = np.ascontiguousarray(np.broadcast_to(data, (channels, len(data))))
    else:
        array = np.ascontiguousarray(np.repeat(data, channels)[None, :])
    frame = av.AudioFrame.from_ndarray(array, format=sample_format, layout=_LAYOUTS[channels])
    frame.sample_rate = sample_rate
    frame.pts = pts
    frame.time_base = Fraction(1, sample_rate)
    return frame


def frame_to_mono(frame: Any) -> np.ndarray:
    """Mono float32 samples of a decoded ``av.AudioFrame`` (channels averaged, ints scaled)."""
    array = frame.to_ndarray()
    channels = len(frame.layout.channels) or 1
    if not frame.format.is_planar:  # packed: one row of interleaved samples
        array = array.reshape(-1, channels).T
    if array.dtype.kind in "iu":
        if array.dtype.kind == "u":  # u8: unsigned, centred on 128
            array = array.astype(np.float32) - 128.0
            scale = 128.0
        else:
            scale = float(2 ** (8 * array.dtype.itemsize - 1))
        array = array.astype(np.float32) / scale
    return array.astype(np.float32, copy=False).mean(axis=0)


def decode_with_ffmpeg(data: bytes) -> tuple[np.ndarray, int]:
    """Decode any container/codec FFmpeg knows (mp3, ogg/opus/vorbis, m4a/aac, webm, wav...)."""
    import av

    parts: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError("the data holds no audio stream")
            stream = container.streams.audio[0]
            if stream.codec_context is None:  # a codec id FFmpeg has no decoder for (or a damaged header)
                raise AudioDecodeError("the audio stream's codec is unknown or has no decoder here")
            rate = stream.codec_context.sample_rate or stream.rate
            for frame in container.decode(stream):
                parts.append(frame_to_mono(frame))
                rate = frame.sample_rate or rate
    except AudioDecodeError:
        raise
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        if not parts and isinstance(exc, (av.EOFError, EOFError)):
            raise AudioDecodeError(_NO_SAMPLES) from exc
        if not parts:
            raise AudioDecodeError(f"could not decode audio: {exc}") from exc
        # damage after some good audio (e.g. a truncated download): keep what decoded
    if not parts:
        raise AudioDecodeError(_NO_SAMPLES)
    return np.concatenate(parts).astype(np.float32, copy=False), int(rate or 0)
