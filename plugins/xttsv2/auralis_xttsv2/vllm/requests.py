"""One XTTS sequence as a vLLM request: prompt embeddings with the reference's fake prompt ids, and
Auralis sampling parameters mapped one to one onto vLLM's.

Prompt ids: Coqui's ``generate`` runs Hugging Face over ``[1] * n + [start_audio]`` (``n`` prefix
positions), so its repetition penalty sees tokens 1 and 1024 from the first step. The same ids go
to vLLM beside the embeddings, each marked as an embedding position (``prompt_is_token_ids`` all
False): the repetition penalty (`penalty`, fed by vLLM with each request's prompt ids) then sees
exactly those ids and never a stale id of another request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..model.config import XTTSGPTConfig
from ..model.sampling import SamplingParams
from .penalty import PENALTY_ARG


@dataclass(frozen=True)
class SamplingMapping:
    """Keyword arguments for ``vllm.SamplingParams`` (built where vLLM is importable)."""

    kwargs: dict[str, Any]

    def build(self, stream: bool = True) -> Any:
        """``stream``: codes as deltas after every step; otherwise one output when the sequence ends
        (no per-step wake-up of the caller: at hundreds of sequences that is the event loop's time)."""
        from vllm import SamplingParams as VllmSamplingParams
        from vllm.sampling_params import RequestOutputKind

        kind = RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY
        return VllmSamplingParams(output_kind=kind, **self.kwargs)


def prompt_ids(prompt_len: int, start_audio_token: int) -> list[int]:
    """The reference's fake prompt ids: ``[1] * (prompt_len - 1) + [start_audio_token]``."""
    return [1] * (prompt_len - 1) + [start_audio_token]


def embeds_prompt(embeds: torch.Tensor, start_audio_token: int) -> dict[str, Any]:
    """``embeds [P, D]`` (from `XTTSGPT.embed_prefix`) -> a vLLM ``EmbedsPrompt``."""
    n = embeds.shape[0]
    return {
        "prompt_embeds": embeds.detach().cpu(),
        "prompt_token_ids": prompt_ids(n, start_audio_token),
        "prompt_is_token_ids": [False] * n,
    }


def sampling_kwargs(
    params: SamplingParams,
    cfg: XTTSGPTConfig,
    max_new_tokens: int,
    seed: int | None,
    ignore_stop: bool,
) -> SamplingMapping:
    """Auralis `SamplingParams` -> vLLM's, field for field.

    The repetition penalty goes to Auralis' logits processor (`penalty`, through ``extra_args``;
    vLLM's own ``repetition_penalty`` stays 1.0 and its per-step penalty path off), which vLLM runs
    before temperature, top-k and top-p: the order of HF's processors.
    Greedy is temperature 0. ``seed`` None samples from vLLM's batch-wide generator: a seeded request
    gets its own generator, which vLLM's sampler serves one request at a time (a kernel per seeded
    request per step) and which keeps it off the fused top-k/top-p kernel. ``ignore_stop`` keeps the stop code masked for all ``max_new_tokens``
    (``min_tokens``), as the torch backend's ``-inf`` on it. ``length_penalty`` only acts in beam
    search, in the reference too, so it has no vLLM counterpart.
    """
    kw: dict[str, Any] = {
        "max_tokens": max_new_tokens,
        "stop_token_ids": [cfg.stop_audio_token],
        "extra_args": {PENALTY_ARG: params.repetition_penalty},
        "detokenize": False,
        "skip_special_tokens": False,
    }
    if params.do_sample:
        kw.update(temperature=params.temperature, top_k=params.top_k or 0, top_p=params.top_p, seed=seed)
    else:
        kw.update(temperature=0.0)
    if ignore_stop:
        kw["min_tokens"] = max_new_tokens
    return SamplingMapping(kw)
