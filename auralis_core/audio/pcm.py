"""Float samples <-> headerless little-endian integer PCM (the ``pcm`` format)."""

from __future__ import annotations

import numpy as np

from ..errors import AudioDecodeError


def float_to_int(samples: np.ndarray, bit_depth: int) -> np.ndarray:
    """Scale by 2**(bit_depth-1), round, clip to the integer range (libsndfile's convention).

    The inverse of dividing by 2**(bit_depth-1), so k / 32768 survives a 16-bit round trip exactly.
    """
    full_scale = float(2 ** (bit_depth - 1))
    ints = np.clip(np.round(np.asarray(samples, dtype=np.float64) * full_scale), -full_scale, full_scale - 1)
    return ints.astype(np.int16 if bit_depth == 16 else np.int32)


def to_pcm_bytes(samples: np.ndarray, bit_depth: int = 16, channels: int = 1) -> bytes:
    """Signed ``bit_depth``-bit little-endian integers (see ``float_to_int``), ``channels`` copies interleaved."""
    ints = float_to_int(np.asarray(samples), bit_depth)
    if channels > 1:
        ints = np.repeat(ints, channels)  # frame-interleaved copies of the mono signal
    if bit_depth == 16:
        return ints.astype("<i2").tobytes()
    if bit_depth == 32:
        return ints.astype("<i4").tobytes()
    if bit_depth == 24:  # the low three bytes of each little-endian int32
        return ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    raise ValueError(f"unsupported PCM bit depth {bit_depth}")


def from_pcm_bytes(data: bytes, bit_depth: int = 16, channels: int = 1) -> np.ndarray:
    """Decode headerless PCM to mono float32 (channels averaged)."""
    width = bit_depth // 8
    if len(data) % (width * channels):
        raise AudioDecodeError(
            f"raw pcm data of {len(data)} bytes is not a whole number of {bit_depth}-bit "
            f"{channels}-channel frames (truncated?)"
        )
    if bit_depth == 16:
        ints = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    elif bit_depth == 32:
        ints = (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    elif bit_depth == 24:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        padded = np.zeros((len(raw), 4), dtype=np.uint8)
        padded[:, 1:] = raw  # shift up one byte: sign lands in the top byte
        ints = (padded.view("<i4").reshape(-1) >> 8).astype(np.float32) / 8388608.0
    else:
        raise AudioDecodeError(f"unsupported raw pcm bit depth {bit_depth}")
    return ints.reshape(-1, channels).mean(axis=1).astype(np.float32)
