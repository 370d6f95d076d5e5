"""A config.json that disagrees with its weights fails at load, naming the config field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auralis_core.errors import EngineLoadError
from auralis_xttsv2.checkpoint import load_checkpoint
from auralis_xttsv2.checkpoint.random import state_digest


def _copy_with(src: Path, dst: Path, **model_args) -> Path:
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["model_args"].update(model_args)
    (dst / "config.json").write_text(json.dumps(cfg))
    return dst


def test_random_checkpoint_loads_strictly_and_reproducibly(random_ckpt_dir, tmp_path):
    from auralis_xttsv2.checkpoint.random import RandomCheckpointSpec, write_random_checkpoint

    ck = load_checkpoint(random_ckpt_dir)
    assert ck.layout == "coqui" and ck.config.gpt.layers == 2 and ck.config.gpt.hidden_size == 64
    spec = RandomCheckpointSpec(seed=3, layers=2, width=64, heads=4, max_audio_tokens=40, max_text_tokens=100,
                                hifigan_channels=16, speaker_filters=(4, 8, 8, 16), speaker_layers=(1, 1, 1, 1))
    again = write_random_checkpoint(spec, tmp_path / "again", random_ckpt_dir / "vocab.json")
    assert again == state_digest(ck.model.state_dict())
    other = write_random_checkpoint(RandomCheckpointSpec(**{**spec.__dict__, "seed": 4}), tmp_path / "other",
                                    random_ckpt_dir / "vocab.json")
    assert other != again


@pytest.mark.parametrize(
    "field,value,says",
    [
        ("gpt_layers", 3, "model_args.gpt_layers = 3 disagrees with the weights, which have 2"),
        ("gpt_n_model_channels", 128, "model_args.gpt_n_model_channels = 128"),
        ("gpt_num_audio_tokens", 1030, "model_args.gpt_num_audio_tokens = 1030"),
        ("gpt_max_audio_tokens", 605, "model_args.gpt_max_audio_tokens = 605 disagrees with the weights, which have 40"),
        ("gpt_max_text_tokens", 402, "model_args.gpt_max_text_tokens = 402"),
    ],
)
def test_config_disagreeing_with_weights_names_the_field(random_ckpt_dir, tmp_path, field, value, says):
    bad = _copy_with(random_ckpt_dir, tmp_path / "bad", **{field: value})
    with pytest.raises(EngineLoadError, match=says.replace(".", r"\.")):
        load_checkpoint(bad)


def test_vocabulary_disagreeing_with_weights_is_named(random_ckpt_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(random_ckpt_dir, bad)
    vocab = json.loads((bad / "vocab.json").read_text())
    vocab["model"]["vocab"]["<extra>"] = max(vocab["model"]["vocab"].values()) + 100
    (bad / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(EngineLoadError, match="vocabulary size mismatch.*gpt.text_embedding.weight"):
        load_checkpoint(bad)


def test_special_token_ids_come_from_the_tokenizers_library(tmp_path):
    """A vocab.json whose added tokens carry ids the library does not honour (it renumbers added
    tokens missing from the model vocabulary) gets the ids the text is encoded with, as Coqui's
    ``token_to_id``: the [START] id the GPT prepends must be the tokenizer's."""
    from tokenizers import Tokenizer

    from auralis_xttsv2.checkpoint.loader import token_id, vocab_size

    src = Path(__file__).parents[1] / "text" / "fixtures" / "text_vocab.json"
    data = json.loads(src.read_text(encoding="utf-8"))
    top = max(data["model"]["vocab"].values())
    for i in range(50):  # model entries after the added tokens' ids: the library renumbers those
        data["model"]["vocab"][f"<pad{i}>"] = top + 100 + i
    bad = tmp_path / "vocab.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    lib = Tokenizer.from_file(str(bad))
    listed = next(t["id"] for t in data["added_tokens"] if t["content"] == "[START]")
    assert lib.token_to_id("[START]") != listed  # the situation this guards against
    assert token_id(data, "[START]", bad) == lib.token_to_id("[START]")
    assert vocab_size(data, bad) == max(lib.get_vocab(with_added_tokens=True).values()) + 1
