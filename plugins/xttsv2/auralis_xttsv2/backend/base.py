"""The interface every XTTS generation backend implements.

A backend turns (conditioning latents, text tokens, sampling parameters) into audio codes plus
the ``final_norm`` hidden state that predicted each code -- the latents HiFi-GAN decodes -- and
hands them out incrementally so the engine can start decoding audio before the sequence ends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

import torch

from ..model.sampling import SamplingParams


@dataclass
class GenerationRequest:
    """One sequence to generate: a sentence of one request. The backend builds the prompt
    ``[cond latents | [START] text [STOP] | <start_audio>]`` itself, so a vLLM backend can pass the
    same prefix as prompt embeddings."""

    cond_latents: torch.Tensor  # [1, 32, D]
    text_tokens: torch.Tensor  # [L] raw tokenizer ids (no [START]/[STOP])
    params: SamplingParams
    max_new_tokens: int | None = None  # None: the model's limit (stop token included)
    seed: int | None = None  # per-sequence generator: results do not depend on batch composition
    stream_every: int = 0  # hand out a chunk every N codes (0: only when finished)
    stream_first: int = 0  # the first chunk after N codes (0: after stream_every): earlier first audio
    ignore_stop: bool = False  # benchmarks: force exactly max_new_tokens codes


@dataclass
class TokenChunk:
    """New codes of one sequence with their hidden states (the HiFi-GAN input), so audio can be
    decoded as soon as a chunk exists and no second GPT pass is needed."""

    codes: torch.Tensor  # [n] new codes (may end with the stop token)
    hidden_states: torch.Tensor  # [n, D] the hidden state that predicted each code (device and dtype: the backend's)
    finished: bool
    stopped: bool  # finished because the stop token was generated


def chunk_due(request: GenerationRequest, pending: int, emitted: int) -> bool:
    """Whether ``pending`` new codes make a streamed chunk, ``emitted`` codes having gone out before."""
    if not request.stream_every:
        return False
    size = request.stream_first if request.stream_first and not emitted else request.stream_every
    return pending >= size


class GenerationBackend(ABC):
    """Runs many sequences at once; each caller sees only its own sequence's chunks."""

    @abstractmethod
    def generate(self, request: GenerationRequest) -> AsyncIterator[TokenChunk]:
        """Async generator of chunks for one sequence; closing it early cancels the sequence."""

    @abstractmethod
    async def shutdown(self) -> None:
        """Stop workers and release memory."""
