"""Conditioning encoder: normalised log-mel frames -> per-frame GPT-width features.

Coqui's ``ConditioningEncoder`` (from Tortoise): a 1x1 conv followed by attention blocks with
"legacy" QKV head ordering. XTTS uses ``tortoise_norm=False``: each block returns
``norm(x) + attn(norm(x))`` (the residual is taken after the GroupNorm, not before).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _num_groups(channels: int) -> int:
    """Coqui's ``normalization()`` group count."""
    groups = 32
    if channels <= 16:
        groups = 8
    elif channels <= 64:
        groups = 16
    while channels % groups:
        groups //= 2
    return groups


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in fp32 (as the reference) and cast back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x.float(), self.num_groups, self.weight.float(), self.bias.float(), self.eps).to(x.dtype)


class AttentionBlock(nn.Module):
    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm = GroupNorm32(_num_groups(channels), channels)
        self.qkv = nn.Conv1d(channels, channels * 3, 1)
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T]
        b, c, t = x.shape
        x_norm = self.norm(x)
        qkv = self.qkv(x_norm)  # [B, 3C, T], laid out head-major: (head, {q,k,v}, ch)
        ch = c // self.num_heads
        q, k, v = qkv.reshape(b * self.num_heads, 3 * ch, t).split(ch, dim=1)
        scale = 1.0 / math.sqrt(math.sqrt(ch))
        w = torch.einsum("bct,bcs->bts", q * scale, k * scale)
        w = torch.softmax(w.float(), dim=-1).to(w.dtype)
        h = torch.einsum("bts,bcs->bct", w, v).reshape(b, c, t)
        return x_norm + self.proj_out(h)


class ConditioningEncoder(nn.Module):
    def __init__(self, spec_dim: int, embedding_dim: int, num_heads: int, num_blocks: int = 6) -> None:
        super().__init__()
        self.init = nn.Conv1d(spec_dim, embedding_dim, kernel_size=1)
        self.attn = nn.Sequential(*(AttentionBlock(embedding_dim, num_heads) for _ in range(num_blocks)))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, 80, S]`` -> ``[B, D, S]``."""
        return self.attn(self.init(mel))
