"""`TTSOutput`: a mono float32 waveform and its sample rate, with conversion and I/O helpers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidRequestError

if TYPE_CHECKING:  # torch is optional: imported lazily in to_tensor/from_tensor
    import torch


def _as_mono_float32(samples: Any) -> np.ndarray:
    array = np.asarray(samples)
    if array.dtype.kind == "i":  # integer PCM -> [-1, 1)
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max + 1)
    array = array.astype(np.float32, copy=False)
    if array.ndim == 2:  # (frames, channels) or (channels, frames): downmix
        array = array.mean(axis=1 if array.shape[0] >= array.shape[1] else 0)
    if array.ndim != 1:
        raise InvalidRequestError(f"audio must be mono or (frames, channels), got shape {array.shape}")
    return np.ascontiguousarray(array)


@dataclass
class TTSOutput:
    """Audio produced by an engine (or loaded from a file).

    ``samples`` is always a 1-D float32 array in [-1, 1]; multi-channel input is downmixed.
    """

    samples: np.ndarray
    sample_rate: int
    request_id: str | None = None
    segment_index: int | None = None
    is_final: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.samples = _as_mono_float32(self.samples)
        if not isinstance(self.sample_rate, (int, np.integer)) or not 1000 <= int(self.sample_rate) <= 384_000:
            raise InvalidRequestError(f"sample_rate must be an integer in [1000, 384000] Hz, got {self.sample_rate!r}")
        self.sample_rate = int(self.sample_rate)

    # --- basic facts -------------------------------------------------------------------------
    @property
    def array(self) -> np.ndarray:
        """The original Auralis's name for ``samples``."""
        return self.samples

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def __len__(self) -> int:
        return len(self.samples)

    def get_info(self) -> dict[str, Any]:
        peak = float(np.max(np.abs(self.samples))) if len(self.samples) else 0.0
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64)))) if len(self.samples) else 0.0
        return {
            "sample_rate": self.sample_rate,
            "num_samples": len(self.samples),
            "duration_s": self.duration,
            "channels": 1,
            "dtype": "float32",
            "peak": peak,
            "rms": rms,
        }

    # --- torch bridge (lazy) -----------------------------------------------------------------
    def to_tensor(self) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.samples.copy())

    @classmethod
    def from_tensor(cls, tensor: torch.Tensor, sample_rate: int, **kwargs: Any) -> TTSOutput:
        return cls(tensor.detach().to("cpu").float().numpy().squeeze(), sample_rate, **kwargs)

    # --- encoding / files --------------------------------------------------------------------
    def to_bytes(
        self,
        format: str = "wav",
        sample_width: int | None = None,
        *,
        sample_rate: int | None = None,
        bit_depth: int | None = None,
        bitrate: int | str | None = None,
        channels: int = 1,
        subtype: str | None = None,
    ) -> bytes:
        """Encode to a complete file of ``format``.

        Formats: ``wav``, ``pcm`` (raw little-endian), ``flac``, ``mp3``, ``opus`` (Ogg Opus),
        ``aac`` (ADTS), ``m4a`` (AAC in MP4), ``webm`` (Opus in WebM). ``sample_rate`` resamples
        first (soxr); ``bit_depth`` for wav (8/16/24/32), pcm (16/24/32) and flac (16/24);
        ``bitrate`` (e.g. ``"64k"``) for the compressed formats; ``channels=2`` writes the mono
        signal on both channels; ``subtype`` is a libsndfile subtype for wav/flac (``"FLOAT"``).
        Codecs with fixed rates (opus: 8/12/16/24/48 kHz) run at the next supported rate.
        ``sample_width`` (bytes per sample, the original Auralis's argument) is ``bit_depth / 8``.
        """
        from .audio.codecs import encode

        if sample_width is not None:
            if sample_width not in (1, 2, 3, 4) or (bit_depth is not None and bit_depth != 8 * sample_width):
                raise InvalidRequestError(f"sample_width must be 1, 2, 3 or 4 bytes (and agree with bit_depth), "
                                          f"got {sample_width!r}", "sample_width")
            bit_depth = 8 * sample_width

        audio = self if sample_rate is None else self.resample(sample_rate)
        return encode(audio.samples, audio.sample_rate, format, bit_depth=bit_depth, bitrate=bitrate,
                      channels=channels, subtype=subtype)

    def save(self, path: str | os.PathLike[str], sample_rate: int | None = None, format: str | None = None,
             **options: Any) -> Path:
        """Write to ``path``; the format comes from the extension unless given, ``sample_rate``
        resamples first (the original Auralis's argument order; options: see ``to_bytes``)."""
        from .audio.formats import format_from_path

        path = Path(path)
        fmt = format or format_from_path(path)
        data = self.to_bytes(fmt, sample_rate=sample_rate, **options)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        format: str | None = None,
        *,
        sample_rate: int | None = None,
        bit_depth: int = 16,
        channels: int = 1,
        **kwargs: Any,
    ) -> TTSOutput:
        """Decode wav, flac, mp3, ogg (opus/vorbis), m4a/aac, webm... (downmixed to mono).

        Headerless ``format="pcm"`` needs ``sample_rate`` (``bit_depth``/``channels`` optional).
        Raises ``AudioDecodeError`` for corrupt, empty or zero-length data.
        """
        from .audio.codecs import decode

        samples, sr = decode(data, format, sample_rate=sample_rate, bit_depth=bit_depth, channels=channels)
        return cls(samples, sr, **kwargs)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> TTSOutput:
        """Read an audio file of any format ``from_bytes`` reads (``.pcm``/``.raw`` need ``sample_rate=``)."""
        from .audio.codecs import decode_file

        decode_keys = {"format", "sample_rate", "bit_depth", "channels"}
        options = {k: kwargs.pop(k) for k in list(kwargs) if k in decode_keys}
        samples, sr = decode_file(path, **options)
        return cls(samples, sr, **kwargs)

    # --- processing --------------------------------------------------------------------------
    def resample(self, target_sr: int) -> TTSOutput:
        """This audio at ``target_sr`` Hz (libsoxr, high quality)."""
        from .audio.processing import resample

        if target_sr == self.sample_rate:
            return self
        return self._replace(resample(self.samples, self.sample_rate, target_sr), target_sr)

    def change_speed(self, factor: float) -> TTSOutput:
        """Time-stretch by ``factor`` in [0.25, 4] (2.0 = twice as fast) keeping pitch (FFmpeg atempo)."""
        from .audio.tempo import change_speed

        return self._replace(change_speed(self.samples, self.sample_rate, factor), self.sample_rate)

    @staticmethod
    def combine_outputs(
        outputs: Sequence[TTSOutput] | Iterable[TTSOutput],
        silence_s: float = 0.0,
        crossfade_s: float = 0.0,
    ) -> TTSOutput:
        """Concatenate outputs (resampled to the first one's rate), with optional gap or crossfade.

        The result keeps the first output's metadata and lists every part's under ``"parts"``
        (e.g. the audio codes an engine reports per segment).
        """
        from .audio.processing import concatenate

        outputs = list(outputs)
        if not outputs:
            raise InvalidRequestError("combine_outputs needs at least one output")
        sr = outputs[0].sample_rate
        parts = [o.resample(sr).samples for o in outputs]
        first = outputs[0]
        return TTSOutput(
            concatenate(parts, sr, silence_s=silence_s, crossfade_s=crossfade_s),
            sr,
            request_id=first.request_id,
            is_final=True,
            metadata={**first.metadata, "parts": [dict(o.metadata) for o in outputs]},
        )

    # --- playback ----------------------------------------------------------------------------
    def play(self, blocking: bool = True) -> None:
        from .audio.playback import play

        play(self.samples, self.sample_rate, blocking=blocking)

    def preview(self) -> Any:
        from .audio.playback import preview

        return preview(self.samples, self.sample_rate)

    def _replace(self, samples: np.ndarray, sample_rate: int) -> TTSOutput:
        return TTSOutput(
            samples,
            sample_rate,
            request_id=self.request_id,
            segment_index=self.segment_index,
            is_final=self.is_final,
            metadata=dict(self.metadata),
        )
