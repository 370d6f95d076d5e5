"""`BatchDecoder`: autoregressive decoding of many sequences over one KV cache.

Both `XTTSModel.generate` (one sequence, the reference-faithful path) and the torch backend
(continuous batching) decode through this class, and it runs the GPT's one ``forward``: prefill is
that forward over one sequence's prompt, a decode step is that forward over one new code per active
row. Active sequences occupy rows ``0 .. n-1`` of the cache and the sampler; `release` moves the
last row into a freed one so every step reads contiguous rows.

Batch invariance (opt-in, ``batch_invariant=True``). A row's result then does not depend on which
other rows share its step: attention is computed per row over exactly its own positions, and every
step's matrix products run with a row count that is a multiple of ``row_multiple``, padding with
idle slots. CPU BLAS
kernels work through rows in blocks of 4 and give leftover rows (and products of 1-3 rows) to other
micro-kernels with another summation order; on the x86 CPUs we test, every row of a product whose
row count is a multiple of 4 is identical whatever its position and the row count. The
batch-invariance tests hold this to bit equality. It is off by default on every device because the
padding costs most where batches are small: one row padded to four makes a CPU decode step about 3x
slower (docs/benchmarks.md has the measurement). Off, a request's numbers vary with its batch at the
ulp level, so seeded codes may differ at near-ties; alone, a request is reproducible either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .gpt import XTTSGPT
from .sampling import SamplerBatch, SamplingParams, initial_penalty_ids

CPU_ROW_BLOCK = 4


@dataclass(frozen=True)
class DecodeMode:
    """How decode steps trade batch invariance for speed (see the module docstring)."""

    fused_attention: bool = False
    row_multiple: int = CPU_ROW_BLOCK

    @classmethod
    def for_device(cls, device: torch.device, slots: int, batch_invariant: bool = False) -> DecodeMode:
        """Default: one fused attention kernel and no padding. ``batch_invariant=True`` attends per
        row and pads every step to a multiple of 4 rows on CPU, or to all ``slots`` rows elsewhere (one
        matrix-product shape for every batch)."""
        if not batch_invariant:
            return cls(fused_attention=True, row_multiple=1)
        return cls(fused_attention=False, row_multiple=CPU_ROW_BLOCK if device.type == "cpu" else slots)

    def padded(self, rows: int) -> int:
        return -(-rows // self.row_multiple) * self.row_multiple


class BatchDecoder:
    def __init__(self, gpt: XTTSGPT, slots: int, mode: DecodeMode | None = None) -> None:
        if slots < 1:
            raise ValueError("a decoder needs at least one slot")
        w = gpt.mel_head.weight
        self.gpt, self.slots = gpt, slots
        self.mode = mode or DecodeMode.for_device(w.device, slots)
        cfg = gpt.config
        self.cache = gpt.new_cache(self.mode.padded(slots))
        self.sampler = SamplerBatch(slots, cfg.num_audio_tokens, cfg.stop_audio_token, w.device)
        self.device, self.dtype = w.device, w.dtype
        self.rows = 0
        self._last = [0] * slots  # each row's latest code
        self._count = [0] * slots  # codes each row has generated
        self._initial_ids = initial_penalty_ids(cfg.start_audio_token)

    def prefill(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor, params: SamplingParams,
                generator: torch.Generator | None = None, ignore_stop: bool = False) -> torch.Tensor:
        """Put a new sequence into row ``rows``; returns the ``[1, D]`` hidden state predicting its
        first code (sample it with ``sample(hidden, start=row)``)."""
        if self.rows >= self.slots:
            raise RuntimeError("no free decoder slot")
        row = self.rows
        emb = self.gpt.embed_prefix(cond_latents.to(self.device, self.dtype), text_tokens.to(self.device).long()[None])
        self.cache.reset(row)
        hidden = self.gpt(emb, self.cache.view(row, 1, emb.shape[1]))[:, -1]
        self.sampler.assign(row, params, self._initial_ids, generator, ignore_stop)
        self._count[row] = 0
        self.rows += 1
        return hidden

    def sample(self, hidden: torch.Tensor, start: int = 0) -> list[int]:
        """Codes for rows ``start .. start + len(hidden) - 1`` from their hidden states."""
        codes = self.sampler.sample(self.gpt.mel_logits(hidden), start).tolist()
        for i, code in enumerate(codes, start):
            self._last[i] = code
            self._count[i] += 1
        return codes

    def step(self) -> torch.Tensor:
        """Embed every active row's latest code and run one decode step: ``[n, D]`` hidden states."""
        n = self.rows
        rows = self.mode.padded(n)
        last = self._last[:n] + [0] * (rows - n)
        count = self._count[:n] + [1] * (rows - n)
        codes = torch.tensor(last, device=self.device)[:, None]
        positions = torch.tensor(count, device=self.device)[:, None]  # code t sits at mel position t + 1
        x = self.gpt.embed_audio(codes, positions)
        hidden = self.gpt(x, self.cache.view(0, rows, 1, fused=self.mode.fused_attention))[:n, -1]
        for idle in range(n, rows):  # padding rows leave nothing behind (free rows stay at length 0)
            self.cache.reset(idle)
        return hidden

    def release(self, row: int) -> int | None:
        """Free ``row``; the last active row moves into it. Returns the moved row's old index."""
        last = self.rows - 1
        moved = None
        if row != last:
            self.cache.move(last, row)
            self.sampler.move(last, row)
            self._last[row], self._count[row] = self._last[last], self._count[last]
            moved = last
        self.cache.reset(last)
        self.rows -= 1
        return moved

    def clear(self) -> None:
        """Drop every sequence (after a failed step)."""
        for row in range(self.rows):
            self.cache.reset(row)
        self.rows = 0
