"""`load_checkpoint`: a local directory or Hugging Face repo id -> a ready `XTTSModel`.

Sizes come from the checkpoint's config (fine-tuned checkpoints with another vocabulary or layer
count load as they are); every tensor is checked against the model before ``load_state_dict``
(``strict=True``) so that a mismatch names the key and both shapes.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from auralis_core.errors import EngineLoadError

from ..model.config import XTTSConfig
from ..model.xtts import XTTSModel
from .layouts import (
    ASTRAMIND_CORE_WEIGHTS,
    astramind_to_ours,
    detect_layout,
    infer_hifigan_sizes,
    normalize_coqui_keys,
    read_json,
)

logger = logging.getLogger(__name__)

DEFAULT_ASTRAMIND_GPT_REPO = "AstraMindAI/xtts2-gpt"
_DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
           "half": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


@dataclass
class Speaker:
    gpt_cond_latent: torch.Tensor  # [1, 32, D]
    speaker_embedding: torch.Tensor  # [1, 512, 1]


@dataclass
class LoadedCheckpoint:
    model: XTTSModel
    config: XTTSConfig
    vocab_path: Path
    layout: str
    source: Path
    speakers: dict[str, Speaker] = field(default_factory=dict)


def resolve_dtype(dtype: torch.dtype | str | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise EngineLoadError(f"unsupported dtype {dtype}; use float32, float16 or bfloat16")
        return dtype
    try:
        return _DTYPES[str(dtype).lower().removeprefix("torch.")]
    except KeyError:
        raise EngineLoadError(f"unsupported dtype {dtype!r}; use one of {sorted(_DTYPES)}") from None


# --- reading files ----------------------------------------------------------------------------
class CoquiObject:
    """Inert stand-in for a pickled Coqui config object (the released ``model.pth`` pickles its
    ``XttsConfig``). Unpickling keeps the object's state as plain data and runs no code; Coqui is
    never imported. Auralis reads the configuration from ``config.json``, not from here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


COQUI_PICKLED_CLASSES = (
    "TTS.tts.configs.xtts_config.XttsConfig",
    "TTS.tts.models.xtts.XttsAudioConfig",
    "TTS.tts.models.xtts.XttsArgs",
    "TTS.config.shared_configs.BaseDatasetConfig",
)
"""The only non-tensor classes a Coqui XTTS checkpoint contains; each loads as `CoquiObject`."""

_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")  # torch names the refused class or function so


def read_model_pth(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of a Coqui ``model.pth``, read with ``weights_only=True``: tensors, plain
    containers and the Coqui config classes above; any other pickled global is refused by name."""
    if not path.is_file():
        raise EngineLoadError(f"missing checkpoint file: {path}")
    try:
        with torch.serialization.safe_globals([(CoquiObject, name) for name in COQUI_PICKLED_CLASSES]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = _REFUSED_GLOBAL.search(str(e))
        if found:
            raise EngineLoadError(
                f"refusing to load {path}: it pickles {found.group(1)!r}, which is not a tensor, a plain "
                f"container or one of Coqui's config classes ({', '.join(COQUI_PICKLED_CLASSES)}); "
                "loading it could run code"
            ) from None
        raise EngineLoadError(f"refusing to load {path}: {_reason(e)}") from None
    except Exception as e:  # noqa: BLE001
        raise EngineLoadError(f"could not read {path} (corrupt or not a torch checkpoint): {e}") from e
    sd = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise EngineLoadError(f"{path} has no state dict under 'model'")
    return sd


def _reason(exc: BaseException) -> str:
    """torch's weights-only errors wrap the reason in boilerplate paragraphs; keep the reason."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    boilerplate = ("Weights only load failed", "Check the documentation", "(1)", "(2)")
    reason = next((line for line in lines if not line.startswith(boilerplate)), lines[0] if lines else repr(exc))
    return reason.removeprefix("WeightsUnpickler error:").strip()


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise EngineLoadError(f"missing checkpoint file: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise EngineLoadError(f"could not read {path} (corrupt safetensors file): {e}") from e


def vocab_size(data: dict[str, Any], path: Path) -> int:
    """Number of token ids the tokenizers ``vocab.json`` at ``path`` defines (max id + 1, as
    Coqui's ``get_number_tokens``), as the ``tokenizers`` library reads the file."""
    if not isinstance(data.get("model"), dict) or not data["model"].get("vocab"):
        raise EngineLoadError(f"{path} is not a tokenizers vocabulary (no model.vocab)")
    return max(_library_vocab(path).values()) + 1


def token_id(data: dict[str, Any], token: str, path: Path) -> int | None:
    """``token``'s id as the ``tokenizers`` library assigns it (what encodes the text, and what
    Coqui's ``token_to_id`` reads). The library can renumber added tokens that the JSON lists with
    other ids, so the file's ``"id"`` fields are not the authority."""
    return _library_vocab(path).get(token)


def _library_vocab(path: Path) -> dict[str, int]:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_str(path.read_text(encoding="utf-8")).get_vocab(with_added_tokens=True)
    except Exception as e:  # noqa: BLE001 - tokenizers raises plain Exception for bad files
        raise EngineLoadError(f"could not read the vocabulary {path}: {e}") from e


# --- building ---------------------------------------------------------------------------------
# Where each layout's config states the sizes the weights also fix (for error messages).
_SIZE_FIELDS = {
    "coqui": {"layers": "model_args.gpt_layers", "hidden_size": "model_args.gpt_n_model_channels",
              "num_audio_tokens": "model_args.gpt_num_audio_tokens",
              "max_audio_tokens": "model_args.gpt_max_audio_tokens", "max_text_tokens": "model_args.gpt_max_text_tokens"},
    "astramind": {"layers": "gpt_config.num_hidden_layers", "hidden_size": "gpt_config.hidden_size",
                  "num_audio_tokens": "gpt_config.num_audio_tokens", "max_audio_tokens": "gpt_config.max_audio_tokens",
                  "max_text_tokens": "gpt_config.max_text_tokens"},
    "auralis": {name: f"gpt.{name}" for name in ("layers", "hidden_size", "num_audio_tokens", "max_audio_tokens",
                                                   "max_text_tokens")},
}


def _sizes_in_weights(sd: dict[str, torch.Tensor]) -> dict[str, tuple[int, str]]:
    """GPT sizes the tensors fix, each with the tensor that shows it (heads cannot be seen in weights)."""
    found: dict[str, tuple[int, str]] = {}
    blocks = {int(m.group(1)) for k in sd if (m := re.match(r"gpt\.gpt\.h\.(\d+)\.", k))}
    if blocks:
        found["layers"] = (max(blocks) + 1, f"blocks gpt.gpt.h.0..{max(blocks)}")
    checks = {  # name: (tensor, dimension, offset the config adds)
        "hidden_size": ("gpt.gpt.ln_f.weight", 0, 0),
        "num_audio_tokens": ("gpt.mel_embedding.weight", 0, 0),
        "max_audio_tokens": ("gpt.mel_pos_embedding.emb.weight", 0, 3),
        "max_text_tokens": ("gpt.text_pos_embedding.emb.weight", 0, 2),
    }
    for name, (key, dim, extra) in checks.items():
        if key in sd and sd[key].dim() > dim:
            rows = int(sd[key].shape[dim])
            found[name] = (rows - extra, f"{key} has {rows} {'rows' if dim == 0 else 'columns'}")
    return found


def check_sizes(config: XTTSConfig, sd: dict[str, torch.Tensor], layout: str) -> None:
    """A config that disagrees with its weights fails here, naming the config field."""
    fields = _SIZE_FIELDS.get(layout, _SIZE_FIELDS["auralis"])
    for name, (actual, evidence) in _sizes_in_weights(sd).items():
        stated = getattr(config.gpt, name)
        if stated != actual:
            raise EngineLoadError(
                f"config field {fields[name]} = {stated} disagrees with the weights, which have {actual} "
                f"({evidence}); the checkpoint's config.json does not belong to these weights"
            )


def build_model(config: XTTSConfig, state_dict: dict[str, torch.Tensor], vocab: Path, *, source: str,
                layout: str = "auralis") -> XTTSModel:
    """Check config against vocab and tensors, then load ``strict=True``."""
    check_sizes(config, state_dict, layout)
    vocab_data = read_json(vocab)
    n_vocab = vocab_size(vocab_data, vocab)
    emb = state_dict.get("gpt.text_embedding.weight")
    if emb is not None and emb.shape[0] != n_vocab:
        raise EngineLoadError(
            f"vocabulary size mismatch: {vocab} defines {n_vocab} tokens but the checkpoint's "
            f"gpt.text_embedding.weight has {emb.shape[0]} rows"
        )
    # as Coqui: the vocabulary decides the text token count and the [START]/[STOP] ids
    config.gpt.number_text_tokens = n_vocab
    for attr, token in (("start_text_token", "[START]"), ("stop_text_token", "[STOP]")):
        tid = token_id(vocab_data, token, vocab)
        if tid is not None:
            setattr(config.gpt, attr, tid)
    config.hifigan = infer_hifigan_sizes(state_dict, config.hifigan)
    with torch.device("meta"):
        probe = XTTSModel(config)
    expected = probe.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:5])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:5])})")
        raise EngineLoadError(f"checkpoint {source} does not match the XTTS model: " + "; ".join(parts))
    for key, ref in expected.items():
        if tuple(state_dict[key].shape) != tuple(ref.shape):
            raise EngineLoadError(
                f"shape mismatch for {key!r} in {source}: checkpoint has {list(state_dict[key].shape)}, "
                f"config {config_summary(config)} expects {list(ref.shape)}"
            )
    model = XTTSModel(config)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def config_summary(config: XTTSConfig) -> str:
    g = config.gpt
    return f"(layers={g.layers}, width={g.hidden_size}, heads={g.num_heads}, text tokens={g.number_text_tokens})"


def _speakers_from_pth(path: Path) -> dict[str, Speaker]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise EngineLoadError(f"could not read speaker file {path}: {e}") from e
    if not isinstance(data, dict):
        raise EngineLoadError(f"{path} does not map speaker names to latents")
    out = {}
    for name, entry in data.items():
        try:
            out[str(name)] = Speaker(entry["gpt_cond_latent"].float(), entry["speaker_embedding"].float())
        except (KeyError, TypeError, AttributeError) as e:
            raise EngineLoadError(f"speaker {name!r} in {path} lacks gpt_cond_latent/speaker_embedding") from e
    return out


def read_speakers_safetensors(path: Path) -> dict[str, Speaker]:
    import json

    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            names = json.loads((f.metadata() or {}).get("speakers", "[]"))
            return {name: Speaker(f.get_tensor(f"speaker_{i}.gpt_cond_latent"),
                                  f.get_tensor(f"speaker_{i}.speaker_embedding")) for i, name in enumerate(names)}
    except Exception as e:  # noqa: BLE001
        raise EngineLoadError(f"could not read speaker file {path}: {e}") from e


def _require(paths: list[Path], layout: str) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EngineLoadError(f"{layout} checkpoint is missing: {', '.join(missing)}")


def read_checkpoint(path: Path, gpt_path: Path | None = None
                    ) -> tuple[str, XTTSConfig, dict[str, torch.Tensor], Path, dict[str, Speaker]]:
    """Read any supported local layout into (layout, config, state dict in our names, vocab, speakers)."""
    layout = detect_layout(path)
    speakers: dict[str, Speaker] = {}
    if layout == "coqui":
        _require([path / "config.json", path / "model.pth", path / "vocab.json"], "Coqui XTTS")
        config = XTTSConfig.from_coqui(read_json(path / "config.json"))
        sd = normalize_coqui_keys(read_model_pth(path / "model.pth"))
        vocab = path / "vocab.json"
        if (path / "speakers_xtts.pth").is_file():
            speakers = _speakers_from_pth(path / "speakers_xtts.pth")
    elif layout == "auralis":
        _require([path / "config.json", path / "model.safetensors", path / "vocab.json"], "auralis XTTS")
        config = XTTSConfig.from_dict(read_json(path / "config.json"))
        sd = read_safetensors(path / "model.safetensors")
        vocab = path / "vocab.json"
        if (path / "speakers.safetensors").is_file():
            speakers = read_speakers_safetensors(path / "speakers.safetensors")
    else:
        core_dir = path / "core_xttsv2" if (path / "core_xttsv2" / ASTRAMIND_CORE_WEIGHTS).is_file() else path
        if gpt_path is None:
            gpt_path = path / "gpt"
        if not gpt_path.is_dir():
            raise EngineLoadError(
                f"AstraMindAI checkpoint {path}: its GPT part was not found at {gpt_path} "
                f"(pass gpt_path=, e.g. a local copy of {DEFAULT_ASTRAMIND_GPT_REPO})"
            )
        gpt_weights = sorted(gpt_path.glob("*.safetensors"))
        if not gpt_weights:
            raise EngineLoadError(f"AstraMindAI GPT folder {gpt_path} is missing its *.safetensors weights")
        _require([core_dir / "config.json", core_dir / ASTRAMIND_CORE_WEIGHTS], "AstraMindAI XTTS")
        vocab = next((d / n for d in (gpt_path, core_dir, path) for n in ("vocab.json", "tokenizer.json")
                      if (d / n).is_file()), None)
        if vocab is None:
            raise EngineLoadError(f"AstraMindAI checkpoint is missing its tokenizer: no vocab.json or "
                                  f"tokenizer.json in {gpt_path} or {core_dir}")
        gpt_cfg = read_json(gpt_path / "config.json") if (gpt_path / "config.json").is_file() else None
        config = XTTSConfig.from_astramind(read_json(core_dir / "config.json"), gpt_cfg)
        gpt_sd: dict[str, torch.Tensor] = {}
        for f in gpt_weights:
            gpt_sd.update(read_safetensors(f))
        sd = astramind_to_ours(read_safetensors(core_dir / ASTRAMIND_CORE_WEIGHTS), gpt_sd)
    return layout, config, sd, vocab, speakers


# --- hub --------------------------------------------------------------------------------------
def _looks_like_repo_id(s: str) -> bool:
    parts = s.split("/")
    return len(parts) == 2 and all(parts) and not s.startswith((".", "/", "~")) and not os.path.exists(s)


def download(repo_id: str, revision: str | None = None) -> Path:
    """``snapshot_download`` of a hub repo; offline or unavailable -> one clear EngineLoadError."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:  # pragma: no cover - declared dependency
        raise EngineLoadError("loading from the Hugging Face Hub needs huggingface_hub") from e
    patterns = ["config.json", "vocab.json", "tokenizer.json", "model.pth", "speakers_xtts.pth",
                "*.safetensors", "tokenizer_config.json"]
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except Exception as e:  # noqa: BLE001 - hub errors come in many types
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        why = "HF_HUB_OFFLINE is set and it is not in the local cache" if offline else f"{type(e).__name__}: {e}"
        raise EngineLoadError(
            f"could not fetch XTTS checkpoint {repo_id!r} from the Hugging Face Hub ({why}); needed files: "
            "config.json + model.pth + vocab.json (Coqui layout), or config.json + model.safetensors + vocab.json"
        ) from e


def load_checkpoint(
    path_or_repo_id: str | os.PathLike[str],
    device: str | torch.device = "cpu",
    dtype: torch.dtype | str | None = torch.float32,
    *,
    gpt_path: str | os.PathLike[str] | None = None,
    revision: str | None = None,
) -> LoadedCheckpoint:
    """Load an XTTS-v2 checkpoint (Coqui, AstraMindAI or auralis layout) from disk or the Hub.

    ``gpt_path`` is the GPT half of an AstraMindAI checkpoint (a directory or repo id; defaults to
    ``<path>/gpt``, or ``AstraMindAI/xtts2-gpt`` for the ``AstraMindAI/xttsv2`` repo).
    """
    target_dtype = resolve_dtype(dtype)
    src = str(path_or_repo_id)
    path = Path(src).expanduser()
    if not path.exists():
        if not _looks_like_repo_id(src):
            raise EngineLoadError(f"checkpoint {src!r} not found: neither a local directory nor a hub repo id")
        path = download(src, revision)
        if gpt_path is None and (path / ASTRAMIND_CORE_WEIGHTS).is_file():
            gpt_path = DEFAULT_ASTRAMIND_GPT_REPO
    gpt_dir = None
    if gpt_path is not None:
        gpt_dir = Path(gpt_path).expanduser()
        if not gpt_dir.exists() and _looks_like_repo_id(str(gpt_path)):
            gpt_dir = download(str(gpt_path), None)
    layout, config, sd, vocab, speakers = read_checkpoint(path, gpt_dir)
    model = build_model(config, sd, vocab, source=str(path), layout=layout)
    try:
        model = model.to(device)
    except (RuntimeError, AssertionError) as e:
        raise EngineLoadError(f"could not move the XTTS model to device {device!r}: {e}") from e
    if target_dtype != torch.float32:
        model.cast(target_dtype)
    logger.info("loaded XTTS %s checkpoint from %s %s", layout, path, config_summary(config))
    return LoadedCheckpoint(model=model, config=config, vocab_path=vocab, layout=layout, source=path,
                            speakers=speakers)
