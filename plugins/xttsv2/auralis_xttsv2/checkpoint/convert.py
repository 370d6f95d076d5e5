"""`convert`: Coqui or AstraMindAI checkpoint -> our safetensors layout.

Writes ``model.safetensors`` (our key names, contiguous tensors), ``config.json``
(``XTTSConfig.to_dict()`` with every size explicit, plus ``"format": "auralis-xttsv2"``),
``vocab.json`` (copied) and, when the source has named voices, ``speakers.safetensors``.
The weights are validated by building the model before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from auralis_core.errors import EngineLoadError

from .layouts import AURALIS_FORMAT
from .loader import build_model, read_checkpoint

FORMAT_VERSION = 1


def convert(src_dir: str | os.PathLike[str], dst_dir: str | os.PathLike[str], *,
            gpt_path: str | os.PathLike[str] | None = None, overwrite: bool = False) -> Path:
    from safetensors.torch import save_file

    src, dst = Path(src_dir), Path(dst_dir)
    if dst.exists() and any(dst.iterdir()) and not overwrite:
        raise EngineLoadError(f"destination {dst} exists and is not empty (use overwrite=True)")
    layout, config, sd, vocab, speakers = read_checkpoint(src, Path(gpt_path) if gpt_path else None)
    build_model(config, sd, vocab, source=str(src), layout=layout)  # validates names, shapes and vocabulary
    dst.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(dst / "model.safetensors"),
              metadata={"format": AURALIS_FORMAT, "source_layout": layout})
    cfg = {"format": AURALIS_FORMAT, "format_version": FORMAT_VERSION, "model_type": "xtts", **config.to_dict()}
    (dst / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(vocab, dst / "vocab.json")
    if speakers:
        names = list(speakers)
        tensors: dict[str, torch.Tensor] = {}
        for i, name in enumerate(names):
            tensors[f"speaker_{i}.gpt_cond_latent"] = speakers[name].gpt_cond_latent.contiguous()
            tensors[f"speaker_{i}.speaker_embedding"] = speakers[name].speaker_embedding.contiguous()
        save_file(tensors, str(dst / "speakers.safetensors"), metadata={"speakers": json.dumps(names)})
    return dst
