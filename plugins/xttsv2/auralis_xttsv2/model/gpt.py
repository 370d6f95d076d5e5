"""The XTTS GPT: GPT-2 blocks fed with text, audio-code and conditioning embeddings.

Parameter names follow Coqui's checkpoint (``gpt.*``); the transformer itself (``gpt.gpt.*``) uses
Hugging Face GPT-2 names and layout (``Conv1D`` weights are ``[in, out]``). XTTS removes GPT-2's
token and absolute position tables: every input arrives as an embedding, text and audio tokens
carry their own learned position embeddings (each counted from 0), and the 32 conditioning
latents carry none.

Sequence layout for one utterance (what `XTTSGPT.embed_prefix` builds)::

    [ cond latents (32) | [START] text... [STOP] (+ text pos 0..L+1) | <start_audio> (+ mel pos 0) ]
    followed by generated audio code t at mel position t+1 (t = 0, 1, ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .conditioning_encoder import ConditioningEncoder
from .config import XTTSGPTConfig
from .kv_cache import CacheView, KVCache
from .perceiver import PerceiverResampler


class Conv1D(nn.Module):
    """HF GPT-2's transposed linear layer: ``weight`` is ``[in, out]`` as stored in the checkpoint."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


class GPT2Attention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, layer_index: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.layer_index = layer_index  # which of the cache's layers this attention owns
        self.c_attn = Conv1D(hidden_size, 3 * hidden_size)
        self.c_proj = Conv1D(hidden_size, hidden_size)

    def forward(self, x: torch.Tensor, cache: CacheView | None = None) -> torch.Tensor:
        """``x [B, L, D]``. Without ``cache``: causal attention over these ``L`` positions (the
        teacher-forced / latent pass). With it: the new keys go into the cache and each row
        attends to its cached positions plus the new ones."""
        b, l, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=-1)
        q, k, v = (t.view(b, l, self.num_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        if cache is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=l > 1)
        else:
            cache.write(self.layer_index, k, v)
            out = self._attend_cached(q, cache)
        return self.c_proj(out.transpose(1, 2).reshape(b, l, d))

    def _attend_cached(self, q: torch.Tensor, cache: CacheView) -> torch.Tensor:
        if cache.fused and cache.rows > 1:
            keys, values = cache.batch_keys(self.layer_index)
            return F.scaled_dot_product_attention(q, keys, values, attn_mask=cache.mask)
        outs = []
        for row in range(cache.rows):
            keys, values = cache.row_keys(self.layer_index, row)
            outs.append(_causal_attention(q[row:row + 1], keys, values, cache.offsets[row]))
        return outs[0] if len(outs) == 1 else torch.cat(outs)


def _causal_attention(q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, offset: int) -> torch.Tensor:
    """``q [1, H, L, hd]`` at positions ``offset ..``, keys of positions ``0 .. offset + L - 1``.
    The common cases call the kernel exactly as Hugging Face's GPT-2 does (no mask)."""
    l = q.shape[2]
    if l == 1 or offset == 0:
        return F.scaled_dot_product_attention(q, keys, values, is_causal=l > 1)
    q_pos = torch.arange(offset, offset + l, device=q.device)[:, None]
    mask = torch.arange(offset + l, device=q.device)[None, :] <= q_pos
    return F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)


class GPT2MLP(nn.Module):
    def __init__(self, hidden_size: int, inner: int) -> None:
        super().__init__()
        self.c_fc = Conv1D(hidden_size, inner)
        self.c_proj = Conv1D(inner, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # GPT-2's "gelu_new"


class GPT2Block(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, eps: float, layer_index: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_size, eps=eps)
        self.attn = GPT2Attention(hidden_size, num_heads, layer_index)
        self.ln_2 = nn.LayerNorm(hidden_size, eps=eps)
        self.mlp = GPT2MLP(hidden_size, 4 * hidden_size)

    def forward(self, x: torch.Tensor, cache: CacheView | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    """GPT-2 without ``wte``/``wpe``: input is ``inputs_embeds`` only (Coqui ``gpt.gpt``)."""

    def __init__(self, config: XTTSGPTConfig) -> None:
        super().__init__()
        self.h = nn.ModuleList(
            GPT2Block(config.hidden_size, config.num_heads, config.layer_norm_epsilon, i) for i in range(config.layers)
        )
        self.ln_f = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)

    def forward(self, inputs_embeds: torch.Tensor, cache: CacheView | None = None) -> torch.Tensor:
        """All blocks + ``ln_f``: ``[B, L, D]`` in, ``[B, L, D]`` out. One call serves prefill
        (one row, ``L`` prompt positions), batched decode (``B`` rows, one position each) and the
        cache-less teacher-forced pass; the cache records the new positions afterwards."""
        x = inputs_embeds
        for block in self.h:
            x = block(x, cache)
        if cache is not None:
            cache.commit()
        return self.ln_f(x)


class LearnedPositionEmbeddings(nn.Module):
    """Coqui's position table (``*.emb.weight``); positions count from 0 per modality."""

    def __init__(self, seq_len: int, dim: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(seq_len, dim)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        if positions.numel() and int(positions.max()) >= self.emb.num_embeddings:
            raise ValueError(f"position {int(positions.max())} exceeds the {self.emb.num_embeddings}-entry table")
        return self.emb(positions)

    def span(self, start: int, count: int) -> torch.Tensor:
        """Positions ``start .. start + count - 1`` ``[count, D]``, checked on the host: the tensor
        path's check reads the positions back from the device, a wait for all queued GPU work."""
        if count and start + count > self.emb.num_embeddings:
            raise ValueError(f"position {start + count - 1} exceeds the {self.emb.num_embeddings}-entry table")
        return self.emb.weight[start:start + count]


class XTTSGPT(nn.Module):
    """Coqui's ``GPT`` (``gpt.*`` in ``model.pth``) without its training and HF-generate wrappers."""

    def __init__(self, config: XTTSGPTConfig) -> None:
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.conditioning_encoder = ConditioningEncoder(
            config.mel_channels, d, num_heads=config.num_heads, num_blocks=config.cond_encoder_attn_blocks
        )
        self.text_embedding = nn.Embedding(config.number_text_tokens, d)
        self.mel_embedding = nn.Embedding(config.num_audio_tokens, d)
        self.gpt = GPT2Model(config)
        self.mel_pos_embedding = LearnedPositionEmbeddings(config.max_mel_positions, d)
        self.text_pos_embedding = LearnedPositionEmbeddings(config.max_text_positions, d)
        self.final_norm = nn.LayerNorm(d)
        self.text_head = nn.Linear(d, config.number_text_tokens)
        self.mel_head = nn.Linear(d, config.num_audio_tokens)
        self.conditioning_perceiver = PerceiverResampler(
            dim=d,
            depth=config.perceiver_depth,
            num_latents=config.num_cond_latents,
            dim_head=config.perceiver_dim_head,
            heads=config.perceiver_heads,
            ff_mult=config.perceiver_ff_mult,
        )

    # --- conditioning ---------------------------------------------------------------------
    def get_style_emb(self, mel: torch.Tensor) -> torch.Tensor:
        """Normalised log-mel ``[B, 80, S]`` -> conditioning latents ``[B, 32, D]``."""
        conds = self.conditioning_encoder(mel)  # [B, D, S]
        return self.conditioning_perceiver(conds.transpose(1, 2))  # [B, 32, D]

    # --- embeddings -----------------------------------------------------------------------
    def wrap_text(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` tokenizer ids -> ``[B, L+2]`` with [START] ... [STOP], as Coqui feeds them."""
        text_tokens = F.pad(text_tokens.long(), (0, 1), value=self.config.stop_text_token)
        return F.pad(text_tokens, (1, 0), value=self.config.start_text_token)

    def wrap_prompt_text(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """`wrap_text`, refusing a text longer than the position table (a prompt must fit it)."""
        self.check_prompt_text_length(text_tokens.shape[1])
        return self.wrap_text(text_tokens)

    def check_prompt_text_length(self, n_tokens: int) -> int:
        """The positions ``n_tokens`` tokens take once wrapped in [START] .. [STOP] (`wrap_text`); a
        `ValueError` if they overflow the position table."""
        wrapped = n_tokens + 2
        if wrapped > self.config.max_text_positions:
            raise ValueError(f"{n_tokens} text tokens exceed the model's limit of {self.config.max_text_tokens}")
        return wrapped

    def embed_text(self, wrapped_text: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` (already wrapped) -> token + position embedding, positions 0..L-1."""
        return self.text_embedding(wrapped_text) + self.text_pos_embedding.span(0, wrapped_text.shape[1])[None]

    def embed_audio(self, codes: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        """Audio codes ``[B, N]`` at mel positions (``[B, N]``/``[N]`` tensor, or the first position as int).

        The start-audio token sits at position 0, generated code ``t`` (0-based) at ``t + 1``.
        """
        pe = (self.mel_pos_embedding.span(positions, codes.shape[1]) if isinstance(positions, int)
              else self.mel_pos_embedding(positions))
        return self.mel_embedding(codes.long()) + (pe if pe.dim() == 3 else pe[None])

    def embed_prefix(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor) -> torch.Tensor:
        """The generation prompt ``[B, 32 + (L+2) + 1, D]``: latents, wrapped text, start-audio token.

        Running the blocks over it and taking the last position's hidden state gives the logits of
        the first audio code. ``text_tokens`` are raw tokenizer ids (no [START]/[STOP]).
        """
        wrapped = self.wrap_prompt_text(text_tokens)
        start = torch.full((text_tokens.shape[0], 1), self.config.start_audio_token, device=text_tokens.device)
        return torch.cat(
            [cond_latents.to(self.text_embedding.weight.dtype), self.embed_text(wrapped), self.embed_audio(start, 0)],
            dim=1,
        )

    # --- heads ----------------------------------------------------------------------------
    def final_hidden(self, h: torch.Tensor) -> torch.Tensor:
        """``ln_f`` output -> ``final_norm``: the latents HiFi-GAN decodes and the heads read."""
        return self.final_norm(h)

    def mel_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``final_norm``-ed hidden states -> audio-code logits ``[..., num_audio_tokens]``."""
        return self.mel_head(hidden)

    def forward(self, inputs_embeds: torch.Tensor, cache: CacheView | None = None) -> torch.Tensor:
        """Blocks + ``ln_f`` + ``final_norm``: the hidden states the heads read and HiFi-GAN decodes."""
        return self.final_norm(self.gpt(inputs_embeds, cache))

    def new_cache(self, slots: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None,
                  capacity: int = 256) -> KVCache:
        """An empty KV cache of ``slots`` sequences for this GPT's layers and heads."""
        c = self.config
        w = self.mel_head.weight
        return KVCache(c.layers, c.num_heads, c.head_dim, slots, device or w.device, dtype or w.dtype, capacity)

    def get_logits(
        self, cond_latents: torch.Tensor, text_tokens: torch.Tensor, audio_codes: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass as in Coqui's ``GPT.get_logits``.

        Returns text logits ``[B, L+2, Vt]`` for the wrapped text and mel logits ``[B, N+1, 1026]``
        for ``<start_audio>, codes...``.
        """
        wrapped = self.wrap_text(text_tokens)
        start = torch.full((audio_codes.shape[0], 1), self.config.start_audio_token, device=audio_codes.device)
        audio = torch.cat([start, audio_codes.long()], dim=1)
        emb = torch.cat([cond_latents, self.embed_text(wrapped), self.embed_audio(audio, 0)], dim=1)
        hidden = self(emb)[:, cond_latents.shape[1]:]
        lt = wrapped.shape[1]
        return self.text_head(hidden[:, :lt]), self.mel_head(hidden[:, lt:])
