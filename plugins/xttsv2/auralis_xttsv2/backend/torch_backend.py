"""Native PyTorch backend: continuous batching over the model's `BatchDecoder`.

One worker thread owns the model. Each step it admits waiting sequences into free rows (prefill
alone, then join), runs one decode step for all active rows together and samples every row at
once with its own parameters and generator, then hands codes and hidden states back to the asyncio
side. A finished or cancelled sequence frees its row at once, so a waiting one joins at the next
step. The backend schedules; the decoding itself (forward, cache, sampler) is the model's, the
same code `XTTSModel.generate` runs for one sequence.
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

from auralis_core.errors import GenerationError

from ..model.decoding import BatchDecoder, DecodeMode
from ..model.xtts import XTTSModel
from .base import GenerationBackend, GenerationRequest, TokenChunk, chunk_due

log = logging.getLogger("auralis.xttsv2.backend")


@dataclass(eq=False)  # identity semantics: sequences are looked up in the active list
class _Sequence:
    request: GenerationRequest
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue
    generator: torch.Generator
    limit: int
    codes: list[int] = field(default_factory=list)
    pending_codes: list[int] = field(default_factory=list)
    pending_states: list[torch.Tensor] = field(default_factory=list)
    cancelled: bool = False

    def emit(self, item: TokenChunk | BaseException) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # the requesting loop is gone
            self.cancelled = True


class TorchBackend(GenerationBackend):
    def __init__(self, model: XTTSModel, max_batch_size: int = 8, batch_invariant: bool = False) -> None:
        """``batch_invariant=True`` makes every sequence's codes independent of what it is batched
        with, bit for bit, at a cost in speed (see `auralis_xttsv2.model.decoding`)."""
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
        self._stop = model.config.gpt.stop_audio_token
        mode = DecodeMode.for_device(model.device, max_batch_size, batch_invariant)
        self._decoder = BatchDecoder(model.gpt, max_batch_size, mode)
        self._active: list[_Sequence] = []  # row i of the decoder is self._active[i]
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
                self._decoder.clear()
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
        moved = self._decoder.release(index)
        if moved is not None:
            self._active[index] = self._active[moved]
        self._active.pop()

    def _admit(self) -> None:
        while len(self._active) < self.max_batch_size:
            try:
                seq = self._waiting.get_nowait()
            except queue.Empty:
                return
            if seq.cancelled:
                continue
            req = seq.request
            try:
                hidden = self._decoder.prefill(req.cond_latents, req.text_tokens, req.params, seq.generator,
                                               req.ignore_stop)
            except Exception as exc:
                seq.emit(exc if isinstance(exc, GenerationError) else GenerationError(f"XTTS prefill failed: {exc}"))
                continue
            self._active.append(seq)
            self.max_active = max(self.max_active, len(self._active))
            self._record([seq], hidden, start=len(self._active) - 1)

    def _step(self) -> None:
        """One decode step for every active sequence."""
        hidden = self._decoder.step()
        self.steps += 1
        self._record(list(self._active), hidden)

    def _record(self, seqs: list[_Sequence], hidden: torch.Tensor, start: int = 0) -> None:
        """``hidden [B, D]`` predicts the next code of rows ``start ..``; record, emit, retire."""
        codes = self._decoder.sample(hidden, start)
        finished: list[_Sequence] = []
        for i, (seq, code) in enumerate(zip(seqs, codes)):
            req = seq.request
            seq.codes.append(code)
            seq.pending_codes.append(code)
            seq.pending_states.append(hidden[i])
            stopped = code == self._stop
            done = stopped or len(seq.codes) >= seq.limit
            pending = len(seq.pending_codes)
            if done or chunk_due(req, pending, len(seq.codes) - pending):
                seq.emit(TokenChunk(
                    torch.tensor(seq.pending_codes), torch.stack(seq.pending_states).float().cpu(), done, stopped,
                ))
                seq.pending_codes, seq.pending_states = [], []
            if done:
                finished.append(seq)
        for seq in finished:
            if seq in self._active:
                self._release(self._active.index(seq))
