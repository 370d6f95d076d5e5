"""The model directory vLLM loads: ``config.json`` (a GPT-2 config naming `XttsGPT`) and the GPT's
tensors under the checkpoint's own names, in safetensors.

It is written from the loaded `XTTSModel`, so every checkpoint layout Auralis reads (Coqui
``model.pth``, AstraMindAI, converted, random benchmark weights) reaches vLLM the same way, and
vLLM's standard loader reads it; only the tensors the code loop needs are written (about 0.8 GB
in half precision for the released model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..model.config import XTTSGPTConfig
from ..model.xtts import XTTSModel
from . import ARCHITECTURE
from .model_names import is_vllm_tensor



def _mrope(head_dim: int) -> dict:
    """vLLM treats positions as model-defined (SupportsMRoPE) when the config carries an M-RoPE
    section; the model never applies a rotary embedding. Sections sum to head_dim / 2 as usual."""
    half = head_dim // 2
    return {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [half - 2 * (half // 4), half // 4, half // 4]}


@dataclass(frozen=True)
class Geometry:
    """Lengths vLLM must be told: the longest prompt, the position base and the model length."""

    max_prompt: int
    max_model_len: int
    position_base: int

    @classmethod
    def of(cls, cfg: XTTSGPTConfig) -> Geometry:
        max_prompt = cfg.num_cond_latents + cfg.max_text_positions + 1  # latents, [START] text [STOP], start
        max_model_len = max_prompt + cfg.max_generated_tokens
        return cls(max_prompt, max_model_len, position_base=max_prompt)


def hf_config(cfg: XTTSGPTConfig, dtype: torch.dtype) -> dict:
    geo = Geometry.of(cfg)
    return {
        "architectures": [ARCHITECTURE],
        "model_type": "gpt2",
        "vocab_size": cfg.num_audio_tokens,
        "n_embd": cfg.hidden_size,
        "n_layer": cfg.layers,
        "n_head": cfg.num_heads,
        "n_inner": None,
        "n_positions": geo.max_model_len,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "bos_token_id": cfg.start_audio_token,
        "eos_token_id": cfg.stop_audio_token,
        "tie_word_embeddings": False,
        "torch_dtype": str(dtype).removeprefix("torch."),
        "rope_parameters": _mrope(cfg.head_dim),
        "xtts_position_base": geo.position_base,
        "xtts_max_mel_positions": cfg.max_mel_positions,
    }


def export_for_vllm(model: XTTSModel, directory: Path) -> Path:
    """Write ``config.json`` and ``model.safetensors`` for vLLM into ``directory``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    tensors = {
        name: tensor.detach().contiguous().cpu()
        for name, tensor in model.state_dict().items()
        if is_vllm_tensor(name)
    }
    save_file(tensors, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(hf_config(model.config.gpt, model.dtype), indent=2))
    return directory
