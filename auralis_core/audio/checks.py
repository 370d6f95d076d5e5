"""Validation of what callers hand to the codecs: samples, sample rates, bit rates, channel counts."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from .formats import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, AudioFormat


def check_sample_rate(sample_rate: Any, param: str = "sample_rate") -> int:
    """``sample_rate`` as an int, or InvalidRequestError when it is not a sane audio rate."""
    if isinstance(sample_rate, bool) or not hasattr(type(sample_rate), "__index__"):  # int, numpy ints
        raise InvalidRequestError(f"{param} must be an integer number of Hz, got {sample_rate!r}", param)
    rate = int(sample_rate.__index__())
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise InvalidRequestError(
            f"{param} must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz, got {rate}", param
        )
    return rate


def finite_mono(samples: Any, param: str = "samples") -> np.ndarray:
    """``samples`` as contiguous 1-D float32 (no copy when it already is); NaN or infinity is an error."""
    array = np.ascontiguousarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise InvalidRequestError(f"{param} must be a 1-D mono array, got shape {array.shape}", param)
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(array.size - np.count_nonzero(finite))
        raise InvalidRequestError(
            f"{param} contains {bad} NaN or infinite value(s) out of {array.size}; audio must be finite "
            "(clean it with numpy.nan_to_num if that is what you want)",
            param,
        )
    return array


_BITRATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*(?:bps|b/s)?\s*$")


def parse_bitrate(bitrate: Any) -> int:
    """Bits per second from ``64000``, ``"64k"`` or ``"0.128M"``; 6 kb/s to 640 kb/s."""
    if isinstance(bitrate, str):
        match = _BITRATE.match(bitrate)
        if not match:
            raise InvalidRequestError(f"bitrate must look like 64000 or '64k', got {bitrate!r}", "bitrate")
        value = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    elif isinstance(bitrate, (int, float, np.integer, np.floating)) and not isinstance(bitrate, bool):
        value = float(bitrate)
    else:
        raise InvalidRequestError(f"bitrate must be a number of bits per second, got {bitrate!r}", "bitrate")
    if not 6_000 <= value <= 640_000:
        raise InvalidRequestError(f"bitrate must be between 6k and 640k bits per second, got {bitrate!r}", "bitrate")
    return int(value)


def check_channels(channels: Any) -> int:
    if isinstance(channels, bool) or channels not in (1, 2):
        raise InvalidRequestError(f"channels must be 1 (mono) or 2 (the mono signal on both sides), got {channels!r}", "channels")
    return int(channels)


def check_encoder_options(fmt: AudioFormat, bitrate: Any, bit_depth: Any) -> int | None:
    """Bit rate in bits per second (None: the format's default); refuses options ``fmt`` cannot take."""
    if bitrate is not None and fmt.library != "pyav":
        raise InvalidRequestError(f"bitrate applies to compressed formats, not {fmt.name}", "bitrate")
    if bit_depth is not None:
        if not fmt.bit_depths:
            raise InvalidRequestError(f"bit_depth applies to wav, pcm and flac, not {fmt.name}", "bit_depth")
        if bit_depth not in fmt.bit_depths:
            raise InvalidRequestError(
                f"{fmt.name} bit_depth must be one of {', '.join(map(str, fmt.bit_depths))}, got {bit_depth!r}",
                "bit_depth",
            )
    return parse_bitrate(bitrate) if bitrate is not None else None
