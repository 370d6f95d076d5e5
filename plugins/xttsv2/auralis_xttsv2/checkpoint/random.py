"""Randomly initialised XTTS-v2 checkpoints in Coqui's layout, reproducible from a seed.

Tests, parity fixtures and benchmarks need real checkpoints where no weights can be downloaded.
`write_random_checkpoint` builds `XTTSModel` from a `RandomCheckpointSpec`, moves every parameter
and buffer away from its initial value (so that no zero/one initialisation hides a bug), and
writes what a Coqui release holds: ``config.json`` (``model_args`` + inference defaults),
``model.pth`` (``{"model": state_dict}``, weight norm as ``weight_g``/``weight_v``) and
``vocab.json``. The same spec gives bit-identical tensors on every machine with the same torch
build; `state_digest` lets a test prove it before comparing against committed reference outputs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..model.config import HifiganConfig, XTTSConfig, XTTSGPTConfig
from ..model.xtts import XTTSModel
from .loader import token_id, vocab_size
from .layouts import read_json


@dataclass(frozen=True)
class RandomCheckpointSpec:
    """Sizes and seed of a random checkpoint; defaults are the released XTTS-v2 sizes."""

    seed: int = 0
    layers: int = 30
    width: int = 1024
    heads: int = 16
    max_audio_tokens: int = 605
    max_text_tokens: int = 402
    hifigan_channels: int = 512
    speaker_filters: tuple[int, ...] = (32, 64, 128, 256)
    speaker_layers: tuple[int, ...] = (3, 4, 6, 3)
    stop_bias: float = 0.0  # added to the stop code's logit bias: random weights rarely stop otherwise
    # inference defaults written into config.json (what a request that sets nothing gets)
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "temperature": 0.75, "length_penalty": 1.0, "repetition_penalty": 10.0, "top_k": 50, "top_p": 0.85,
        "gpt_cond_len": 30, "gpt_cond_chunk_len": 4, "max_ref_len": 30,
    })

    def config(self, number_text_tokens: int, start_text_token: int, stop_text_token: int) -> XTTSConfig:
        gpt = XTTSGPTConfig(
            layers=self.layers, hidden_size=self.width, num_heads=self.heads,
            number_text_tokens=number_text_tokens, start_text_token=start_text_token,
            stop_text_token=stop_text_token, max_audio_tokens=self.max_audio_tokens,
            max_text_tokens=self.max_text_tokens,
        )
        hifi = HifiganConfig(
            decoder_input_dim=self.width, upsample_initial_channel=self.hifigan_channels,
            speaker_encoder_num_filters=self.speaker_filters, speaker_encoder_layers=self.speaker_layers,
        )
        return XTTSConfig(gpt=gpt, hifigan=hifi, **self.defaults)


def perturb_(model: XTTSModel, generator: torch.Generator) -> None:
    """Move every parameter and buffer off its initial value, keeping each in a sane range."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "weight_g":  # weight-norm gain: keep it positive
                p.mul_(1.0 + 0.3 * torch.rand(p.shape, generator=generator))
            elif p.ndim == 1 and leaf in ("weight", "gamma") and ("norm" in name or "ln_" in name or "bn" in name):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=generator))
            else:
                p.add_(0.02 * torch.randn(p.shape, generator=generator))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=generator))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=generator))
            elif name.endswith("num_batches_tracked"):
                b.fill_(123)
        model.mel_stats.copy_(0.5 + torch.rand(model.mel_stats.shape, generator=generator))


def state_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, shapes, dtypes and bytes, in key order."""
    h = hashlib.sha256()
    for key in sorted(state_dict):
        t = state_dict[key].detach().contiguous().cpu().reshape(-1)
        h.update(f"{key}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def coqui_config_json(config: XTTSConfig) -> dict[str, Any]:
    """The part of Coqui's ``XttsConfig`` dump that a checkpoint's loader reads."""
    g, h = config.gpt, config.hifigan
    return {
        "model": "xtts",
        "model_args": {
            "gpt_layers": g.layers, "gpt_n_model_channels": g.hidden_size, "gpt_n_heads": g.num_heads,
            "gpt_number_text_tokens": g.number_text_tokens, "gpt_start_text_token": g.start_text_token,
            "gpt_stop_text_token": g.stop_text_token, "gpt_num_audio_tokens": g.num_audio_tokens,
            "gpt_start_audio_token": g.start_audio_token, "gpt_stop_audio_token": g.stop_audio_token,
            "gpt_max_audio_tokens": g.max_audio_tokens, "gpt_max_text_tokens": g.max_text_tokens,
            "gpt_max_prompt_tokens": g.max_prompt_tokens, "gpt_code_stride_len": g.code_stride_len,
            "gpt_use_perceiver_resampler": True, "gpt_use_masking_gt_prompt_approach": True,
            "input_sample_rate": h.input_sample_rate, "output_sample_rate": h.output_sample_rate,
            "output_hop_length": h.output_hop_length, "decoder_input_dim": h.decoder_input_dim,
            "d_vector_dim": h.d_vector_dim, "cond_d_vector_in_each_upsampling_layer": True,
            "tokenizer_file": "vocab.json",
        },
        "languages": list(config.languages),
        "temperature": config.temperature, "length_penalty": config.length_penalty,
        "repetition_penalty": config.repetition_penalty, "top_k": config.top_k, "top_p": config.top_p,
        "gpt_cond_len": config.gpt_cond_len, "gpt_cond_chunk_len": config.gpt_cond_chunk_len,
        "max_ref_len": config.max_ref_len, "sound_norm_refs": config.sound_norm_refs,
    }


def build_random_model(spec: RandomCheckpointSpec, vocab: Path) -> XTTSModel:
    """`XTTSModel` with the spec's sizes, the vocabulary's token ids and perturbed random weights."""

    data = read_json(vocab)
    start, stop = token_id(data, "[START]", vocab), token_id(data, "[STOP]", vocab)
    if start is None or stop is None:
        raise ValueError(f"{vocab} lacks the [START]/[STOP] tokens XTTS needs")
    config = spec.config(vocab_size(data, vocab), start, stop)
    torch.manual_seed(spec.seed)
    model = XTTSModel(config).eval()
    perturb_(model, torch.Generator().manual_seed(spec.seed + 1))
    with torch.no_grad():
        model.gpt.mel_head.bias[config.gpt.stop_audio_token] += spec.stop_bias
        _calibrate_loudness_(model, torch.Generator().manual_seed(spec.seed + 2))
    return model


def _calibrate_loudness_(model: XTTSModel, generator: torch.Generator, target_rms: float = 0.1) -> None:
    """Scale HiFi-GAN's last convolution so that random weights speak at about ``target_rms``
    (before ``tanh``): a random decoder is otherwise near-silent, and a near-silent waveform would
    make an absolute error bound say nothing."""
    decoder = model.hifigan_decoder
    latents = torch.randn(1, 8, model.config.gpt.hidden_size, generator=generator)
    speaker = torch.nn.functional.normalize(torch.randn(1, decoder.config.d_vector_dim, 1, generator=generator), dim=1)
    wav = decoder(latents, speaker)
    rms = float(torch.atanh(wav.clamp(-0.999, 0.999)).pow(2).mean().sqrt())
    if rms > 0:
        decoder.waveform_decoder.conv_post.weight.mul_(target_rms / rms)  # plain conv, no bias


def write_random_checkpoint(spec: RandomCheckpointSpec, out: Path, vocab: Path) -> str:
    """Write the Coqui layout into ``out`` (created); returns the `state_digest` of the weights."""
    out.mkdir(parents=True, exist_ok=True)
    model = build_random_model(spec, vocab)
    sd = model.state_dict()
    torch.save({"model": sd}, out / "model.pth")
    (out / "config.json").write_text(json.dumps(coqui_config_json(model.config), indent=2) + "\n")
    if vocab.resolve() != (out / "vocab.json").resolve():
        shutil.copyfile(vocab, out / "vocab.json")
    return state_digest(sd)


def padded_vocab(src: Path, dst: Path, size: int) -> Path:
    """``src`` with unused tokens appended up to ``size`` entries (the released vocabulary's size);
    tokens without merges never occur in encoded text, so tokenisation is unchanged. The special
    tokens go into the model vocabulary under their ids: otherwise ``tokenizers`` renumbers them
    after the model vocabulary when it loads the file."""
    data = json.loads(src.read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    for t in data.get("added_tokens", []):
        vocab.setdefault(t["content"], t["id"])
    taken = set(vocab) | {t["content"] for t in data.get("added_tokens", [])}
    ids = set(vocab.values()) | {t["id"] for t in data.get("added_tokens", [])}
    nxt, i = max(ids) + 1, 0
    while nxt < size:
        name = f"<unused{i}>"
        i += 1
        if name not in taken:
            vocab[name] = nxt
            nxt += 1
    dst.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return dst


def spec_from_dict(d: dict[str, Any]) -> RandomCheckpointSpec:
    d = dict(d)
    d["speaker_filters"], d["speaker_layers"] = tuple(d["speaker_filters"]), tuple(d["speaker_layers"])
    return RandomCheckpointSpec(**d)


__all__ = [
    "RandomCheckpointSpec", "build_random_model", "coqui_config_json", "padded_vocab", "perturb_", "spec_from_dict",
    "state_digest", "write_random_checkpoint",
]
