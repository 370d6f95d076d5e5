"""HiFi-GAN latents from a second, teacher-forced GPT pass over generated codes (as the reference).

A backend that samples codes without exposing hidden states (vLLM) gets the latent of code ``i``
-- the ``final_norm`` state at the position that predicted it -- by running the torch GPT over
``prefix, c_0 .. c_{i-1}``. The passes of concurrent sequences run as one right-padded batch (causal attention)
(`MicroBatcher`); a streamed sequence asks for each new window, and gets only that window's rows.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import torch

from ..batching import MicroBatcher
from ..model.gpt import XTTSGPT


@dataclass(frozen=True, eq=False)
class LatentsJob:
    prefix: torch.Tensor  # [P, D] prompt embeddings on the model's device (ends with start-audio)
    codes: tuple[int, ...]  # every code generated so far
    start: int  # first code whose latent is wanted


class LatentsPass:
    """Batched second pass; ``submit(job)`` -> ``[len(codes) - start, D]`` float32 latents on the CPU."""

    def __init__(self, gpt: XTTSGPT, executor: Executor, max_batch: int = 64, max_tokens: int = 65536) -> None:
        self.gpt = gpt
        self.max_tokens = max_tokens
        self.batcher: MicroBatcher[LatentsJob, torch.Tensor] = MicroBatcher(
            self._run, executor, max_batch=max_batch
        )

    async def submit(self, job: LatentsJob) -> torch.Tensor:
        return await self.batcher.submit(job)

    def _embed(self, job: LatentsJob) -> torch.Tensor:
        device = job.prefix.device
        inputs = job.codes[:-1]  # the last code predicts nothing we need
        if not inputs:
            return job.prefix
        codes = torch.tensor(inputs, device=device)[None]
        audio = self.gpt.embed_audio(codes, 1)[0]  # code t at mel position t + 1
        return torch.cat([job.prefix, audio.to(job.prefix.dtype)])

    @torch.inference_mode()
    def _run(self, jobs: list[LatentsJob]) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        group: list[LatentsJob] = []
        tokens = 0
        for job in jobs:  # bound one forward's activations by a token budget
            length = job.prefix.shape[0] + len(job.codes) - 1
            if group and (len(group) + 1) * max(tokens, length) > self.max_tokens:
                out.extend(self._forward(group))
                group, tokens = [], 0
            group.append(job)
            tokens = max(tokens, length)
        if group:
            out.extend(self._forward(group))
        return out

    def _forward(self, jobs: list[LatentsJob]) -> list[torch.Tensor]:
        seqs = [self._embed(job) for job in jobs]
        longest = max(s.shape[0] for s in seqs)
        x = seqs[0].new_zeros(len(seqs), longest, seqs[0].shape[1])
        for i, s in enumerate(seqs):  # right padding: causal attention never lets a real position see it
            x[i, : s.shape[0]] = s
        hidden = self.gpt(x)  # the GPT's cache-less, causal (teacher-forced) forward
        results = []
        for i, (job, s) in enumerate(zip(jobs, seqs)):
            n = len(job.codes)
            first = s.shape[0] - n  # the start-audio position, which predicts c_0 (codes[:-1] follow it)
            results.append(hidden[i, first + job.start: first + n].float().cpu())
        return results
