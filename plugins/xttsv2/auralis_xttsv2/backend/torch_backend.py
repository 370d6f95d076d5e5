"""Native PyTorch backend: batched autoregressive decoding with continuous batching.

One worker thread owns the model. Each step it admits waiting sequences into free slots
(prefill alone, then join), runs one decode step for all active sequences together, samples each
sequence with its own parameters and generator, and hands codes and hidden states back to the
asyncio side. A finished or cancelled sequence frees its slot at once, so a waiting sequence joins
at the next step.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from auralis_core.errors import GenerationError

from ..model.sampling import initial_penalty_ids, process_logits, select_next
from ..model.xtts import XTTSModel
from .base import GenerationBackend, GenerationRequest, TokenChunk
from .kv_cache import SlotKVCache

log = logging.getLogger("auralis.xttsv2.backend")


@dataclass(eq=False)  # identity semantics: sequences are looked up in the active list
class _Sequence:
    request: GenerationRequest
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue
    generator: torch.Generator
    limit: int
    seen: list[int] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    pending_codes: list[int] = field(default_factory=list)
    pending_states: list[torch.Tensor] = field(default_factory=list)
    last_hidden: torch.Tensor | None = None  # [D] hidden state predicting the next code
    cancelled: bool = False

    def emit(self, item: TokenChunk | BaseException) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # the requesting loop is gone
            self.cancelled = True


class TorchBackend(GenerationBackend):
    def __init__(self, model: XTTSModel, max_batch_size: int = 8) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        self.model = model
        self.max_batch_size = max_batch_size
        if model.device.type == "cuda":
            # cuDNN attention builds an execution plan for every new KV length it meets: in half
            # precision that cost ~50 ms per step until every length was seen (3x slower decoding
            # on an H100 for the first requests). The other fused kernels have no such warm-up.
            # PyTorch's SDPA backend switches are process-wide (``sdpa_kernel`` only scopes them
            # in time, not to a thread), so this is said once, for the process, here.
            torch.backends.cuda.enable_cudnn_sdp(False)
        cfg = model.config.gpt
        self._gpt = model.gpt
        self._stop = cfg.stop_audio_token
        self._initial_seen = initial_penalty_ids(cfg.start_audio_token)
        heads = cfg.num_heads
        self._cache = SlotKVCache(
            cfg.layers, heads, cfg.hidden_size // heads, max_batch_size, model.device, model.dtype
        )
        self._active: list[_Sequence] = []
        self._waiting: queue.Queue[_Sequence] = queue.Queue()
        self._wake = threading.Event()
        self._closing = False
        self.steps = 0  # decode steps run (observability / tests)
        self.max_active = 0
        self._thread = threading.Thread(target=self._run, name="auralis-xtts-gpt", daemon=True)
        self._thread.start()

    # --- asyncio side ----------------------------------------------------------------------------
    async def generate(self, request: GenerationRequest) -> AsyncIterator[TokenChunk]:
        if self._closing:
            raise GenerationError("the XTTS backend is shut down")
        cfg = self.model.config.gpt
        limit = cfg.max_generated_tokens if request.max_new_tokens is None else min(
            request.max_new_tokens, cfg.max_generated_tokens
        )
        seed = request.seed if request.seed is not None else random.getrandbits(63)
        seq = _Sequence(
            request, asyncio.get_running_loop(), asyncio.Queue(),
            # on the model's device: torch.multinomial needs a generator where the probabilities are
            torch.Generator(device=self.model.device).manual_seed(seed), max(1, limit),
        )
        self._waiting.put(seq)
        self._wake.set()
        try:
            while True:
                item = await seq.out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finished:
                    return
        finally:
            seq.cancelled = True  # the worker drops it at its next step
            self._wake.set()

    async def shutdown(self) -> None:
        self._closing = True
        self._wake.set()
        await asyncio.to_thread(self._thread.join, 30)
        self._fail_waiting()  # a sequence queued while the worker was exiting

    # --- worker thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        torch.set_grad_enabled(False)
        while not self._closing:
            self._drop_cancelled()
            self._admit()
            if not self._active:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            try:
                self._step()
            except Exception as exc:  # fail the sequences in flight, keep the worker alive
                log.exception("XTTS decode step failed")
                for seq in self._active:
                    seq.emit(GenerationError(f"XTTS generation failed: {exc}"))
                self._active.clear()
        # nothing may wait forever: fail what is in flight and what never got a slot
        for seq in self._active:
            seq.emit(GenerationError("the XTTS backend shut down"))
        self._active.clear()
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        while True:
            try:
                self._waiting.get_nowait().emit(GenerationError("the XTTS backend shut down"))
            except queue.Empty:
                return

    def _drop_cancelled(self) -> None:
        for i in reversed(range(len(self._active))):
            if self._active[i].cancelled:
                self._release(i)

    def _release(self, index: int) -> None:
        last = len(self._active) - 1
        if index != last:
            self._cache.move(last, index)
            self._active[index] = self._active[last]
        self._active.pop()

    def _admit(self) -> None:
        while len(self._active) < self.max_batch_size:
            try:
                seq = self._waiting.get_nowait()
            except queue.Empty:
                return
            if seq.cancelled:
                continue
            try:
                self._prefill(seq, len(self._active))
            except Exception as exc:
                seq.emit(exc if isinstance(exc, GenerationError) else GenerationError(f"XTTS prefill failed: {exc}"))
                continue
            self._active.append(seq)
            self.max_active = max(self.max_active, len(self._active))
            self._sample([seq], seq.last_hidden[None])

    def _prefill(self, seq: _Sequence, slot: int) -> None:
        req = seq.request
        device = self.model.device
        text = req.text_tokens.to(device).long()[None]
        emb = self._gpt.embed_prefix(req.cond_latents.to(device, self.model.dtype), text)  # [1, P, D]
        h, presents = self._gpt.gpt(emb, use_cache=True)
        self._cache.write_prefill(slot, presents)
        seq.last_hidden = self._gpt.final_norm(h[0, -1])
        seq.seen = list(self._initial_seen)

    def _step(self) -> None:
        """One decode step for every active sequence: embed last codes, attend, sample."""
        seqs = self._active
        n = len(seqs)
        device = self.model.device
        cache = self._cache
        codes = torch.tensor([s.codes[-1] for s in seqs], device=device)[:, None]  # [B, 1]
        positions = torch.tensor([len(s.codes) for s in seqs], device=device)[:, None]  # code t at mel pos t+1
        x = self._gpt.embed_audio(codes, positions)  # [B, 1, D]
        lengths = cache.lengths[:n]
        cache.ensure(int(lengths.max()) + 1)
        rows = torch.arange(n, device=device)
        span = int(lengths.max()) + 1
        mask = (torch.arange(span, device=device)[None, :] <= lengths[:, None])[:, None, None, :]  # [B,1,1,S]
        for layer, block in enumerate(self._gpt.gpt.h):
            attn = block.attn
            d = x.shape[-1]
            q, k, v = attn.c_attn(block.ln_1(x)).split(d, dim=-1)
            q, k, v = (t.view(n, 1, attn.num_heads, attn.head_dim).transpose(1, 2) for t in (q, k, v))  # [B,H,1,hd]
            keys, values = cache.keys[layer], cache.values[layer]
            keys[rows, :, lengths] = k[:, :, 0]
            values[rows, :, lengths] = v[:, :, 0]
            out = F.scaled_dot_product_attention(q, keys[:n, :, :span], values[:n, :, :span], attn_mask=mask)
            x = x + attn.c_proj(out.transpose(1, 2).reshape(n, 1, d))
            x = x + block.mlp(block.ln_2(x))
        cache.lengths[:n] += 1
        hidden = self._gpt.final_norm(self._gpt.gpt.ln_f(x))[:, 0]  # [B, D]
        self.steps += 1
        self._sample(list(seqs), hidden)

    def _sample(self, seqs: list[_Sequence], hidden: torch.Tensor) -> None:
        """``hidden [B, D]`` predicts each sequence's next code; record, emit, retire finished ones."""
        logits = self._gpt.mel_logits(hidden).float()  # [B, V]
        finished: list[_Sequence] = []
        for i, seq in enumerate(seqs):
            req = seq.request
            seen = torch.tensor([seq.seen], device=logits.device)
            scores = process_logits(logits[i : i + 1], seen, req.params)
            if req.ignore_stop:
                scores[:, self._stop] = -float("inf")
            code = int(select_next(scores, req.params, seq.generator)[0])
            seq.codes.append(code)
            seq.seen.append(code)
            seq.pending_codes.append(code)
            seq.pending_states.append(hidden[i])
            stopped = code == self._stop
            done = stopped or len(seq.codes) >= seq.limit
            if done or (req.stream_every and len(seq.pending_codes) >= req.stream_every):
                seq.emit(TokenChunk(
                    torch.tensor(seq.pending_codes), torch.stack(seq.pending_states).float().cpu(), done, stopped,
                ))
                seq.pending_codes, seq.pending_states = [], []
            if done:
                finished.append(seq)
        for seq in finished:
            if seq in self._active:
                self._release(self._active.index(seq))
