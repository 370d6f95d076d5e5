"""The GPT's KV cache: slots of preallocated key/value rows, and per-call views of them.

`KVCache` holds, per layer, ``keys``/``values`` of shape ``[slots, heads, capacity, head_dim]`` and
each slot's cached length. A forward call gets a `CacheView`: the contiguous slots its batch rows
own (``start .. start + rows``) and how many positions each has cached. Attention writes the new
keys at each row's own offset and reads exactly that row's positions, so rows of different ages
share one decode step. Whoever schedules sequences (a backend, or `XTTSModel.generate` for one
sequence) only allocates slots and keeps active ones contiguous (`move`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


class KVCache:
    def __init__(self, layers: int, heads: int, head_dim: int, slots: int, device: torch.device | str,
                 dtype: torch.dtype, capacity: int = 256) -> None:
        if slots < 1 or capacity < 1:
            raise ValueError("a KV cache needs at least one slot and one position")
        self.layers, self.heads, self.head_dim, self.slots = layers, heads, head_dim, slots
        self.device, self.dtype = torch.device(device), dtype
        self.capacity = 0
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.lengths = [0] * slots  # host copy: decides views and masks without a device sync
        self._grow(capacity)

    def _grow(self, capacity: int) -> None:
        """Reallocate with room for ``capacity`` positions (doubling keeps copies rare)."""
        capacity = max(capacity, 2 * self.capacity)
        shape = (self.slots, self.heads, capacity, self.head_dim)
        keys = [torch.zeros(shape, device=self.device, dtype=self.dtype) for _ in range(self.layers)]
        values = [torch.zeros(shape, device=self.device, dtype=self.dtype) for _ in range(self.layers)]
        for layer in range(len(self.keys)):
            keys[layer][:, :, : self.capacity] = self.keys[layer]
            values[layer][:, :, : self.capacity] = self.values[layer]
        self.keys, self.values, self.capacity = keys, values, capacity

    def view(self, start: int, rows: int, new_tokens: int, fused: bool = False) -> CacheView:
        """The view a forward over ``rows`` slots from ``start`` uses to add ``new_tokens`` positions
        to each; grows the cache first if a row would run past its capacity."""
        if start < 0 or rows < 1 or start + rows > self.slots:
            raise ValueError(f"slots {start}..{start + rows - 1} outside the cache's {self.slots}")
        offsets = self.lengths[start:start + rows]
        if rows > 1 and new_tokens != 1:
            raise ValueError("several rows advance one token at a time (prefill one sequence per call)")
        needed = max(offsets) + new_tokens
        if needed > self.capacity:
            self._grow(needed)
        return CacheView(self, start, offsets, new_tokens, fused)

    def move(self, src: int, dst: int) -> None:
        """Copy slot ``src`` into ``dst`` (compacting active slots after one finishes)."""
        n = self.lengths[src]
        for layer in range(self.layers):
            self.keys[layer][dst, :, :n] = self.keys[layer][src, :, :n]
            self.values[layer][dst, :, :n] = self.values[layer][src, :, :n]
        self.lengths[dst] = n

    def reset(self, slot: int) -> None:
        self.lengths[slot] = 0


@dataclass
class CacheView:
    """What one forward call may touch: slots ``start .. start + len(offsets) - 1``, where row ``b``
    has ``offsets[b]`` cached positions and adds ``new_tokens`` more.

    ``fused=False`` attends row by row over exactly each row's positions, so a row's result does
    not depend on the other rows (batch invariance) and a lone row runs the same kernel as the
    Hugging Face reference. ``fused=True`` runs one masked kernel over the longest row (fewer
    launches on a GPU; the padding changes the summation order at the ulp level).
    """

    cache: KVCache
    start: int
    offsets: list[int]
    new_tokens: int
    fused: bool = False

    def __post_init__(self) -> None:
        rows = len(self.offsets)
        device = self.cache.device
        self.rows = rows
        self.span = max(self.offsets) + self.new_tokens
        self._row_index = torch.arange(self.start, self.start + rows, device=device)
        self._positions = torch.tensor(self.offsets, device=device)
        self.mask: torch.Tensor | None = None
        if self.fused and rows > 1 and min(self.offsets) != max(self.offsets):
            keys = torch.arange(self.span, device=device)
            self.mask = (keys[None, :] <= self._positions[:, None])[:, None, None, :]  # [B, 1, 1, S]

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store ``[B, H, L, hd]`` new keys/values at each row's offset."""
        keys, values = self.cache.keys[layer], self.cache.values[layer]
        if self.rows == 1:
            off = self.offsets[0]
            keys[self.start, :, off:off + self.new_tokens] = k[0]
            values[self.start, :, off:off + self.new_tokens] = v[0]
        else:  # one new token per row, each at its own position
            keys[self._row_index, :, self._positions] = k[:, :, 0]
            values[self._row_index, :, self._positions] = v[:, :, 0]

    def row_keys(self, layer: int, row: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``[1, H, offset + new, hd]`` keys and values of one row (a view, no copy)."""
        slot, n = self.start + row, self.offsets[row] + self.new_tokens
        return self.cache.keys[layer][slot:slot + 1, :, :n], self.cache.values[layer][slot:slot + 1, :, :n]

    def batch_keys(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, H, span, hd]`` keys and values of every row, up to the longest (a view)."""
        end = self.start + self.rows
        return (self.cache.keys[layer][self.start:end, :, :self.span],
                self.cache.values[layer][self.start:end, :, :self.span])

    def commit(self) -> None:
        """Record the new positions once every layer has written them."""
        for b in range(self.rows):
            self.cache.lengths[self.start + b] = self.offsets[b] + self.new_tokens
