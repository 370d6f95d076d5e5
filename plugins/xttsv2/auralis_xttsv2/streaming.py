"""Incremental HiFi-GAN decoding of GPT latents at constant cost per chunk.

HiFi-GAN's input is the latent sequence stretched from the code rate to its own frame rate
(linear interpolation, see `HifiDecoder.forward`). That stretch is local, so the frames of the
first ``m`` codes equal those of the full sequence except near the end; past it, the generator is
a stack of convolutions, so a window of frames with enough context on both sides reproduces the
full decode exactly. `StreamingDecoder` therefore

1. stretches the latents received so far (cheap: linear interpolation of a ``[T, D]`` matrix),
2. decodes only the frames not yet emitted plus ``context_frames`` on the left and the frames
   still held back on the right,
3. emits samples up to the last frame that no future latent can change, crossfading a few
   samples over each seam to hide the last floating-point differences.

The cost of a chunk depends on the chunk size and the context only, not on how much audio has
been produced before.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .model.xtts import XTTSModel


class StreamingDecoder:
    def __init__(
        self,
        model: XTTSModel,
        speaker_embedding: torch.Tensor,  # [1, 512, 1]
        chunk_codes: int = 24,
        context_frames: int = 48,
        first_chunk_codes: int | None = None,
        holdback_codes: int = 4,
        crossfade_samples: int = 256,
        speed: float = 1.0,
    ) -> None:
        if chunk_codes < 1 or context_frames < 0 or holdback_codes < 1:
            raise ValueError("chunk_codes and holdback_codes must be >= 1, context_frames >= 0")
        c = model.config.hifigan
        self.model = model
        # moved to the GPU (in HiFi-GAN's dtype, once) by the first `plan`, which runs beside
        # HiFi-GAN: a decoder is built on the event loop, and a copy there may wait for queued GPU work
        self._speaker_source = speaker_embedding
        self._speaker: torch.Tensor | None = None
        self.chunk_codes = chunk_codes
        self.first_chunk_codes = first_chunk_codes or chunk_codes  # the backend's ``stream_first``
        self.context_frames = context_frames
        self.holdback_codes = holdback_codes
        self.crossfade = crossfade_samples
        self.speed = speed
        self.hop = 1
        for u in c.upsample_rates:
            self.hop *= u  # samples per HiFi-GAN frame
        self._scale1 = c.ar_mel_length_compression / c.output_hop_length
        self._scale2 = c.output_sample_rate / c.input_sample_rate if c.output_sample_rate != c.input_sample_rate else 1.0
        self._latents: list[torch.Tensor] = []  # [n, D] pieces
        self._count = 0
        self._emitted_frames = 0
        self._decoded_codes = 0
        self._tail: torch.Tensor | None = None  # samples decoded past the last emitted frame

    @property
    def frames_per_code(self) -> float:
        return self._scale1 * self._scale2 / self.speed

    def _frames(self, latents: torch.Tensor) -> torch.Tensor:
        """``[T, D]`` latents -> HiFi-GAN input frames ``[1, D, F]`` (the reference's stretches)."""
        z = latents.T[None].to(self.model.device, self.model.dtype, non_blocking=True)  # on the GPU already (vLLM)
        if self.speed != 1.0:
            z = F.interpolate(z, scale_factor=1.0 / max(self.speed, 0.05), mode="linear")
        z = F.interpolate(z, scale_factor=[self._scale1], mode="linear")
        if self._scale2 != 1.0:
            z = F.interpolate(z, scale_factor=[self._scale2], mode="linear")
        return z

    @torch.inference_mode()
    def push(self, hidden_states: torch.Tensor, final: bool = False) -> torch.Tensor | None:
        """Add latents ``[n, D]``; returns new audio samples ``[S]`` when a chunk is ready."""
        window = self.plan(hidden_states, final)
        if not isinstance(window, DecodeWindow):
            return window
        return self.finish(window, vocode(self.model, [window])[0])

    @torch.inference_mode()
    def plan(self, hidden_states: torch.Tensor, final: bool = False) -> DecodeWindow | torch.Tensor | None:
        """Add latents ``[n, D]``; returns the HiFi-GAN window to decode when a chunk is ready
        (None: not yet; an empty tensor: nothing new to emit). Decode it with `vocode` (batched
        with other decoders' windows) and pass the waveform to `finish`."""
        if hidden_states.numel():
            self._latents.append(hidden_states)
            self._count += hidden_states.shape[0]
        # a chunk every ``chunk_codes`` codes, in step with the backend's ``stream_every``; the last
        # ``holdback_codes`` of each wait for the next chunk (their frames may still change)
        due = self.first_chunk_codes if self._emitted_frames == 0 else self.chunk_codes
        if not final and self._count - self._decoded_codes < due:
            return None
        if self._count == 0:
            return torch.zeros(0)
        latents = torch.cat(self._latents)
        self._latents = [latents]
        frames = self._frames(latents)  # [1, D, F] for all codes so far (interpolation only)
        total = frames.shape[-1]
        # frames beyond this may still change when more latents arrive (interpolation at the end)
        stable = total if final else max(0, int((self._count - self.holdback_codes) * self.frames_per_code) - 1)
        if stable <= self._emitted_frames:
            return torch.zeros(0)
        start = max(0, self._emitted_frames - self.context_frames)
        right = total if final else min(total, stable + self.context_frames)
        if self._speaker is None:
            self._speaker = self._speaker_source.to(self.model.device, self.model.dtype)
        return DecodeWindow(
            frames[..., start:right], self._speaker,
            lo=(self._emitted_frames - start) * self.hop, hi=(stable - start) * self.hop, stable=stable, final=final,
        )

    def finish(self, window: DecodeWindow, wav: torch.Tensor) -> torch.Tensor:
        """The window's waveform ``[S]`` -> the new samples to emit (crossfaded over the seam)."""
        out = wav[window.lo : window.hi]
        if self._tail is not None and self.crossfade:
            n = min(self.crossfade, len(self._tail), len(out))
            ramp = torch.linspace(0.0, 1.0, n + 2, device=out.device)[1:-1]
            out = out.clone()
            out[:n] = self._tail[:n] * (1 - ramp) + out[:n] * ramp
        self._tail = wav[window.hi : window.hi + self.crossfade].clone() if not window.final else None
        self._emitted_frames = window.stable
        self._decoded_codes = self._count
        return out


@dataclass(eq=False)
class DecodeWindow:
    """HiFi-GAN input of one chunk of one stream, and where its new samples lie in the output."""

    frames: torch.Tensor  # [1, D, F]
    speaker: torch.Tensor  # [1, 512, 1]
    lo: int
    hi: int
    stable: int
    final: bool

    @property
    def length(self) -> int:
        return self.frames.shape[-1]


@torch.inference_mode()
def vocode(model: XTTSModel, windows: list[DecodeWindow], max_frames: int | None = None) -> list[torch.Tensor]:
    """HiFi-GAN on windows of equal frame count (streams of many requests) -> ``[S]`` each, in calls
    of at most ``max_frames`` frames together (at least one window): activations grow with the frames
    of a call (~80 KB per frame in bfloat16, `benchmarks/xttsv2_hifigan_memory.py`), the GPU's
    efficiency stops growing long before."""
    if len({w.length for w in windows}) != 1:
        raise ValueError("vocode batches windows of one length; group them by DecodeWindow.length")
    per_call = len(windows) if max_frames is None else max(1, max_frames // windows[0].length)
    out: list[torch.Tensor] = []
    for i in range(0, len(windows), per_call):
        group = windows[i: i + per_call]
        frames = torch.cat([w.frames for w in group])
        speakers = torch.cat([w.speaker for w in group])
        wav = model.hifigan_decoder.waveform_decoder(frames, speakers)[:, 0].float().cpu()  # one copy per call
        out.extend(wav.unbind(0))
    return out
