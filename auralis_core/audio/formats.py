"""The audio formats Auralis writes and reads: names, containers, codecs, MIME types, extensions.

Pure data (no codec library is imported here), so the server and the CLI can validate a format
name cheaply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidRequestError

MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384_000

_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AAC_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True)
class AudioFormat:
    """One output format.

    ``library`` is ``"soundfile"`` (libsndfile), ``"raw"`` (headerless PCM) or ``"pyav"`` (FFmpeg
    through PyAV, with ``container`` the FFmpeg muxer and ``codec`` the FFmpeg encoder).
    """

    name: str
    content_type: str
    extensions: tuple[str, ...]
    library: str
    container: str | None = None
    codec: str | None = None
    lossless: bool = False
    sample_rates: tuple[int, ...] | None = None  # rates the codec accepts; None: any in range
    bit_depths: tuple[int, ...] = ()  # PCM formats only
    default_bitrate: int | None = None  # bits per second per channel, compressed formats only
    streamable: bool = True  # False: the muxer must seek back, output only comes at the end

    def codec_sample_rate(self, sample_rate: int) -> int:
        """The rate the codec will run at for input at ``sample_rate`` (lowest supported >= it)."""
        if self.sample_rates is None:
            return sample_rate
        higher = [r for r in self.sample_rates if r >= sample_rate]
        return min(higher) if higher else max(self.sample_rates)


FORMATS: dict[str, AudioFormat] = {
    f.name: f
    for f in (
        AudioFormat("wav", "audio/wav", (".wav", ".wave"), "soundfile", lossless=True, bit_depths=(8, 16, 24, 32)),
        AudioFormat("pcm", "audio/pcm", (".pcm", ".raw"), "raw", lossless=True, bit_depths=(16, 24, 32)),
        AudioFormat("flac", "audio/flac", (".flac",), "soundfile", "flac", "flac", lossless=True, bit_depths=(16, 24)),
        AudioFormat("mp3", "audio/mpeg", (".mp3",), "pyav", "mp3", "libmp3lame",
                    sample_rates=_MP3_RATES, default_bitrate=64_000),
        AudioFormat("opus", "audio/ogg", (".opus", ".ogg", ".oga"), "pyav", "ogg", "libopus",
                    sample_rates=_OPUS_RATES, default_bitrate=32_000),
        AudioFormat("aac", "audio/aac", (".aac", ".adts"), "pyav", "adts", "aac",
                    sample_rates=_AAC_RATES, default_bitrate=64_000),
        AudioFormat("m4a", "audio/mp4", (".m4a", ".mp4"), "pyav", "ipod", "aac",
                    sample_rates=_AAC_RATES, default_bitrate=64_000, streamable=False),
        AudioFormat("webm", "audio/webm", (".webm",), "pyav", "webm", "libopus",
                    sample_rates=_OPUS_RATES, default_bitrate=32_000),
    )
}

ALIASES = {"wave": "wav", "raw": "pcm", "ogg": "opus", "oga": "opus", "adts": "aac", "mp4": "m4a"}

#: The six formats of the OpenAI speech API; ``FORMATS`` adds m4a and webm.
OPENAI_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


def get_format(name: str) -> AudioFormat:
    """The format called ``name`` (case-insensitive; ``ogg`` means Ogg Opus)."""
    key = str(name).lower().lstrip(".")
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        raise InvalidRequestError(
            f"unsupported audio format {name!r}; supported: {', '.join(FORMATS)}", "format"
        )
    return FORMATS[key]


def format_from_path(path: str | os.PathLike[str]) -> str:
    """The format name for a file name's extension (``.ogg`` -> ``opus``, ``.m4a`` -> ``m4a``)."""
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS.values():
        if suffix in fmt.extensions:
            return fmt.name
    known = sorted(ext for fmt in FORMATS.values() for ext in fmt.extensions)
    raise InvalidRequestError(
        f"cannot tell the audio format from {str(path)!r}; use an extension among {', '.join(known)} "
        "or pass format=",
        "format",
    )
