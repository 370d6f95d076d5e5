"""Resample + encode a stream of engine chunks into one response format, chunk by chunk.

The encoding itself is the core's `StreamingEncoder` (every format streams: pcm raw, wav with an
open-ended header as OpenAI sends it, flac/mp3/opus/aac through FFmpeg). This module adds the
server's part: resampling from the engine's rate to the response rate without clicks at chunk
joins, and the bookkeeping the response headers and usage need.
"""

from __future__ import annotations

import asyncio

import numpy as np

from ..audio.formats import get_format
from ..audio.processing import StreamResampler
from ..audio.streaming import StreamingEncoder

OPENAI_PCM_RATE = 24000


class AudioStreamEncoder:
    """Engine chunks at ``source_sr`` in, encoded bytes of ``fmt`` at ``target_sr`` out.

    ``feed`` may return b"" while the codec buffers; ``finish`` returns the rest of the file. The
    ``*_async`` forms run compressed encoding in a worker thread: an mp3/aac chunk of a few seconds
    costs tens of milliseconds, which would otherwise stall every other stream on the event loop.
    """

    def __init__(self, fmt: str, source_sr: int, target_sr: int) -> None:
        self.format = fmt
        self.content_type = get_format(fmt).content_type
        self._resample = StreamResampler(source_sr, target_sr)
        self._encoder = StreamingEncoder(fmt, target_sr)
        self.sample_rate = self._encoder.output_sample_rate
        self._offload = fmt not in ("pcm", "wav")  # raw PCM costs less than a thread hop

    def feed(self, samples: np.ndarray) -> bytes:
        out = self._resample(samples)
        return self._encoder.encode(out) if len(out) else b""

    def finish(self) -> bytes:
        tail = self._resample(np.zeros(0, dtype=np.float32), last=True)
        data = self._encoder.encode(tail) if len(tail) else b""
        return data + self._encoder.finish()

    async def feed_async(self, samples: np.ndarray) -> bytes:
        return await asyncio.to_thread(self.feed, samples) if self._offload else self.feed(samples)

    async def finish_async(self) -> bytes:
        return await asyncio.to_thread(self.finish) if self._offload else self.finish()
