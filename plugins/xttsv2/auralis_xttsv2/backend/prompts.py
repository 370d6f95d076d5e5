"""XTTS prompt embeddings built in host memory, for a backend whose engine takes them from there (vLLM).

The prompt is table lookups and one addition (`XTTSGPT.embed_prefix`). Built on the GPU it had to
come back to the host before vLLM could take it: a device-to-host copy that waits for everything
this process queued on the GPU before it (latents passes, HiFi-GAN calls), once per batch of
arriving requests. Built from host copies of the tables it costs ~0.1 ms of CPU per prompt and
never waits on the GPU; the values are the same bits (the lookups copy rows, the addition rounds
the same float sum to the same dtype on either device).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model.gpt import XTTSGPT


class HostPrompts:
    def __init__(self, gpt: XTTSGPT) -> None:
        self.gpt = gpt  # for wrap_prompt_text: configuration only, no device work
        self.text = gpt.text_embedding.weight.detach().cpu()
        self.text_positions = gpt.text_pos_embedding.emb.weight.detach().cpu()
        with torch.inference_mode():
            start = torch.full((1, 1), gpt.config.start_audio_token, device=gpt.mel_embedding.weight.device)
            self.start = gpt.embed_audio(start, 0)[0].cpu()  # [1, D]: start-audio token at mel position 0

    @property
    def dtype(self) -> torch.dtype:
        return self.text.dtype

    def build(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor) -> torch.Tensor:
        """``cond_latents [1, 32, D]`` and raw tokenizer ids ``[L]`` -> the prompt ``[32 + L + 3, D]``
        on the CPU, equal to ``XTTSGPT.embed_prefix(cond_latents, text_tokens[None])[0]``."""
        wrapped = self.gpt.wrap_prompt_text(text_tokens.cpu()[None])[0]
        text = F.embedding(wrapped, self.text) + self.text_positions[: wrapped.shape[0]]
        cond = cond_latents.detach().to("cpu", self.dtype).reshape(-1, self.text.shape[1])
        return torch.cat([cond, text, self.start])
