"""Checkpoint layouts (Coqui, converted safetensors, AstraMindAI), conversion CLI and load errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from click.testing import CliRunner

from auralis_core.errors import EngineLoadError
from auralis_xttsv2.checkpoint import convert, load_checkpoint, ours_to_astramind
from auralis_xttsv2.cli import xttsv2_group


def _logits(ck, reference):
    return ck.model.get_logits(torch.from_numpy(reference["cond_default"]), torch.from_numpy(reference["text_tokens"]),
                               torch.from_numpy(reference["logits_codes"]))[1]


def _same_outputs(a, b, reference, ref_audio):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert torch.equal(_logits(a, reference), _logits(b, reference))
    la, ea = a.model.get_conditioning_latents(ref_audio)
    lb, eb = b.model.get_conditioning_latents(ref_audio)
    assert torch.equal(la, lb) and torch.equal(ea, eb)


def test_coqui_layout_and_speakers(small_ckpt, small_dir):
    assert small_ckpt.layout == "coqui"
    assert sorted(small_ckpt.speakers) == ["Ana Florence", "Claribel Dervla"]
    spk = small_ckpt.speakers["Ana Florence"]
    assert spk.gpt_cond_latent.shape == (1, 32, 64) and spk.speaker_embedding.shape == (1, 512, 1)
    assert small_ckpt.config.gpt.layers == 3 and small_ckpt.config.hifigan.upsample_initial_channel == 32
    assert small_ckpt.config.hifigan.speaker_encoder_layers == (1, 2, 1, 1)


def test_convert_roundtrip(small_ckpt, small_dir, tmp_path, reference, ref_audio):
    out = convert(small_dir, tmp_path / "conv")
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "config.json", "vocab.json", "speakers.safetensors"}
    ck = load_checkpoint(out)
    assert ck.layout == "auralis"
    _same_outputs(small_ckpt, ck, reference, ref_audio)
    assert sorted(ck.speakers) == sorted(small_ckpt.speakers)
    for name, spk in ck.speakers.items():
        assert torch.equal(spk.gpt_cond_latent, small_ckpt.speakers[name].gpt_cond_latent)
    with pytest.raises(EngineLoadError, match="not empty"):
        convert(small_dir, out)


def test_cli_convert(small_dir, tmp_path):
    res = CliRunner().invoke(xttsv2_group, ["convert", str(small_dir), str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c" / "model.safetensors").is_file()
    bad = CliRunner().invoke(xttsv2_group, ["convert", str(tmp_path), str(tmp_path / "d")])
    assert bad.exit_code != 0 and "not an XTTS checkpoint" in bad.output


def _write_astramind(small_ckpt, small_dir, root):
    """An AstraMindAI-layout copy of the fixture, with their key names and config fields."""
    from safetensors.torch import save_file

    core, gpt = ours_to_astramind(small_ckpt.model.state_dict())
    (root / "core_xttsv2").mkdir(parents=True)
    (root / "gpt").mkdir()
    save_file({k: v.contiguous() for k, v in core.items()}, str(root / "core_xttsv2" / "xtts-v2.safetensors"))
    save_file({k: v.contiguous() for k, v in gpt.items()}, str(root / "gpt" / "gpt2_model.safetensors"))
    g = small_ckpt.config.gpt
    gpt_cfg = {
        "model_type": "xtts_gpt", "architectures": ["XttsGPT"], "hidden_size": g.hidden_size, "n_inner": 4 * g.hidden_size,
        "num_hidden_layers": g.layers, "num_attention_heads": g.num_heads, "vocab_size": g.number_text_tokens,
        "number_text_tokens": g.number_text_tokens, "start_text_token": g.start_text_token,
        "stop_text_token": g.stop_text_token, "num_audio_tokens": 1026, "start_audio_token": 1024,
        "stop_audio_token": 1025, "max_audio_tokens": g.max_audio_tokens, "max_text_tokens": g.max_text_tokens,
        "max_prompt_tokens": 70, "use_perceiver_resampler": True, "layer_norm_epsilon": 1e-5,
        "decoder_input_dim": g.hidden_size, "audio_config": {"mel_channels": 80, "sample_rate": 22050,
                                                             "output_sample_rate": 24000},
    }
    core_cfg = {
        "model_type": "xtts", "architectures": ["Xtts"], "input_sample_rate": 22050, "output_sample_rate": 24000,
        "output_hop_length": 256, "decoder_input_dim": g.hidden_size, "d_vector_dim": 512,
        "cond_d_vector_in_each_upsampling_layer": True, "gpt_code_stride_len": 1024, "duration_const": 102400,
        "tokenizer_file": "", "num_chars": 255, "languages": list(small_ckpt.config.languages),
        "gpt_config": gpt_cfg,
    }
    (root / "gpt" / "config.json").write_text(json.dumps(gpt_cfg))
    (root / "core_xttsv2" / "config.json").write_text(json.dumps(core_cfg))
    shutil.copyfile(small_dir / "vocab.json", root / "gpt" / "tokenizer.json")
    return core, gpt


def test_astramind_layout(small_ckpt, small_dir, tmp_path, reference, ref_audio):
    core, gpt = _write_astramind(small_ckpt, small_dir, tmp_path / "astra")
    # the real AstraMindAI key names
    assert "gpt.h.0.attn.c_attn.weight" in gpt and "gpt.wte.weight" in gpt and "gpt.wpe.emb.weight" in gpt
    assert "mel_head.weight" in gpt and "final_norm.weight" in gpt and "final_norm.weight" in core
    assert "conditioning_encoder.init.weight" in core and "text_pos_embedding.emb.weight" in core
    assert "hifigan_decoder.waveform_decoder.ups.0.weight_g" in core and "mel_stats" in core
    ck = load_checkpoint(tmp_path / "astra")
    assert ck.layout == "astramind"
    _same_outputs(small_ckpt, ck, reference, ref_audio)
    # core folder + explicit GPT folder, and conversion to ours
    ck2 = load_checkpoint(tmp_path / "astra" / "core_xttsv2", gpt_path=tmp_path / "astra" / "gpt")
    assert torch.equal(_logits(ck2, reference), _logits(small_ckpt, reference))
    conv = load_checkpoint(convert(tmp_path / "astra", tmp_path / "conv"))
    assert torch.equal(_logits(conv, reference), _logits(small_ckpt, reference))


def test_astramind_missing_gpt_part(small_ckpt, small_dir, tmp_path):
    _write_astramind(small_ckpt, small_dir, tmp_path / "astra")
    with pytest.raises(EngineLoadError, match="GPT part was not found"):
        load_checkpoint(tmp_path / "astra" / "core_xttsv2")


def test_released_weight_norm_names_load(small_ckpt, small_dir, tmp_path, reference):
    """The released model.pth stores weight_g/weight_v; the fixture (torch 2.13) stores parametrizations."""
    d = tmp_path / "legacy"
    shutil.copytree(small_dir, d)
    sd = torch.load(d / "model.pth", weights_only=True)["model"]
    legacy = {k.replace(".parametrizations.weight.original0", ".weight_g")
               .replace(".parametrizations.weight.original1", ".weight_v"): v for k, v in sd.items()}
    legacy["gpt.gpt.wte.weight"] = legacy["gpt.mel_embedding.weight"]  # v1-style inference alias
    legacy["dvae.codebook.embed"] = torch.zeros(2, 2)  # trainer-only module Coqui ignores
    torch.save({"model": {f"xtts.{k}": v for k, v in legacy.items()}}, d / "model.pth")
    assert torch.equal(_logits(load_checkpoint(d), reference), _logits(small_ckpt, reference))


# --- errors -----------------------------------------------------------------------------------
@pytest.fixture()
def copy_dir(small_dir, tmp_path):
    d = tmp_path / "ck"
    shutil.copytree(small_dir, d, ignore=shutil.ignore_patterns("reference*"))
    return d


def test_missing_files(copy_dir):
    (copy_dir / "vocab.json").unlink()
    with pytest.raises(EngineLoadError, match=r"missing: .*vocab\.json"):
        load_checkpoint(copy_dir)
    (copy_dir / "model.pth").unlink()
    (copy_dir / "config.json").unlink()
    with pytest.raises(EngineLoadError, match="not an XTTS checkpoint"):
        load_checkpoint(copy_dir)


def test_corrupt_model_pth(copy_dir):
    data = (copy_dir / "model.pth").read_bytes()
    (copy_dir / "model.pth").write_bytes(data[: len(data) // 3])
    with pytest.raises(EngineLoadError, match="could not read .*model.pth"):
        load_checkpoint(copy_dir)


def test_shape_mismatch_names_key(copy_dir):
    ck = torch.load(copy_dir / "model.pth", weights_only=True)
    ck["model"]["gpt.gpt.h.1.mlp.c_fc.weight"] = torch.zeros(64, 128)
    torch.save(ck, copy_dir / "model.pth")
    with pytest.raises(EngineLoadError, match=r"'gpt.gpt.h.1.mlp.c_fc.weight'.*\[64, 128\].*\[64, 256\]"):
        load_checkpoint(copy_dir)


def test_layer_count_from_config(copy_dir):
    cfg = json.loads((copy_dir / "config.json").read_text())
    cfg["model_args"]["gpt_layers"] = 2
    (copy_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(EngineLoadError, match=r"model_args\.gpt_layers = 2 disagrees with the weights, which have 3"):
        load_checkpoint(copy_dir)
    # a genuinely 2-layer (fine-tuned) checkpoint loads from its config
    ck = torch.load(copy_dir / "model.pth", weights_only=True)
    ck["model"] = {k: v for k, v in ck["model"].items() if not k.startswith("gpt.gpt.h.2.")}
    torch.save(ck, copy_dir / "model.pth")
    assert len(load_checkpoint(copy_dir).model.gpt.gpt.h) == 2


def test_vocab_size_mismatch(copy_dir):
    vocab = json.loads((copy_dir / "vocab.json").read_text())
    vocab["model"]["vocab"]["extra"] = max(vocab["model"]["vocab"].values()) + 50
    (copy_dir / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(EngineLoadError, match=r"vocabulary size mismatch: .* 121 tokens .* 71 rows"):
        load_checkpoint(copy_dir)


def test_larger_vocab_finetune_loads(copy_dir, reference):
    vocab = json.loads((copy_dir / "vocab.json").read_text())
    vocab["model"]["vocab"]["newtok"] = 71
    (copy_dir / "vocab.json").write_text(json.dumps(vocab))
    ck = torch.load(copy_dir / "model.pth", weights_only=True)
    sd = ck["model"]
    for k in ("gpt.text_embedding.weight", "gpt.text_head.weight"):
        sd[k] = torch.cat([sd[k], torch.randn(1, sd[k].shape[1])])
    sd["gpt.text_head.bias"] = torch.cat([sd["gpt.text_head.bias"], torch.zeros(1)])
    torch.save(ck, copy_dir / "model.pth")
    loaded = load_checkpoint(copy_dir)
    assert loaded.config.gpt.number_text_tokens == 72
    assert loaded.model.gpt.text_head.out_features == 72


def test_repo_id_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EngineLoadError, match=r"'someone/xtts-finetune'.*HF_HUB_OFFLINE.*config.json \+ model.pth"):
        load_checkpoint("someone/xtts-finetune")


def test_bad_path_and_dtype(small_dir, tmp_path):
    with pytest.raises(EngineLoadError, match="not found"):
        load_checkpoint(str(tmp_path / "nope" / "deeper" / "x"))
    with pytest.raises(EngineLoadError, match="unsupported dtype"):
        load_checkpoint(small_dir, dtype="int8")
