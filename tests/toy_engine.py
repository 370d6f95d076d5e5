"""A small but complete engine used by the core tests: it renders each segment as a tone.

The tone's frequency encodes (request, segment) so tests can check that every chunk reached
the right caller in the right order; delays and failures are injectable per segment.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from auralis_core import (
    BaseAsyncTTSEngine,
    EngineCapabilities,
    GenerationContext,
    SegmentWorkItem,
    TTSOutput,
    TTSRequest,
    VoiceNotFoundError,
)
from auralis_core.voices import VoiceProfile

SAMPLE_RATE = 8000


class ToneEngine(BaseAsyncTTSEngine):
    capabilities = EngineCapabilities(
        name="tone",
        languages=("en", "de"),
        sample_rate=SAMPLE_RATE,
        voice_cloning=True,
        streaming=True,
        voices=("low", "high"),
        default_voice="low",
    )

    def __init__(self, delays: dict[int, float] | dict[str, float] | None = None, fail_on: set[int] | None = None, chunks_per_segment: int = 2) -> None:
        self.delays = {int(k): float(v) for k, v in (delays or {}).items()}  # JSON config: string keys
        self.fail_on = fail_on or set()
        self.chunks_per_segment = chunks_per_segment
        self.active = 0
        self.max_active = 0
        self.shut_down = False

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | None = None, **kwargs: Any) -> ToneEngine:
        return cls(**kwargs)

    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        voice = request.voice or self.capabilities.default_voice
        if request.voice_profile is None and voice not in self.capabilities.voices:
            raise VoiceNotFoundError(voice, self.capabilities.voices)
        pieces: list[str] = []
        for text in request.texts():
            pieces += [p for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p]
        segments = [SegmentWorkItem(request.request_id, i, p, "en", payload=len(p)) for i, p in enumerate(pieces)]
        base = 200.0 if voice == "low" else 400.0
        if request.voice_profile is not None:
            base = float(request.voice_profile.tensors["base"][0])
        return GenerationContext(request, segments, conditioning=base, sample_rate=SAMPLE_RATE)

    async def process_tokens_to_speech(self, item: SegmentWorkItem, context: GenerationContext) -> AsyncIterator[TTSOutput]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            for c in range(self.chunks_per_segment):
                await asyncio.sleep(self.delays.get(item.index, 0.0))
                if item.index in self.fail_on:
                    raise RuntimeError(f"boom in segment {item.index}")
                n = max(80, 40 * item.payload // self.chunks_per_segment)
                t = np.arange(n) / SAMPLE_RATE
                freq = context.conditioning + 10 * item.index
                yield TTSOutput(0.3 * np.sin(2 * np.pi * freq * t), SAMPLE_RATE, metadata={"segment": item.index, "chunk": c})
        finally:
            self.active -= 1

    async def create_voice(self, name: str, request: TTSRequest) -> VoiceProfile:
        refs = await request.load_speaker_audio(SAMPLE_RATE)
        # "conditioning": the dominant frequency of the reference
        spectrum = np.abs(np.fft.rfft(refs[0].samples))
        base = float(np.argmax(spectrum) * SAMPLE_RATE / len(refs[0].samples))
        return VoiceProfile(name, "tone", {"base": np.array([base], dtype=np.float32)})

    async def shutdown(self) -> None:
        self.shut_down = True


def tone_wav(freq: float, seconds: float = 1.0, sr: int = SAMPLE_RATE) -> bytes:
    """A reference clip for cloning: the tone engine's "voice" is its dominant frequency."""
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, 0.5 * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr), sr, format="WAV")
    return buffer.getvalue()


def dominant_freq(samples: np.ndarray, sr: int) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(samples))) * sr / len(samples))
