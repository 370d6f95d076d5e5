"""User settings of the vLLM backend, checked on the CPU before any GPU work starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auralis_core.errors import InvalidRequestError

from ..model.config import XTTSGPTConfig


def kv_bytes_per_token(cfg: XTTSGPTConfig, dtype_bytes: int) -> int:
    """Key + value of every layer for one position."""
    return 2 * cfg.layers * cfg.hidden_size * dtype_bytes


# With the pool given in bytes, vLLM's ``gpu_memory_utilization`` only gates start-up (free memory
# must exceed that share of the GPU); a small share lets several engines and the torch-side models
# share one GPU, each holding what it was given.
BYTES_MODE_STARTUP_FRACTION = 0.01


@dataclass(frozen=True)
class VLLMSettings:
    """``memory``: a float in (0, 1] is vLLM's ``gpu_memory_utilization`` (its share of the whole GPU
    for weights, activations and KV pool); an int > 1 is the KV pool in bytes
    (``kv_cache_memory_bytes``). None: a pool where every one of ``max_batch_size`` sequences fits
    at the model's full length, and nothing more. ``engines`` vLLM engines share the GPU, the
    sequences and the memory split evenly between them: one engine's step is bound by its own
    per-request Python work at hundreds of sequences, and each engine has its own process."""

    memory: float | int | None = None
    enforce_eager: bool = False  # no CUDA graphs (faster start, slower small batches)
    attention_backend: str | None = None  # e.g. "TRITON_ATTN" or "FLEX_ATTENTION" (float32)
    engines: int = 1
    # Prompt positions one vLLM step may prefill. vLLM gives an engine built in-process 2048 (its
    # OpenAI server gets 8192 on GPUs of 70 GB and more): 512 XTTS prompts of ~130 positions then
    # trickle in over 33 steps, and 32 streams over 3 before their first codes.
    max_batched_tokens: int = 8192

    def __post_init__(self) -> None:
        for name, value, least in (("vllm_engines", self.engines, 1), ("vllm_max_batched_tokens", self.max_batched_tokens, 16)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidRequestError(f"{name} must be an integer >= {least}, got {value!r}", name)
        m = self.memory
        if m is None:
            return
        if isinstance(m, bool) or not isinstance(m, (int, float)):
            raise InvalidRequestError(f"vllm_memory must be a fraction or a byte count, got {m!r}", "vllm_memory")
        if isinstance(m, float) and not 0 < m <= 1:
            raise InvalidRequestError(f"vllm_memory as a fraction must be in (0, 1], got {m}", "vllm_memory")
        if isinstance(m, int) and m <= 1:
            raise InvalidRequestError(f"vllm_memory in bytes must be > 1, got {m}", "vllm_memory")

    def sequences_per_engine(self, max_batch_size: int) -> int:
        return -(-max_batch_size // self.engines)

    def memory_kwargs(self, cfg: XTTSGPTConfig, dtype_bytes: int, max_batch_size: int, max_model_len: int
                      ) -> dict[str, Any]:
        """The engine arguments that size one engine's KV pool (``memory`` is the total of all)."""
        if isinstance(self.memory, float):
            return {"gpu_memory_utilization": self.memory / self.engines}
        blocks = -(-max_model_len // 16)  # vLLM allocates 16-position blocks
        pool = (self.memory // self.engines if self.memory
                else self.sequences_per_engine(max_batch_size) * blocks * 16 * kv_bytes_per_token(cfg, dtype_bytes))
        return {"kv_cache_memory_bytes": int(pool), "gpu_memory_utilization": BYTES_MODE_STARTUP_FRACTION}
