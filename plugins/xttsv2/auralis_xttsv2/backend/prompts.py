"""XTTS prompt embeddings built in host memory, for a backend whose engine takes them from there (vLLM).

The prompt is table lookups and one addition (`XTTSGPT.embed_prefix`). Built on the GPU it had to
come back to the host before vLLM could take it: a device-to-host copy that waits for everything
this process queued on the GPU before it (latents passes, HiFi-GAN calls), once per batch of
arriving requests. Built from host copies of the tables it costs ~0.1 ms of CPU per prompt and
never waits on the GPU; the values are the same bits (the lookups copy rows, the addition rounds
the same float sum to the same dtype on either device).

The build runs on the engine's event loop, and every dispatched torch op lets go of the GIL; while
another thread runs Python, getting it back takes at least a switch interval (5 ms). So the build
makes four such ops (allocate, copy the latents in, gather the rows, add the positions) where the
straightforward version makes a dozen; the ids are wrapped in Python (making the index tensor from
a list may let go once more). ``benchmarks/gil_convoy.py`` measures both.
"""

from __future__ import annotations

import torch

from ..model.gpt import XTTSGPT


class HostPrompts:
    def __init__(self, gpt: XTTSGPT) -> None:
        config = gpt.config
        self._start_text, self._stop_text = config.start_text_token, config.stop_text_token
        self._check_length = gpt.check_prompt_text_length  # -> wrapped length; plain Python: keeps the GIL
        with torch.inference_mode():
            start = torch.full((1, 1), config.start_audio_token, device=gpt.mel_embedding.weight.device)
            start_audio = gpt.embed_audio(start, 0)[0].cpu()  # [1, D]: start-audio token at mel position 0
            text = gpt.text_embedding.weight.detach().cpu()
            # the text table with the start-audio row appended: one gather fetches every row after the latents
            self.rows = torch.cat([text, start_audio.to(text.dtype)])
        self._start_audio_row = self.rows.shape[0] - 1
        self.text_positions = gpt.text_pos_embedding.emb.weight.detach().cpu()

    def build(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor) -> torch.Tensor:
        """``cond_latents [1, 32, D]`` (or ``[32, D]``) and raw tokenizer ids ``[L]`` -> the prompt
        ``[32 + L + 3, D]`` on the CPU, equal to ``XTTSGPT.embed_prefix(cond_latents, text_tokens[None])[0]``."""
        ids = text_tokens.tolist()  # keeps the GIL; the wrapping below is plain Python
        wrapped = self._check_length(len(ids))  # [START] ids [STOP]
        if ids and not 0 <= min(ids) <= max(ids) < self._start_audio_row:  # that row is not a text token
            raise ValueError(f"text token ids must lie in [0, {self._start_audio_row}), got {min(ids)}..{max(ids)}")
        cond = cond_latents[0] if cond_latents.dim() == 3 else cond_latents
        rows = torch.tensor([self._start_text, *ids, self._stop_text, self._start_audio_row])
        n_cond = cond.shape[0]
        with torch.inference_mode():
            prompt = torch.empty(n_cond + wrapped + 1, self.rows.shape[1], dtype=self.rows.dtype)
            prompt[:n_cond] = cond  # rounds to the table's dtype as `.to` does
            torch.index_select(self.rows, 0, rows, out=prompt[n_cond:])
            prompt[n_cond:n_cond + wrapped].add_(self.text_positions[:wrapped])
        return prompt
