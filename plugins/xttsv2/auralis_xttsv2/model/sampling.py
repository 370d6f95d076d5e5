"""Next-code selection for a batch of sequences, with the semantics of the Hugging Face ``generate``
call Coqui makes.

Order (transformers 4.57, ``num_beams=1``): repetition penalty over *every* id in the running
sequence, then -- only when sampling -- temperature, top-k, top-p; then ``argmax`` (greedy) or
``torch.multinomial(softmax(scores))``. The running sequence of Coqui's generate starts with
placeholder ids ``1`` for each prefix position and the start-audio token, so tokens ``1`` and
``start_audio_token`` are penalised from the first step: `initial_penalty_ids` gives that set.
``length_penalty`` only affects beam search and is accepted for API parity.

`SamplerBatch` keeps every row's parameters as tensors, so one step processes all rows at once.
Each row draws from its own ``torch.Generator`` (or the global RNG, like HF, when it has none), so
a seeded sequence samples the same codes alone or batched with any others. Every operation is
row-wise, and constants are rounded to float32 the way HF's Python-float arguments are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ..options import XTTSOptions


@dataclass(frozen=True)
class SamplingParams:
    """One sequence's settings, as the sampler takes them. Ranges are checked once, where a request's
    options are validated (`auralis_xttsv2.options.XTTSOptions`), not here."""

    do_sample: bool
    temperature: float
    top_k: int | None
    top_p: float
    repetition_penalty: float
    length_penalty: float = 1.0  # beam search only: no effect with one beam, as in the reference

    @classmethod
    def from_options(cls, o: XTTSOptions) -> SamplingParams:
        """A request's validated options (or a checkpoint's defaults) as the sampler takes them."""
        return cls(do_sample=o.do_sample, temperature=o.temperature, top_k=o.top_k or None,  # 0: top-k off
                   top_p=o.top_p, repetition_penalty=o.repetition_penalty, length_penalty=o.length_penalty)

    @classmethod
    def greedy(cls, repetition_penalty: float = 1.0) -> SamplingParams:
        """Arg-max decoding (temperature, top-k and top-p only apply when sampling)."""
        return cls(do_sample=False, temperature=1.0, top_k=None, top_p=1.0, repetition_penalty=repetition_penalty)


def initial_penalty_ids(start_audio_token: int) -> list[int]:
    """Ids the reference's repetition penalty sees before the first generated token."""
    return [1, start_audio_token]


def apply_repetition_penalty(scores: torch.Tensor, seen: torch.Tensor, penalty: torch.Tensor) -> torch.Tensor:
    """HF's repetition penalty, row-wise: the score of every id a row has seen is divided by the row's
    penalty when positive, multiplied when negative. ``scores [n, V]`` float32, ``seen [n, V]`` bool,
    ``penalty [n, 1]`` (1.0 leaves a row exactly as it is)."""
    penalised = torch.where(scores < 0, scores * penalty, scores / penalty)
    return torch.where(seen, penalised, scores)


class SamplerBatch:
    """Sampling state of up to ``rows`` sequences; active sequences occupy rows ``0 .. n-1``."""

    def __init__(self, rows: int, vocab: int, stop_token: int, device: torch.device | str) -> None:
        self.rows, self.vocab, self.stop_token = rows, vocab, stop_token
        self.device = torch.device(device)
        f32 = dict(device=self.device, dtype=torch.float32)
        self.do_sample = torch.zeros(rows, dtype=torch.bool, device=self.device)
        self.penalty = torch.ones(rows, 1, **f32)
        self.temperature = torch.ones(rows, 1, **f32)
        self.top_k = torch.zeros(rows, 1, dtype=torch.long, device=self.device)  # 0: off
        self.one_minus_top_p = torch.zeros(rows, 1, **f32)  # 0: top-p off
        self.use_top_p = torch.zeros(rows, 1, dtype=torch.bool, device=self.device)
        self.ignore_stop = torch.zeros(rows, dtype=torch.bool, device=self.device)
        self.seen = torch.zeros(rows, vocab, dtype=torch.bool, device=self.device)
        self.generators: list[torch.Generator | None] = [None] * rows
        # host copies: which rows draw with multinomial / ignore the stop token (no device sync)
        self._sampling_rows: list[bool] = [False] * rows
        self._ignoring_stop: list[bool] = [False] * rows

    def assign(self, row: int, params: SamplingParams, initial_ids: list[int],
               generator: torch.Generator | None = None, ignore_stop: bool = False) -> None:
        """Give ``row`` to a new sequence."""
        top_k = params.top_k or 0
        # HF compares with ``1 - top_p`` computed in Python (double), then rounded to float32
        self.do_sample[row] = params.do_sample
        self.penalty[row] = params.repetition_penalty
        self.temperature[row] = params.temperature
        self.top_k[row] = min(top_k, self.vocab)
        self.one_minus_top_p[row] = 1 - params.top_p
        self.use_top_p[row] = params.top_p < 1.0
        self.ignore_stop[row] = ignore_stop
        self.seen[row] = False
        self.seen[row, torch.tensor(initial_ids, device=self.device)] = True
        self.generators[row] = generator
        self._sampling_rows[row] = params.do_sample
        self._ignoring_stop[row] = ignore_stop

    def move(self, src: int, dst: int) -> None:
        for t in (self.do_sample, self.penalty, self.temperature, self.top_k, self.one_minus_top_p,
                  self.use_top_p, self.ignore_stop, self.seen):
            t[dst] = t[src]
        self.generators[dst] = self.generators[src]
        self._sampling_rows[dst] = self._sampling_rows[src]
        self._ignoring_stop[dst] = self._ignoring_stop[src]

    def process(self, logits: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``logits [n, V]`` of rows ``start .. start + n - 1`` -> the scores each row selects from."""
        rows = slice(start, start + logits.shape[0])
        scores = apply_repetition_penalty(logits.float(), self.seen[rows], self.penalty[rows])
        if any(self._sampling_rows[rows]):
            warped = scores / self.temperature[rows]
            k = self.top_k[rows]
            kth = warped.sort(dim=-1, descending=True).values.gather(1, (k - 1).clamp(min=0))
            warped = warped.masked_fill((k > 0) & (warped < kth), -float("inf"))
            sorted_logits, sorted_idx = torch.sort(warped, descending=False)
            remove = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= self.one_minus_top_p[rows]
            remove[..., -1:] = False
            remove = remove.scatter(1, sorted_idx, remove) & self.use_top_p[rows]
            warped = warped.masked_fill(remove, -float("inf"))
            scores = torch.where(self.do_sample[rows, None], warped, scores)
        if any(self._ignoring_stop[rows]):
            scores[:, self.stop_token] = scores[:, self.stop_token].masked_fill(self.ignore_stop[rows], -float("inf"))
        return scores

    def sample(self, logits: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Next code of rows ``start .. start + n - 1`` (``[n]`` long); records it for the penalty."""
        n = logits.shape[0]
        scores = self.process(logits, start)
        codes = scores.argmax(dim=-1)
        sampling = [i for i in range(n) if self._sampling_rows[start + i]]
        if sampling:  # row by row, exactly as HF draws for one sequence
            drawn = [torch.multinomial(torch.softmax(scores[i:i + 1], dim=-1), 1,
                                       generator=self.generators[start + i])[0, 0] for i in sampling]
            codes[sampling] = torch.stack(drawn)
        self.seen[torch.arange(start, start + n, device=self.device), codes] = True
        return codes
