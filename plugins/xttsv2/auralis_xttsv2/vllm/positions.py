"""Mel positions through vLLM's model-defined positions (``SupportsMRoPE``), kept non-negative.

XTTS adds ``mel_pos_embedding[t + 1]`` to generated code ``t``: its positions count from the
start-audio token, not from the sequence start, and the prompt (conditioning + text + start token)
varies in length per request. vLLM gives decode token ``i`` (0-based over prompt + output) the
position ``delta + i`` where ``delta`` is what the model returned for that request, and prompt
tokens the positions the model returned for them.

A delta of ``1 - P`` would give code ``t`` position ``t + 1`` directly, but it is negative, and the
GPU probe crashed on the first decode step with it. So every position is shifted by a fixed base
``B >= P``: prompt positions are all ``B`` and ``delta = B + 1 - P >= 1``, so code ``t`` sits at
``B + 1 + t``. The model subtracts ``B``; a position ``<= B`` is a prompt position whose embedding
already carries its own (text or mel) position.
"""

from __future__ import annotations


def prompt_positions(base: int, prompt_len: int) -> tuple[list[int], int]:
    """Positions of a ``prompt_len``-token prompt and the request's delta for its decode tokens."""
    if prompt_len > base:
        raise ValueError(f"prompt of {prompt_len} positions exceeds the position base {base}")
    return [base] * prompt_len, base + 1 - prompt_len


def mel_position(position: int, base: int) -> int:
    """The mel position of a decode token at vLLM position ``position`` (0 for prompt tokens)."""
    return max(0, position - base)
