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
from .perceiver import PerceiverResampler

KVCache = list[tuple[torch.Tensor, torch.Tensor]]
"""Per layer ``(key, value)``, each ``[batch, heads, past_len, head_dim]``."""


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
    def __init__(self, hidden_size: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.c_attn = Conv1D(hidden_size, 3 * hidden_size)
        self.c_proj = Conv1D(hidden_size, hidden_size)

    def forward(
        self,
        x: torch.Tensor,  # [B, L, D]
        past: tuple[torch.Tensor, torch.Tensor] | None,
        attn_mask: torch.Tensor | None,  # bool [B or 1, 1, L, P+L], True = attend
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, l, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=-1)
        q, k, v = (t.view(b, l, self.num_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        if attn_mask is None:
            # no cache and no padding: plain causal; one new token over a cache: attend everything
            out = F.scaled_dot_product_attention(q, k, v, is_causal=past is None and l > 1)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(b, l, d)
        return self.c_proj(out), (k, v)


class GPT2MLP(nn.Module):
    def __init__(self, hidden_size: int, inner: int) -> None:
        super().__init__()
        self.c_fc = Conv1D(hidden_size, inner)
        self.c_proj = Conv1D(inner, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # GPT-2's "gelu_new"


class GPT2Block(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, eps: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_size, eps=eps)
        self.attn = GPT2Attention(hidden_size, num_heads)
        self.ln_2 = nn.LayerNorm(hidden_size, eps=eps)
        self.mlp = GPT2MLP(hidden_size, 4 * hidden_size)

    def forward(self, x, past=None, attn_mask=None):
        a, present = self.attn(self.ln_1(x), past, attn_mask)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT2Model(nn.Module):
    """GPT-2 without ``wte``/``wpe``: input is ``inputs_embeds`` only (Coqui ``gpt.gpt``)."""

    def __init__(self, config: XTTSGPTConfig) -> None:
        super().__init__()
        self.h = nn.ModuleList(
            GPT2Block(config.hidden_size, config.num_heads, config.layer_norm_epsilon) for _ in range(config.layers)
        )
        self.ln_f = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_epsilon)

    def forward(
        self,
        inputs_embeds: torch.Tensor,  # [B, L, D]
        past_key_values: KVCache | None = None,
        attention_mask: torch.Tensor | None = None,  # bool/int [B, P+L], 1 = real token (left padding)
        use_cache: bool = False,
    ) -> tuple[torch.Tensor, KVCache | None]:
        """Run all blocks; returns ``ln_f`` output ``[B, L, D]`` and the new cache when ``use_cache``.

        ``past_key_values`` holds ``P`` earlier positions; new queries attend causally to them.
        ``attention_mask`` masks padded key positions (e.g. left-padded prompts in a batch).
        """
        b, l, _ = inputs_embeds.shape
        p = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        mask = None
        if attention_mask is not None or (p > 0 and l > 1):
            q_pos = torch.arange(p, p + l, device=inputs_embeds.device)[:, None]
            k_pos = torch.arange(p + l, device=inputs_embeds.device)[None, :]
            mask = (k_pos <= q_pos)[None, None]  # [1, 1, L, P+L]
            if attention_mask is not None:
                if attention_mask.shape != (b, p + l):
                    raise ValueError(f"attention_mask must be [{b}, {p + l}], got {list(attention_mask.shape)}")
                mask = mask & attention_mask.bool()[:, None, None, :]
                # a fully padded query row would give NaN; let it see itself (its output is unused)
                mask = mask | (k_pos == q_pos)[None, None]
        presents: KVCache = []
        x = inputs_embeds
        for i, block in enumerate(self.h):
            x, present = block(x, None if past_key_values is None else past_key_values[i], mask)
            if use_cache:
                presents.append(present)
        return self.ln_f(x), (presents if use_cache else None)


class LearnedPositionEmbeddings(nn.Module):
    """Coqui's position table (``*.emb.weight``); positions count from 0 per modality."""

    def __init__(self, seq_len: int, dim: int) -> None:
        super().__init__()
        self.emb = nn.Embedding(seq_len, dim)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        if positions.numel() and int(positions.max()) >= self.emb.num_embeddings:
            raise ValueError(f"position {int(positions.max())} exceeds the {self.emb.num_embeddings}-entry table")
        return self.emb(positions)


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

    def embed_text(self, wrapped_text: torch.Tensor) -> torch.Tensor:
        """``[B, L]`` (already wrapped) -> token + position embedding, positions 0..L-1."""
        pos = torch.arange(wrapped_text.shape[1], device=wrapped_text.device)
        return self.text_embedding(wrapped_text) + self.text_pos_embedding(pos)[None]

    def embed_audio(self, codes: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
        """Audio codes ``[B, N]`` at mel positions (``[B, N]``/``[N]`` tensor, or the first position as int).

        The start-audio token sits at position 0, generated code ``t`` (0-based) at ``t + 1``.
        """
        if isinstance(positions, int):
            positions = torch.arange(positions, positions + codes.shape[1], device=codes.device)
        pe = self.mel_pos_embedding(positions)
        return self.mel_embedding(codes.long()) + (pe if pe.dim() == 3 else pe[None])

    def embed_prefix(self, cond_latents: torch.Tensor, text_tokens: torch.Tensor) -> torch.Tensor:
        """The generation prompt ``[B, 32 + (L+2) + 1, D]``: latents, wrapped text, start-audio token.

        Running the blocks over it and taking the last position's hidden state gives the logits of
        the first audio code. ``text_tokens`` are raw tokenizer ids (no [START]/[STOP]).
        """
        wrapped = self.wrap_text(text_tokens)
        if wrapped.shape[1] > self.config.max_text_positions:
            raise ValueError(
                f"{text_tokens.shape[1]} text tokens exceed the model's limit of {self.config.max_text_tokens}"
            )
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

    def forward(
        self,
        inputs_embeds: torch.Tensor,
        past_key_values: KVCache | None = None,
        attention_mask: torch.Tensor | None = None,
        use_cache: bool = False,
    ) -> tuple[torch.Tensor, KVCache | None]:
        """Blocks + ``ln_f`` + ``final_norm``: ``[B, L, D]`` hidden states and the cache."""
        h, cache = self.gpt(inputs_embeds, past_key_values, attention_mask, use_cache)
        return self.final_norm(h), cache

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
        hidden, _ = self(emb)
        hidden = hidden[:, cond_latents.shape[1]:]
        lt = wrapped.shape[1]
        return self.text_head(hidden[:, :lt]), self.mel_head(hidden[:, lt:])
