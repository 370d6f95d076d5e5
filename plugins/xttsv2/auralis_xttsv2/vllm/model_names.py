"""Checkpoint tensor names -> parameter names of the vLLM model (no vLLM import: CPU-testable).

The checkpoint's GPT lives under ``gpt.``: the GPT-2 transformer under ``gpt.gpt.`` (HF names,
Conv1D weights ``[in, out]``), the audio-code embedding, its position table, ``final_norm`` and
``mel_head`` beside it. The text head, conditioning encoder and perceiver only run in phase 1 or
training and stay on the torch side.
"""

from __future__ import annotations

CONV1D_SUFFIXES = (".c_attn.weight", ".c_proj.weight", ".c_fc.weight")
"""HF Conv1D weights are stored ``[in, out]``; vLLM's linear layers want ``[out, in]``."""

_HEADS = {
    "gpt.mel_embedding.weight": "model.mel_embedding.weight",
    "gpt.mel_pos_embedding.emb.weight": "model.mel_pos_embedding.weight",
    "gpt.final_norm.weight": "model.final_norm.weight",
    "gpt.final_norm.bias": "model.final_norm.bias",
    "gpt.mel_head.weight": "mel_head.weight",
    "gpt.mel_head.bias": "mel_head.bias",
}


def vllm_param_name(name: str) -> str | None:
    """Checkpoint name -> vLLM parameter name; None for tensors the code loop never reads."""
    if name.startswith("gpt.gpt."):
        return "model." + name[len("gpt.gpt."):]
    return _HEADS.get(name)


def is_vllm_tensor(name: str) -> bool:
    return vllm_param_name(name) is not None
