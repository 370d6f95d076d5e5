"""Checkpoint layouts and the key mappings onto `XTTSModel`'s (= Coqui's) parameter names.

* ``coqui``: ``config.json`` (XttsConfig dump), ``model.pth`` (state dict under ``"model"``),
  ``vocab.json``, optional ``speakers_xtts.pth``.
* ``astramind``: AstraMindAI's converted safetensors, two parts. The core part
  (``xtts-v2.safetensors`` + ``config.json`` with ``gpt_config``; HF repo ``AstraMindAI/xttsv2``)
  holds everything but the transformer with the ``gpt.`` prefix stripped
  (``conditioning_encoder.*``, ``text_embedding.weight``, ``hifigan_decoder.*``, ``mel_stats``, ...).
  The GPT part (repo ``AstraMindAI/xtts2-gpt``: ``config.json``, ``*.safetensors``, tokenizer)
  holds ``gpt.h.*``, ``gpt.ln_f.*``, ``gpt.wte.weight`` (= ``mel_embedding``),
  ``gpt.wpe.emb.weight`` (= ``mel_pos_embedding``), ``mel_head.*`` and ``final_norm.*``.
  Their converter writes ``<out>/core_xttsv2/`` and ``<out>/gpt/``.
* ``auralis``: ours, written by `convert`: ``model.safetensors`` (our key names), ``config.json``
  (``XTTSConfig.to_dict`` + ``"format": "auralis-xttsv2"``), ``vocab.json``, ``speakers.safetensors``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from auralis_core.errors import EngineLoadError

from ..model.config import HifiganConfig

AURALIS_FORMAT = "auralis-xttsv2"
ASTRAMIND_CORE_WEIGHTS = "xtts-v2.safetensors"
# Keys Coqui itself drops when loading (trainer-only modules), and wrapper aliases.
_COQUI_IGNORED_PREFIXES = ("torch_mel_spectrogram_style_encoder.", "torch_mel_spectrogram_dvae.", "dvae.",
                           "gpt.gpt_inference.")
_COQUI_ALIASES = ("gpt.gpt.wte.weight",)  # = gpt.mel_embedding.weight after init_gpt_for_inference


def detect_layout(path: Path) -> str:
    """``coqui`` | ``astramind`` | ``auralis`` for a local directory; EngineLoadError otherwise."""
    if not path.is_dir():
        raise EngineLoadError(f"checkpoint path {str(path)!r} is not a directory")
    cfg = path / "config.json"
    if (path / "model.safetensors").is_file() and cfg.is_file():
        if read_json(cfg).get("format") == AURALIS_FORMAT:
            return "auralis"
    if (path / ASTRAMIND_CORE_WEIGHTS).is_file() or (path / "core_xttsv2" / ASTRAMIND_CORE_WEIGHTS).is_file():
        return "astramind"
    if (path / "model.pth").is_file() or (cfg.is_file() and "model_args" in read_json(cfg)):
        return "coqui"
    present = sorted(p.name for p in path.iterdir())[:20]
    raise EngineLoadError(
        f"{str(path)!r} is not an XTTS checkpoint: expected config.json + model.pth (Coqui), "
        f"{ASTRAMIND_CORE_WEIGHTS} (AstraMindAI) or model.safetensors (auralis); found {present}"
    )


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EngineLoadError(f"missing checkpoint file: {path}") from None
    except (OSError, ValueError) as e:
        raise EngineLoadError(f"could not read {path}: {e}") from e
    if not isinstance(data, dict):
        raise EngineLoadError(f"{path} does not hold a JSON object")
    return data


def normalize_coqui_keys(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Coqui ``model.pth`` (released or trainer-written) -> our names.

    Strips the trainer's ``xtts.`` prefix, drops DVAE / trainer mel modules and the inference
    wrapper, and renames torch's parametrized weight norm (``parametrizations.weight.original0/1``)
    to the ``weight_g``/``weight_v`` names of the released checkpoint.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key.startswith("xtts."):
            key = key[len("xtts."):]
        if key.startswith(_COQUI_IGNORED_PREFIXES) or key in _COQUI_ALIASES:
            continue
        key = key.replace(".parametrizations.weight.original0", ".weight_g")
        key = key.replace(".parametrizations.weight.original1", ".weight_v")
        out[key] = value
    return out


_ASTRA_CORE_TO_GPT = ("conditioning_encoder.", "conditioning_perceiver.", "text_embedding.", "text_pos_embedding.",
                      "text_head.", "final_norm.", "mel_embedding.", "mel_pos_embedding.", "mel_head.")


def astramind_to_ours(core: dict[str, torch.Tensor], gpt: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Merge AstraMindAI's core and GPT safetensors into our names."""
    out: dict[str, torch.Tensor] = {}
    for key, value in core.items():
        if key.startswith(_ASTRA_CORE_TO_GPT):
            key = "gpt." + key
        out[key] = value
    for key, value in gpt.items():
        if key == "gpt.wte.weight":
            new = "gpt.mel_embedding.weight"
        elif key == "gpt.wpe.emb.weight":
            new = "gpt.mel_pos_embedding.emb.weight"
        elif key.startswith("gpt."):
            new = "gpt." + key  # gpt.h.* / gpt.ln_f.* -> gpt.gpt.h.* / gpt.gpt.ln_f.*
        else:
            new = "gpt." + key  # mel_head.* / final_norm.*
        if new in out and not torch.equal(out[new], value):
            raise EngineLoadError(f"AstraMindAI core and GPT weights disagree on {key!r}")
        out[new] = value
    return normalize_coqui_keys(out)


def ours_to_astramind(sd: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Inverse of `astramind_to_ours` (what AstraMindAI's converter writes from a Coqui checkpoint)."""
    core: dict[str, torch.Tensor] = {}
    gpt: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key == "gpt.mel_embedding.weight":
            gpt["gpt.wte.weight"] = value
        elif key == "gpt.mel_pos_embedding.emb.weight":
            gpt["gpt.wpe.emb.weight"] = value
        elif key.startswith("gpt.gpt."):
            gpt[key[len("gpt."):]] = value
        elif key.startswith("gpt.mel_head."):
            gpt[key[len("gpt."):]] = value
        elif key.startswith("gpt.final_norm."):
            gpt[key[len("gpt."):]] = value
            core[key[len("gpt."):]] = value
        elif key.startswith("gpt."):
            core[key[len("gpt."):]] = value
        else:
            core[key] = value
    return core, gpt


def infer_hifigan_sizes(sd: dict[str, torch.Tensor], base: HifiganConfig) -> HifiganConfig:
    """Channel/filter/block sizes Coqui hard-codes, read from tensor shapes (for reduced decoders)."""
    kw = dict(base.__dict__)
    pre = sd.get("hifigan_decoder.waveform_decoder.conv_pre.weight")
    if pre is not None:
        kw["upsample_initial_channel"] = int(pre.shape[0])
        kw["decoder_input_dim"] = int(pre.shape[1])
    cond = sd.get("hifigan_decoder.waveform_decoder.cond_layer.weight")
    if cond is not None:
        kw["d_vector_dim"] = int(cond.shape[1])
    kw["cond_d_vector_in_each_upsampling_layer"] = any(
        k.startswith("hifigan_decoder.waveform_decoder.conds.") for k in sd
    ) or not any(k.startswith("hifigan_decoder.") for k in sd)
    filters, layers = [], []
    for stage in range(1, 5):
        w = sd.get(f"hifigan_decoder.speaker_encoder.layer{stage}.0.conv1.weight")
        if w is None:
            return HifiganConfig(**kw)
        filters.append(int(w.shape[0]))
        blocks = {int(m.group(1)) for k in sd
                  if (m := re.match(rf"hifigan_decoder\.speaker_encoder\.layer{stage}\.(\d+)\.", k))}
        layers.append(max(blocks) + 1)
    kw["speaker_encoder_num_filters"] = tuple(filters)
    kw["speaker_encoder_layers"] = tuple(layers)
    return HifiganConfig(**kw)
