"""vLLM backend: the XTTS GPT served by vLLM's ``AsyncLLM`` (continuous batching, paged KV cache,
CUDA graphs), latents from a batched second pass of the torch GPT.

Per sequence: the prompt embeddings (conditioning latents, text, start-audio token) are built in
host memory (`HostPrompts`); vLLM samples codes from them with the reference's fake prompt ids and
the mapped sampling parameters, handing out deltas as they come; every ``stream_every`` codes (or
at the end) the window's latents come from `LatentsPass`, batched with every other sequence's
windows, and stay on the GPU. Closing the generator (a cancelled request, a client gone) aborts
the vLLM request at once.

vLLM's engine core runs in its own process (``AsyncLLM`` always does); it loads the GPT from a
directory written by `export_for_vllm` and finds the model class through the
``vllm.general_plugins`` entry point. With ``VLLMSettings.engines > 1`` several engines share the
GPU, each with its own process and its share of the sequences and memory; a new sequence goes to
the engine with the fewest in flight.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from auralis_core.errors import EngineLoadError, GenerationError

from ..model.xtts import XTTSModel
from ..vllm.export import Geometry, export_for_vllm
from ..vllm.penalty import PROCESSOR as PENALTY_PROCESSOR
from ..vllm.requests import embeds_prompt, sampling_kwargs
from .base import GenerationBackend, GenerationRequest, TokenChunk, chunk_due
from .latents import LatentsJob, LatentsPass
from .prompts import HostPrompts
from .vllm_settings import VLLMSettings

log = logging.getLogger("auralis.xttsv2.vllm")


@dataclass(frozen=True)
class FirstWindow:
    """Seconds from ``generate()`` to each step of a streamed sequence's first window. ``queued``,
    ``scheduled`` and ``first_code`` are vLLM's engine-core timestamps (``time.monotonic``, one clock
    for every process of the machine); NaN where vLLM keeps no stats."""

    prompt: float  # prompt embeddings built (this process)
    queued: float  # the engine core has the request (prompt embeddings sent over IPC)
    scheduled: float  # first scheduled: its prefill step
    first_code: float  # its first code sampled
    codes: float  # the window's codes reached this process
    latents: float  # their latents pass queued on the GPU (HiFi-GAN's call waits for it to finish)


@dataclass
class VLLMStats:
    """Counters for profiling where a run's time goes (read by `benchmarks/xttsv2_gpu.py`)."""

    sequences: int = 0
    codes: int = 0
    prefix_s: float = 0.0  # building prompt embeddings (host memory, event loop)
    last_codes_at: float = 0.0  # time.monotonic() when vLLM last finished a sequence
    first_window: list[FirstWindow] = field(default_factory=list)  # per streamed sequence
    routed: list[int] = field(default_factory=list)  # sequences sent to each engine


class VLLMBackend(GenerationBackend):
    def __init__(self, model: XTTSModel, max_batch_size: int = 64, settings: VLLMSettings | None = None) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        self.model = model
        self.settings = settings or VLLMSettings()
        self.config = model.config.gpt
        self.geometry = Geometry.of(self.config)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auralis-xtts-latents")
        self.latents = LatentsPass(model.gpt, self._executor)
        self.host_prompts = HostPrompts(model.gpt)
        self._dir = Path(tempfile.mkdtemp(prefix="auralis-xtts-vllm-"))
        self._closing = False
        self.stats = VLLMStats()
        self.engines: list[Any] = []
        try:
            from ..vllm.plugin import register

            export_for_vllm(self.model, self._dir)
            register()
            for _ in range(self.settings.engines):  # one after another: each checks the memory left
                self.engines.append(self._start_engine(max_batch_size, seed=len(self.engines)))
        except Exception as exc:
            for engine in self.engines:
                engine.shutdown()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._executor.shutdown(wait=False)
            raise EngineLoadError(f"vLLM failed to start the XTTS GPT: {exc}") from exc
        self._in_flight = [0] * len(self.engines)
        self.stats.routed = [0] * len(self.engines)
        # What start-up left (vLLM, torch, compiled graphs: millions of objects) is never garbage;
        # a full collection walks it and stops every thread, the event loop every request runs on
        # included (0.2-0.7 s loop stalls at hundreds of sequences, H100, 2026-12-07, most likely
        # that). vLLM's own server freezes it the same way.
        # `shutdown` thaws it: frozen cycles (this engine's among them) are never collected.
        gc.collect()
        gc.freeze()

    @property
    def engine(self) -> Any:
        """The first (usually only) vLLM engine."""
        return self.engines[0]

    def _start_engine(self, max_batch_size: int, seed: int) -> Any:
        """One engine with its share of ``max_batch_size`` (all engines' total) and of the memory;
        ``seed`` its batch generator's (distinct per engine: unseeded requests must not repeat each other)."""
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        s = self.settings
        dtype_bytes = torch.tensor([], dtype=self.model.dtype).element_size()
        extra: dict[str, Any] = {}
        if s.attention_backend:
            extra["attention_config"] = {"backend": s.attention_backend}
        args = AsyncEngineArgs(
            model=str(self._dir),
            skip_tokenizer_init=True,
            enable_prompt_embeds=True,
            dtype=str(self.model.dtype).removeprefix("torch."),
            max_model_len=self.geometry.max_model_len,
            max_num_seqs=s.sequences_per_engine(max_batch_size),
            enable_prefix_caching=False,
            max_num_batched_tokens=s.max_batched_tokens,
            enforce_eager=s.enforce_eager,
            seed=seed,
            logits_processors=[PENALTY_PROCESSOR],  # the repetition penalty, on the GPU
            **s.memory_kwargs(self.config, dtype_bytes, max_batch_size, self.geometry.max_model_len),
            **extra,
        )
        # Built on a thread with no running event loop: AsyncLLM binds its output handler to the loop
        # it finds, and must bind to the one that calls generate (the TTS facade's engine loop).
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(AsyncLLM.from_engine_args, args).result()

    # --- one sequence --------------------------------------------------------------------------
    def _prompt(self, request: GenerationRequest) -> torch.Tensor:
        """The prompt in host memory, where vLLM takes it from; on the event loop: table lookups
        only, nothing that waits for the GPU (the latents pass copies it up on its own thread)."""
        start = time.monotonic()
        prompt = self.host_prompts.build(request.cond_latents, request.text_tokens)  # inference mode inside
        self.stats.prefix_s += time.monotonic() - start
        return prompt

    async def generate(self, request: GenerationRequest) -> AsyncIterator[TokenChunk]:
        if self._closing:
            raise GenerationError("the XTTS backend is shut down")
        cfg = self.config
        limit = cfg.max_generated_tokens if request.max_new_tokens is None else min(
            request.max_new_tokens, cfg.max_generated_tokens
        )
        limit = max(1, limit)
        t0 = time.monotonic()
        prompt = self._prompt(request)
        t_prompt = time.monotonic() - t0
        # unseeded: vLLM's batch generator (a per-request generator costs a kernel per step each)
        params = sampling_kwargs(request.params, cfg, limit, request.seed, request.ignore_stop).build(
            stream=bool(request.stream_every))
        self.stats.sequences += 1
        request_id = uuid.uuid4().hex
        slot = min(range(len(self.engines)), key=self._in_flight.__getitem__)
        engine = self.engines[slot]
        self._in_flight[slot] += 1
        self.stats.routed[slot] += 1
        codes: list[int] = []
        emitted = 0
        finished = False
        try:
            async for out in engine.generate(embeds_prompt(prompt, cfg.start_audio_token), params, request_id):
                completion = out.outputs[0]
                codes.extend(int(c) for c in completion.token_ids)
                stopped = completion.finish_reason == "stop"
                if stopped and (not codes or codes[-1] != cfg.stop_audio_token):
                    codes.append(cfg.stop_audio_token)  # vLLM reports the stop id apart from the output
                finished = out.finished
                if finished:
                    self.stats.codes += len(codes)
                    self.stats.last_codes_at = time.monotonic()
                due = chunk_due(request, len(codes) - emitted, emitted)
                if (finished or due) and len(codes) > emitted:
                    t_codes = time.monotonic() - t0
                    latents = await self.latents.submit(LatentsJob(prompt, tuple(codes), emitted))
                    if request.stream_every and not emitted and len(self.stats.first_window) < 4096:
                        self.stats.first_window.append(_first_window(out, t0, t_prompt, t_codes))
                    chunk = TokenChunk(torch.tensor(codes[emitted:]), latents, finished, stopped)
                    emitted = len(codes)
                    yield chunk
                if finished:
                    return
        except GenerationError:
            raise
        except Exception as exc:
            raise GenerationError(f"XTTS generation (vLLM) failed: {exc}") from exc
        finally:
            self._in_flight[slot] -= 1
            if not finished:  # cancelled or closed early: vLLM must stop working on it now
                await engine.abort(request_id)

    async def shutdown(self) -> None:
        self._closing = True
        for engine in getattr(self, "engines", ()):
            await asyncio.to_thread(engine.shutdown)
        self._executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._dir, ignore_errors=True)
        gc.unfreeze()  # the engine's own cycles (model, GPU weights) become collectable again

    def unfinished_requests(self) -> int:
        """Requests vLLM still tracks (observability; 0 once every caller is done or gone)."""
        return sum(int(e.output_processor.get_num_unfinished_requests()) for e in self.engines)


def _first_window(out: Any, t0: float, prompt: float, codes: float) -> FirstWindow:
    m = getattr(out, "metrics", None)

    def since(ts: float) -> float:
        return ts - t0 if m is not None and ts else float("nan")

    return FirstWindow(prompt, since(getattr(m, "queued_ts", 0.0)), since(getattr(m, "scheduled_ts", 0.0)),
                       since(getattr(m, "first_token_ts", 0.0)), codes, time.monotonic() - t0)
