"""Top-level XTTS-v2 model: conditioning, GPT, reference-faithful generate, HiFi-GAN decode.

``XTTSModel.state_dict()`` keys equal those of Coqui's released ``model.pth`` (without the
``gpt.gpt_inference.*`` wrapper keys that only exist after ``init_gpt_for_inference``), so the
checkpoint loads with ``strict=True``.

Hidden states HiFi-GAN decodes
------------------------------
Coqui generates codes ``c_0 .. c_{n-1}`` (the last one is ``stop_audio_token`` when generation
stopped), then runs a *second* teacher-forced pass ``gpt(..., return_latent=True)`` over
``[cond | [START] text [STOP] | <start_audio> c_0 .. c_{n-1} <stop> x4]`` and keeps
``final_norm(ln_f(h))`` at the mel positions ``[:-5]`` -- i.e. the ``n`` positions
``<start_audio>, c_0, .., c_{n-2}``: for every generated code, the hidden state *from which that
code was predicted*. Because attention is causal and positions/embeddings are identical, these are
exactly the ``final_norm`` outputs produced during cached generation at each step (the trailing
stop tokens cannot influence earlier positions). `XTTSModel.generate` therefore collects them in
the decoding loop (`GenerationOutput.hidden_states`, aligned 1:1 with ``codes``) and no second
pass is needed; the parity tests check them against the reference's second pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from auralis_core.errors import InvalidRequestError

from .config import XTTSConfig
from .gpt import XTTSGPT
from .hifigan import HifiDecoder
from .mel import resample, wav_to_mel_cloning
from .decoding import BatchDecoder
from .sampling import SamplingParams

GPT_SAMPLE_RATE = 22050
MIN_COND_SECONDS = 0.33


@dataclass
class GenerationOutput:
    codes: torch.Tensor
    """``[N]`` generated audio codes; ends with ``stop_audio_token`` when generation stopped."""
    hidden_states: torch.Tensor
    """``[N, D]`` ``final_norm`` hidden state that predicted each code (HiFi-GAN input)."""
    stopped: bool


class XTTSModel(nn.Module):
    def __init__(self, config: XTTSConfig) -> None:
        super().__init__()
        self.config = config
        self.gpt = XTTSGPT(config.gpt)
        self.hifigan_decoder = HifiDecoder(config.hifigan)
        self.register_buffer("mel_stats", torch.ones(config.gpt.mel_channels))

    @property
    def device(self) -> torch.device:
        return self.mel_stats.device

    @property
    def dtype(self) -> torch.dtype:
        return self.gpt.mel_head.weight.dtype

    def cast(self, dtype: torch.dtype) -> XTTSModel:
        """Cast GPT and HiFi-GAN to ``dtype``; the speaker encoder and mel statistics stay fp32
        (they run once per voice, and their STFT front-end needs fp32 on every device)."""
        self.gpt.to(dtype)
        self.hifigan_decoder.waveform_decoder.to(dtype)
        return self

    # --- conditioning ---------------------------------------------------------------------
    @torch.inference_mode()
    def get_speaker_embedding(self, audio_22k: torch.Tensor) -> torch.Tensor:
        """``[1, T]`` 22.05 kHz audio -> ``[1, 512, 1]`` unit speaker embedding."""
        wav16 = resample(audio_22k.float(), GPT_SAMPLE_RATE, self.config.hifigan.speaker_encoder_sample_rate)
        return self.hifigan_decoder.speaker_encoder(wav16.to(self.device), l2_norm=True).unsqueeze(-1)

    @torch.inference_mode()
    def get_gpt_cond_latents(self, audio_22k: torch.Tensor, length: float = 30, chunk_length: float = 6
                             ) -> torch.Tensor:
        """Coqui's chunked conditioning: the first ``length`` s (all if <= 0) in ``chunk_length`` s
        pieces; pieces shorter than 0.33 s are skipped; latents are averaged -> ``[1, 32, D]``."""
        if length > 0:
            audio_22k = audio_22k[:, : int(GPT_SAMPLE_RATE * length)]
        step = int(GPT_SAMPLE_RATE * chunk_length)
        if step <= 0:
            raise InvalidRequestError(f"gpt_cond_chunk_len must be > 0, got {chunk_length}", "gpt_cond_chunk_len")
        embs = []
        for i in range(0, audio_22k.shape[1], step):
            chunk = audio_22k[:, i : i + step]
            if chunk.shape[-1] < GPT_SAMPLE_RATE * MIN_COND_SECONDS:
                continue
            mel = wav_to_mel_cloning(chunk, self.mel_stats).to(self.device, self.dtype)
            embs.append(self.gpt.get_style_emb(mel))
        if not embs:
            raise InvalidRequestError(
                f"reference audio too short: at least {MIN_COND_SECONDS:.2f} s is needed for GPT conditioning",
                "speaker_files",
            )
        return torch.stack(embs).mean(dim=0)

    @torch.inference_mode()
    def get_conditioning_latents(
        self,
        audio_22k: torch.Tensor | Sequence[torch.Tensor],
        gpt_cond_len: float = 30,
        gpt_cond_chunk_len: float = 4,
        max_ref_length: float = 30,
        sound_norm_refs: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference audio (22.05 kHz mono, ``[T]`` or ``[1, T]``, one or several clips) ->
        ``(gpt_cond_latents [1, 32, D], speaker_embedding [1, 512, 1])``.

        As the reference: each clip is cut to ``max_ref_length`` s; speaker embeddings are computed
        per clip and averaged; GPT latents come from the clips concatenated (see
        `get_gpt_cond_latents`). Loading, downmixing, resampling to 22.05 kHz and clipping to
        [-1, 1] are the caller's job (Coqui's ``load_audio``).
        """
        clips = [audio_22k] if isinstance(audio_22k, torch.Tensor) else list(audio_22k)
        if not clips:
            raise InvalidRequestError("no reference audio given", "speaker_files")
        prepared, spk = [], []
        for clip in clips:
            clip = clip.float()
            if clip.dim() == 1:
                clip = clip[None]
            if clip.dim() != 2 or clip.shape[0] != 1:
                raise InvalidRequestError(f"reference audio must be mono [T] or [1, T], got {list(clip.shape)}",
                                          "speaker_files")
            clip = clip[:, : int(GPT_SAMPLE_RATE * max_ref_length)]
            if sound_norm_refs:
                clip = clip / clip.abs().max() * 0.75
            spk.append(self.get_speaker_embedding(clip))
            prepared.append(clip)
        latents = self.get_gpt_cond_latents(torch.cat(prepared, dim=-1), gpt_cond_len, gpt_cond_chunk_len)
        return latents, torch.stack(spk).mean(dim=0)

    # --- GPT ------------------------------------------------------------------------------
    @torch.inference_mode()
    def get_logits(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor, audio_codes: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced text logits ``[B, L+2, Vt]`` and mel logits ``[B, N+1, 1026]``."""
        return self.gpt.get_logits(cond_latents.to(self.dtype), text_tokens, audio_codes)

    @torch.inference_mode()
    def generate(
        self,
        cond_latents: torch.Tensor,
        text_tokens: torch.Tensor,
        params: SamplingParams | None = None,
        *,
        max_new_tokens: int | None = None,
        generator: torch.Generator | None = None,
    ) -> GenerationOutput:
        """One sequence, decoded as Coqui's ``GPT.generate`` does, through the same `BatchDecoder`
        (and so the same GPT forward and sampler) as the batching backend.

        ``cond_latents [1, 32, D]``; ``text_tokens [1, L]`` raw tokenizer ids (or ``[L]``).
        ``params`` defaults to the checkpoint's settings; ``max_new_tokens`` to the reference's
        ``max_audio_tokens - 3`` (stop included). Sampling draws from ``generator`` (the global RNG
        if None, like HF).
        """
        from ..options import XTTSOptions

        p = params or SamplingParams.from_options(XTTSOptions(**self.config.option_defaults()))
        cfg = self.config.gpt
        if text_tokens.dim() == 2:
            if text_tokens.shape[0] != 1:
                raise InvalidRequestError("generate() decodes one sequence; batch in the generation backend")
            text_tokens = text_tokens[0]
        if cond_latents.shape[0] != 1:
            raise InvalidRequestError("generate() decodes one sequence; batch in the generation backend")
        limit = cfg.max_generated_tokens if max_new_tokens is None else min(max_new_tokens, cfg.max_generated_tokens)
        decoder = BatchDecoder(self.gpt, slots=1)
        hidden = decoder.prefill(cond_latents, text_tokens, p, generator)
        codes: list[int] = []
        states: list[torch.Tensor] = []
        while True:
            states.append(hidden[0])
            codes.append(decoder.sample(hidden)[0])
            if codes[-1] == cfg.stop_audio_token or len(codes) >= limit:
                break
            hidden = decoder.step()
        return GenerationOutput(torch.tensor(codes), torch.stack(states), codes[-1] == cfg.stop_audio_token)

    @torch.inference_mode()
    def latents_for_codes(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor, codes: torch.Tensor
                          ) -> torch.Tensor:
        """Reference-style second pass: HiFi-GAN latents ``[1, N, D]`` for given codes ``[1, N]``."""
        wrapped = self.gpt.wrap_text(text_tokens.to(self.device))
        start = torch.full((1, 1), self.config.gpt.start_audio_token, device=self.device)
        audio = torch.cat([start, codes.to(self.device).long()[:, :-1]], dim=1) if codes.shape[1] else start[:, :0]
        emb = torch.cat([cond_latents.to(self.device, self.dtype), self.gpt.embed_text(wrapped),
                         self.gpt.embed_audio(audio, 0)], dim=1)
        return self.gpt(emb)[:, cond_latents.shape[1] + wrapped.shape[1]:]

    # --- decoder --------------------------------------------------------------------------
    @torch.inference_mode()
    def decode(self, latents: torch.Tensor, speaker_embedding: torch.Tensor, speed: float = 1.0) -> torch.Tensor:
        """GPT latents ``[B, T, D]`` (or ``[T, D]``) + speaker embedding ``[B, 512, 1]`` -> ``[B, 1, S]`` at 24 kHz.

        ``speed != 1`` stretches the latents linearly first, as the reference's ``length_scale``.
        """
        if latents.dim() == 2:
            latents = latents[None]
        latents = latents.to(self.device, self.dtype)
        if speed != 1.0:
            latents = F.interpolate(latents.transpose(1, 2), scale_factor=1.0 / max(speed, 0.05),
                                    mode="linear").transpose(1, 2)
        return self.hifigan_decoder(latents, speaker_embedding.to(self.device))

    def forward(self, *args, **kwargs):  # pragma: no cover - explicit API only
        raise NotImplementedError("use get_conditioning_latents / generate / decode")
