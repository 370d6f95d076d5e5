"""Perceiver resampler: a variable number of conditioning frames -> a fixed set of 32 latents.

Matches Coqui's ``PerceiverResampler`` (Flamingo style): learned latents cross-attend to
``[latents; context]`` (``cross_attn_include_queries=True``), a GEGLU feed-forward, and a final
RMSNorm that scales by ``sqrt(dim)``. The attention width is ``heads * dim_head`` (8 x 64),
independent of the model width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PerceiverAttention(nn.Module):
    def __init__(self, dim: int, dim_head: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        inner = dim_head * heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, latents: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, n, _ = latents.shape
        context = torch.cat([latents, context], dim=1)
        q = self.to_q(latents)
        k, v = self.to_kv(context).chunk(2, dim=-1)
        q, k, v = (t.reshape(b, t.shape[1], self.heads, -1).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)  # scale = dim_head ** -0.5, as the reference
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class GEGLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gates = x.chunk(2, dim=-1)
        return x * F.gelu(gates)


class FeedForward(nn.Sequential):
    """Keys ``0`` (in-projection, 2x inner for GEGLU) and ``2`` (out-projection)."""

    def __init__(self, dim: int, mult: int) -> None:
        inner = int(dim * mult * 2 / 3)
        super().__init__(nn.Linear(dim, inner * 2), GEGLU(), nn.Linear(inner, dim))


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = dim**0.5
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1) * self.scale * self.gamma


class PerceiverResampler(nn.Module):
    def __init__(self, dim: int, depth: int = 2, num_latents: int = 32, dim_head: int = 64, heads: int = 8,
                 ff_mult: int = 4) -> None:
        super().__init__()
        self.latents = nn.Parameter(torch.randn(num_latents, dim) * 0.02)
        self.layers = nn.ModuleList(
            nn.ModuleList([PerceiverAttention(dim, dim_head, heads), FeedForward(dim, ff_mult)]) for _ in range(depth)
        )
        self.norm = RMSNorm(dim)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """``[B, S, D]`` -> ``[B, num_latents, D]``."""
        latents = self.latents[None].expand(context.shape[0], -1, -1)
        for attn, ff in self.layers:
            latents = attn(latents, context) + latents
            latents = ff(latents) + latents
        return self.norm(latents)
