"""XTTS's repetition penalty over vLLM's persistent batch, kept as a seen-ids mask on the GPU.

vLLM's built-in penalty rebuilds a padded ``[sequences, longest output]`` tensor from every
sequence's Python list of output ids at every step: at 512 sequences that was 24 % of vLLM's engine
process (H200 profile, docs/benchmarks.md). The penalty only needs to know which ids a sequence has
seen, so `SeenIdsPenalty` keeps a ``[rows, vocab]`` bool mask where vLLM keeps the batch, adds each
step's new ids to it, and applies the same formula as the torch backend and HF
(`apply_repetition_penalty`). No vLLM import here: `logits.XttsRepetitionPenalty` is the thin
adapter vLLM loads, and this part is tested on the CPU.

A request opts in with ``SamplingParams.extra_args[PENALTY_ARG] = penalty``; vLLM's own
``repetition_penalty`` stays 1.0, so vLLM skips its penalty computation. vLLM still keeps every
request's output list up to date for logits processors (with async scheduling, a loop over the
batch that waits for the previous step's sampled ids to reach the host): the interface's cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from ..model.sampling import apply_repetition_penalty

PENALTY_ARG = "xtts_repetition_penalty"
"""The ``SamplingParams.extra_args`` key that carries a request's repetition penalty."""

PROCESSOR = "auralis_xttsv2.vllm.logits:XttsRepetitionPenalty"
"""What the backend passes as vLLM's ``logits_processors`` engine argument."""

PLACEHOLDER = -1
"""vLLM's async scheduling appends this for a step whose sampled id is not on the host yet."""


def penalty_of(extra_args: dict[str, object] | None) -> float | None:
    """A request's penalty from its ``extra_args`` (None: no penalty); ``ValueError`` names a bad one."""
    value = (extra_args or {}).get(PENALTY_ARG)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{PENALTY_ARG} must be a number > 0, got {value!r}")
    return None if value == 1 else float(value)


@dataclass
class _Row:
    penalty: float
    prompt_ids: frozenset[int]
    outputs: Sequence[int]  # vLLM's live list of the request's output ids (it appends to it)
    recorded: int = 0  # how many of ``outputs`` are in the mask


class SeenIdsPenalty:
    """Penalty state of up to ``rows`` batch rows. Rows are vLLM's persistent-batch indices:
    `add`, `remove`, `move` and `swap` follow its batch updates; `apply` records the ids sampled
    since the last call and penalises every tracked row in one pass."""

    def __init__(self, rows: int, vocab: int, device: torch.device | str, pin_memory: bool = False) -> None:
        self.device = torch.device(device)
        self.seen = torch.zeros(rows, vocab, dtype=torch.bool, device=self.device)
        self.penalty = torch.ones(rows, 1, dtype=torch.float32, device=self.device)
        self._penalty_host = torch.ones(rows, 1, dtype=torch.float32)
        self._true = torch.ones((), dtype=torch.bool, device=self.device)
        # Host -> GPU copies go through pinned staging buffers: from pageable memory CUDA first waits
        # for all queued work (the step's forward included), which stalls vLLM's host loop every step
        # and undoes its async scheduling (seen on the H100: 12 % of the engine process at 32 streams).
        self._pin = pin_memory
        self._rows: dict[int, _Row] = {}
        self._penalty_stale = False

    @property
    def active(self) -> int:
        return len(self._rows)

    def add(self, row: int, penalty: float | None, prompt_ids: Sequence[int] | None, outputs: Sequence[int]) -> None:
        """A request takes ``row`` (replacing whatever was there); ``penalty`` None tracks nothing."""
        self.remove(row)
        if penalty is None:
            return
        state = _Row(penalty, frozenset(prompt_ids or ()), outputs)
        self._rows[row] = state
        self._set_penalty(row, penalty)
        self._record([(row, state)], full=True)

    def remove(self, row: int) -> None:
        if self._rows.pop(row, None) is not None:
            self._set_penalty(row, 1.0)

    def move(self, src: int, dst: int) -> None:
        """``src``'s request now sits at ``dst`` (whatever was at ``dst`` is gone); ``src`` is empty."""
        self.remove(dst)
        state = self._rows.pop(src, None)
        if state is None:
            return
        self._rows[dst] = state
        self.seen[dst] = self.seen[src]
        self._set_penalty(src, 1.0)
        self._set_penalty(dst, state.penalty)

    def swap(self, a: int, b: int) -> None:
        if a == b:
            return
        sa, sb = self._rows.pop(a, None), self._rows.pop(b, None)
        if sa is None and sb is None:
            return
        row_a = self.seen[a].clone()  # GPU-side copies by integer index: nothing waits on the host
        self.seen[a] = self.seen[b]
        self.seen[b] = row_a
        for row, state in ((b, sa), (a, sb)):
            if state is not None:
                self._rows[row] = state
            self._set_penalty(row, state.penalty if state is not None else 1.0)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits [n, V]`` float32 of rows ``0 .. n-1`` -> penalised (untracked rows unchanged)."""
        if not self._rows:
            return logits
        self._record(self._rows.items(), full=False)
        if self._penalty_stale:  # a fresh (pinned) copy: the host array may change before the GPU reads it
            staged = self._penalty_host.pin_memory() if self._pin else self._penalty_host
            self.penalty.copy_(staged, non_blocking=True)
            self._penalty_stale = False
        n = logits.shape[0]
        return apply_repetition_penalty(logits, self.seen[:n], self.penalty[:n])

    # --- internals -------------------------------------------------------------------------------
    def _set_penalty(self, row: int, value: float) -> None:
        self._penalty_host[row, 0] = value
        self._penalty_stale = True

    def _record(self, rows: Iterable[tuple[int, _Row]], full: bool) -> None:
        """Marks the ids each row has gained since it was last recorded (all of them, on a cleared
        row, when ``full``), with one scatter for every row. A placeholder ends what is known of a
        row for now."""
        index_rows: list[int] = []
        index_ids: list[int] = []
        for row, state in rows:
            outputs = state.outputs
            known = len(outputs)
            while known and outputs[known - 1] == PLACEHOLDER:
                known -= 1
            # vLLM drops handed-out ids only after a KV-connector load failure (none is configured
            # here); a row found shorter than recorded is recorded anew. Tracking is by length, so
            # ids dropped and replaced by as many new ones between two calls would go unnoticed.
            again = full or known < state.recorded
            if again:
                self.seen[row] = False
                index_rows += [row] * len(state.prompt_ids)
                index_ids += state.prompt_ids
            new = outputs[0 if again else state.recorded:known]
            index_rows += [row] * len(new)
            index_ids += new
            state.recorded = known
        if index_ids:
            where = torch.tensor([index_rows, index_ids], dtype=torch.long, pin_memory=self._pin)
            where = where.to(self.device, non_blocking=True)
            self.seen.index_put_((where[0], where[1]), self._true)
