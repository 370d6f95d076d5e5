"""HiFi-GAN latents from a second, teacher-forced GPT pass over generated codes (as the reference).

A backend that samples codes without exposing hidden states (vLLM) gets the latent of code ``i``
-- the ``final_norm`` state at the position that predicted it -- by running the torch GPT over
``prefix, c_0 .. c_{i-1}``. The passes of concurrent sequences run as one right-padded batch (causal attention)
(`MicroBatcher`); a streamed sequence asks for each new window, and gets only that window's rows.

The prompts come from the host (`HostPrompts`), and a batch's prompts and codes go up in one copy
each, from pinned memory, on this pass's thread: nothing on the way to vLLM touches the GPU, so no
request's event loop waits for it. (A copy from pageable memory, even ``non_blocking``, may wait for
the work queued before it on the stream, HiFi-GAN calls among them: CUDA allows that.) The rows
stay on the GPU, in the model's dtype, for HiFi-GAN to read there. Nothing here reads the GPU back:
positions are checked on the host (`LearnedPositionEmbeddings.span`), so a pass is queued in about
the time its kernels take to launch, and the first wait is the audio copy that needs its result
anyway.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import torch

from ..batching import MicroBatcher
from ..model.gpt import XTTSGPT


@dataclass(frozen=True, eq=False)
class LatentsJob:
    prefix: torch.Tensor  # [P, D] prompt embeddings (ends with start-audio), on the host or the model's device
    codes: tuple[int, ...]  # every code generated so far
    start: int  # first code whose latent is wanted


class LatentsPass:
    """Batched second pass; ``submit(job)`` -> ``[len(codes) - start, D]`` latents on the GPT's device."""

    def __init__(self, gpt: XTTSGPT, executor: Executor, max_batch: int = 64, max_tokens: int = 65536) -> None:
        self.gpt = gpt
        self.max_tokens = max_tokens
        self.batcher: MicroBatcher[LatentsJob, torch.Tensor] = MicroBatcher(
            self._run, executor, max_batch=max_batch
        )

    async def submit(self, job: LatentsJob) -> torch.Tensor:
        return await self.batcher.submit(job)

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
        device = self.gpt.mel_embedding.weight.device
        prefixes = _upload([job.prefix for job in jobs], device).split([job.prefix.shape[0] for job in jobs])
        inputs = [job.codes[:-1] for job in jobs]  # the last code predicts nothing we need
        longest = max(len(seq) for seq in inputs)
        codes = torch.tensor([list(seq) + [0] * (longest - len(seq)) for seq in inputs], dtype=torch.long)
        audio = self.gpt.embed_audio(_upload([codes], device), 1) if longest else None  # code t at t + 1
        lengths = [job.prefix.shape[0] + len(seq) for job, seq in zip(jobs, inputs)]
        x = prefixes[0].new_zeros(len(jobs), max(lengths), prefixes[0].shape[1])
        for i, (prefix, seq) in enumerate(zip(prefixes, inputs)):  # right padding: causal attention never lets a real position see it
            p = prefix.shape[0]
            x[i, :p] = prefix
            if seq:
                x[i, p: p + len(seq)] = audio[i, : len(seq)]
        hidden = self.gpt(x)  # the GPT's cache-less, causal (teacher-forced) forward
        rows = []
        for i, (job, length) in enumerate(zip(jobs, lengths)):
            first = length - len(job.codes)  # the start-audio position, which predicts c_0
            rows.append(hidden[i, first + job.start: first + len(job.codes)])
        flat = torch.cat(rows)  # one compact tensor: the batch's activations are not kept alive by views
        return list(flat.split([r.shape[0] for r in rows]))


def _upload(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """``tensors`` joined along dim 0 on ``device``: one copy, from pinned memory when it goes host
    to GPU (truly asynchronous: queued behind this thread's GPU work, not waiting for it)."""
    if all(t.device == device for t in tensors):
        return torch.cat(tensors)
    flat = torch.cat([t.cpu() for t in tensors])  # host prompts (a device one among them comes back first)
    if device.type == "cuda":
        flat = flat.pin_memory()
    return flat.to(device, non_blocking=True)
