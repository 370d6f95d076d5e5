"""The vLLM logits processor that applies XTTS's repetition penalty (imported by vLLM only).

vLLM's public extension point for sampling: a ``vllm.v1.sample.logits_processor.LogitsProcessor``
class named in the ``logits_processors`` engine argument (not the ``vllm.logits_processors``
entry-point group, which would load it into every vLLM engine of the environment). vLLM calls
`update_state` with its persistent batch's changes before each forward and `apply` on the float32
logits before temperature, top-k and top-p -- the order of HF's processors. The state itself lives
in `penalty.SeenIdsPenalty`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from .penalty import SeenIdsPenalty, penalty_of

if TYPE_CHECKING:
    from vllm.config import VllmConfig


class XttsRepetitionPenalty(LogitsProcessor):
    @classmethod
    def validate_params(cls, sampling_params: SamplingParams) -> None:
        penalty_of(sampling_params.extra_args)

    def __init__(self, vllm_config: VllmConfig, device: torch.device, is_pin_memory: bool) -> None:
        rows = vllm_config.scheduler_config.max_num_seqs
        vocab = vllm_config.model_config.get_vocab_size()
        self.state = SeenIdsPenalty(rows, vocab, device, pin_memory=is_pin_memory)

    def is_argmax_invariant(self) -> bool:
        return False  # a penalty can change the greedy choice

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is None:
            return
        for row in batch_update.removed:
            self.state.remove(row)
        for row, params, prompt_ids, outputs in batch_update.added:
            self.state.add(row, penalty_of(params.extra_args) if params is not None else None, prompt_ids, outputs)
        for a, b, direction in batch_update.moved:
            if direction == MoveDirectionality.SWAP:
                self.state.swap(a, b)
            else:
                self.state.move(a, b)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        return self.state.apply(logits)
