"""The XTTS-v2 GPT as a vLLM model (imported by vLLM's registry, never by Auralis at start-up).

Written as vLLM's own model files are: GPT-2 blocks from vLLM's ``gpt2`` module (vLLM ``Attention``
over the paged KV cache, fused QKV), ``embed_input_ids`` for generated audio codes,
``compute_logits`` through ``mel_head``, and ``load_weights`` reading the checkpoint's own names
(``gpt.gpt.h.N.attn.c_attn.weight`` ..., Conv1D weights ``[in, out]``).

What XTTS changes against GPT-2: no token or absolute position table. The prompt arrives as
embeddings (conditioning latents, text with text positions, start-audio token with mel position 0,
all built by `XTTSGPT.embed_prefix`); a generated code gets ``mel_embedding[code] +
mel_pos_embedding[t + 1]``. The mel position comes from the model-defined positions of
`SupportsMRoPE` with a non-negative base (see `positions`), so no request state lives in the
model. The forward returns ``final_norm(ln_f(h))``: the latents HiFi-GAN decodes, which the heads
read.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import torch
from torch import nn
from vllm.compilation.decorators import support_torch_compile
from vllm.config import VllmConfig
from vllm.model_executor.layers.logits_processor import LogitsProcessor
from vllm.model_executor.layers.vocab_parallel_embedding import ParallelLMHead, VocabParallelEmbedding
from vllm.model_executor.model_loader.weight_utils import default_weight_loader
from vllm.model_executor.models.gpt2 import GPT2Block
from vllm.model_executor.models.interfaces import SupportsMRoPE
from vllm.model_executor.models.utils import make_layers, maybe_prefix
from vllm.sequence import IntermediateTensors

from .model_names import CONV1D_SUFFIXES, vllm_param_name
from .positions import prompt_positions

@support_torch_compile(dynamic_arg_dims={"input_ids": 0, "positions": -1, "intermediate_tensors": 0,
                                         "inputs_embeds": 0})
class XttsGPTModel(nn.Module):
    def __init__(self, *, vllm_config: VllmConfig, prefix: str = "") -> None:
        super().__init__()
        config = vllm_config.model_config.hf_config
        self.config = config
        self.position_base = int(config.xtts_position_base)
        self.mel_embedding = VocabParallelEmbedding(config.vocab_size, config.hidden_size,
                                                    prefix=f"{prefix}.mel_embedding")
        self.mel_pos_embedding = nn.Embedding(config.xtts_max_mel_positions, config.hidden_size)
        self.start_layer, self.end_layer, self.h = make_layers(
            config.num_hidden_layers,
            lambda prefix: GPT2Block(config, vllm_config.cache_config, vllm_config.quant_config, prefix=prefix),
            prefix=f"{prefix}.h",
        )
        self.ln_f = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)
        self.final_norm = nn.LayerNorm(config.hidden_size)  # Coqui's default eps

    def embed_input_ids(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.mel_embedding(input_ids)

    def forward(
        self,
        input_ids: torch.Tensor | None,
        positions: torch.Tensor,  # [3, N] model-defined positions; row 0 is enough
        intermediate_tensors: IntermediateTensors | None,
        inputs_embeds: torch.Tensor | None,
    ) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.embed_input_ids(input_ids)
        pos = positions[0] if positions.dim() == 2 else positions
        mel_pos = (pos - self.position_base).clamp(0, self.mel_pos_embedding.num_embeddings - 1)
        is_code = (pos > self.position_base)[:, None].to(inputs_embeds.dtype)
        hidden = inputs_embeds + is_code * self.mel_pos_embedding(mel_pos)
        for layer in islice(self.h, self.start_layer, self.end_layer):
            hidden = layer(hidden)
        return self.final_norm(self.ln_f(hidden))


class XttsGPT(nn.Module, SupportsMRoPE):
    """vLLM entry class (``architectures: ["XttsGPT"]``)."""

    def __init__(self, *, vllm_config: VllmConfig, prefix: str = "") -> None:
        super().__init__()
        config = vllm_config.model_config.hf_config
        self.config = config
        self.model = XttsGPTModel(vllm_config=vllm_config, prefix=maybe_prefix(prefix, "model"))
        self.mel_head = ParallelLMHead(config.vocab_size, config.hidden_size, bias=True,
                                       prefix=maybe_prefix(prefix, "mel_head"))
        self.logits_processor = LogitsProcessor(config.vocab_size)

    def embed_input_ids(self, input_ids: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        return self.model.embed_input_ids(input_ids)

    def get_mrope_input_positions(self, input_tokens: list[int], mm_features: list) -> tuple[torch.Tensor, int]:
        positions, delta = prompt_positions(self.model.position_base, len(input_tokens))
        return torch.tensor(positions, dtype=torch.long).expand(3, -1).contiguous(), delta

    def forward(
        self,
        input_ids: torch.Tensor | None,
        positions: torch.Tensor,
        intermediate_tensors: IntermediateTensors | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs: object,
    ) -> torch.Tensor:
        return self.model(input_ids, positions, intermediate_tensors, inputs_embeds)

    def compute_logits(self, hidden_states: torch.Tensor) -> torch.Tensor | None:
        # vLLM's logits processor adds a head bias only when handed one (GPT-2 heads have none)
        return self.logits_processor(self.mel_head, hidden_states, self.mel_head.bias)

    def load_weights(self, weights: Iterable[tuple[str, torch.Tensor]]) -> set[str]:
        params = dict(self.named_parameters())
        loaded: set[str] = set()
        for name, tensor in weights:
            target = vllm_param_name(name)
            if target is None or target not in params:
                continue  # text head, conditioning encoder, HiFi-GAN ...: not part of the code loop
            if name.endswith(CONV1D_SUFFIXES):
                tensor = tensor.t()  # HF Conv1D [in, out] -> Linear [out, in]
            param = params[target]
            getattr(param, "weight_loader", default_weight_loader)(param, tensor)
            loaded.add(target)
        return loaded
