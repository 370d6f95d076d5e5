"""A slot-based KV cache for continuous batching.

Active sequences occupy rows ``0 .. n_active-1`` so a decode step reads a contiguous view
(no gather copies). Each row has its own length: a new key is written at the row's own position
and an attention mask hides positions past it, so sequences with different prompt lengths and
ages share one step. A finished row is replaced by the last active row (one row copy).
"""

from __future__ import annotations

import torch


class SlotKVCache:
    def __init__(self, layers: int, heads: int, head_dim: int, max_slots: int, device: torch.device, dtype: torch.dtype,
                 initial_capacity: int = 256) -> None:
        self.layers, self.heads, self.head_dim = layers, heads, head_dim
        self.max_slots = max_slots
        self.device, self.dtype = device, dtype
        self.capacity = 0
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.lengths = torch.zeros(max_slots, dtype=torch.long, device=device)
        self._grow(initial_capacity)

    def _grow(self, capacity: int) -> None:
        """Reallocate with room for ``capacity`` positions (doubling keeps copies rare)."""
        capacity = max(capacity, 2 * self.capacity)
        shape = (self.max_slots, self.heads, capacity, self.head_dim)
        new_k = [torch.zeros(shape, device=self.device, dtype=self.dtype) for _ in range(self.layers)]
        new_v = [torch.zeros(shape, device=self.device, dtype=self.dtype) for _ in range(self.layers)]
        if self.capacity:
            for layer in range(self.layers):
                new_k[layer][:, :, : self.capacity] = self.keys[layer]
                new_v[layer][:, :, : self.capacity] = self.values[layer]
        self.keys, self.values, self.capacity = new_k, new_v, capacity

    def ensure(self, needed: int) -> None:
        if needed > self.capacity:
            self._grow(needed)

    def write_prefill(self, slot: int, presents: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Copy one sequence's prompt cache (``[1, H, P, hd]`` per layer) into ``slot``."""
        p = presents[0][0].shape[2]
        self.ensure(p + 1)
        for layer, (k, v) in enumerate(presents):
            self.keys[layer][slot, :, :p] = k[0]
            self.values[layer][slot, :, :p] = v[0]
        self.lengths[slot] = p

    def move(self, src: int, dst: int) -> None:
        n = int(self.lengths[src])
        for layer in range(self.layers):
            self.keys[layer][dst, :, :n] = self.keys[layer][src, :, :n]
            self.values[layer][dst, :, :n] = self.values[layer][src, :, :n]
        self.lengths[dst] = n
