"""Next-token selection with the semantics of the Hugging Face ``generate`` call Coqui makes.

Order (transformers 4.57, ``num_beams=1``): repetition penalty over *every* id in the running
sequence, then -- only when sampling -- temperature, top-k, top-p; then ``argmax`` (greedy) or
``torch.multinomial(softmax(scores))``. The running sequence of Coqui's generate starts with
placeholder ids ``1`` for each prefix position and the start-audio token, so tokens ``1`` and
``start_audio_token`` are penalised from the first step: `initial_penalty_ids` gives that set.
``length_penalty`` only affects beam search and is accepted for API parity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from auralis_core.errors import InvalidRequestError


@dataclass(frozen=True)
class SamplingParams:
    do_sample: bool = True
    temperature: float = 0.75
    top_k: int | None = 50
    top_p: float = 0.85
    repetition_penalty: float = 10.0
    length_penalty: float = 1.0  # beam search only: no effect with one beam, as in the reference

    def __post_init__(self) -> None:
        if self.do_sample and not self.temperature > 0:
            raise InvalidRequestError(f"temperature must be > 0 when sampling, got {self.temperature}", "temperature")
        if not 0 < self.top_p <= 1:
            raise InvalidRequestError(f"top_p must be in (0, 1], got {self.top_p}", "top_p")
        if self.top_k is not None and self.top_k < 0:
            raise InvalidRequestError(f"top_k must be >= 0, got {self.top_k}", "top_k")
        if not self.repetition_penalty > 0:
            raise InvalidRequestError(
                f"repetition_penalty must be > 0, got {self.repetition_penalty}", "repetition_penalty"
            )


def initial_penalty_ids(start_audio_token: int) -> list[int]:
    """Ids the reference's repetition penalty sees before the first generated token."""
    return [1, start_audio_token]


def process_logits(scores: torch.Tensor, seen: torch.Tensor, p: SamplingParams) -> torch.Tensor:
    """``scores [B, V]`` (fp32) and ids seen so far ``seen [B, N]`` -> processed scores."""
    scores = scores.float()
    if p.repetition_penalty != 1.0 and seen.numel():
        s = torch.gather(scores, 1, seen)
        s = torch.where(s < 0, s * p.repetition_penalty, s / p.repetition_penalty)
        scores = scores.scatter(1, seen, s)
    if not p.do_sample:
        return scores
    if p.temperature != 1.0:
        scores = scores / p.temperature
    if p.top_k:
        k = min(p.top_k, scores.shape[-1])
        scores = scores.masked_fill(scores < torch.topk(scores, k)[0][..., -1, None], -float("inf"))
    if p.top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(scores, descending=False)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cum <= (1 - p.top_p)
        remove[..., -1:] = False
        scores = scores.masked_fill(remove.scatter(1, sorted_idx, remove), -float("inf"))
    return scores


def select_next(scores: torch.Tensor, p: SamplingParams, generator: torch.Generator | None = None) -> torch.Tensor:
    """Processed scores ``[B, V]`` -> next ids ``[B]``."""
    if not p.do_sample:
        return scores.argmax(dim=-1)
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)
