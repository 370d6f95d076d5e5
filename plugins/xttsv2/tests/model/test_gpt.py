"""KV-cache, padding and dtype behaviour of the GPT the generation backend builds on."""

from __future__ import annotations

import pytest
import torch

from auralis_xttsv2.model import SamplingParams


@pytest.fixture(scope="module")
def prefix(small_ckpt, reference):
    gpt = small_ckpt.model.gpt
    return gpt.embed_prefix(torch.from_numpy(reference["cond_default"]), torch.from_numpy(reference["text_tokens"]))


@torch.inference_mode()
def test_incremental_cache_equals_full_pass(small_ckpt, prefix):
    gpt = small_ckpt.model.gpt
    codes = torch.tensor([[5, 900, 77, 3, 1000]])
    full, _ = gpt(torch.cat([prefix, gpt.embed_audio(codes, 1)], dim=1))
    h, cache = gpt(prefix, use_cache=True)
    steps = [h[:, -1]]
    for t in range(codes.shape[1]):
        h, cache = gpt(gpt.embed_audio(codes[:, t : t + 1], t + 1), past_key_values=cache, use_cache=True)
        steps.append(h[:, -1])
    p = prefix.shape[1]
    torch.testing.assert_close(torch.stack(steps, 1), full[:, p - 1 :], atol=1e-5, rtol=0)
    # a multi-token chunk over a cache (chunked prefill) agrees as well
    h0, cache0 = gpt(prefix[:, :20], use_cache=True)
    h1, _ = gpt(prefix[:, 20:], past_key_values=cache0, use_cache=True)
    torch.testing.assert_close(h1, full[:, 20:p], atol=1e-5, rtol=0)


@torch.inference_mode()
def test_left_padding_mask(small_ckpt, prefix):
    gpt = small_ckpt.model.gpt
    pad = 3
    padded = torch.cat([torch.randn(1, pad, prefix.shape[2]), prefix], dim=1)
    mask = torch.ones(1, padded.shape[1], dtype=torch.bool)
    mask[:, :pad] = False
    ref, _ = gpt(prefix)
    out, cache = gpt(padded, attention_mask=mask, use_cache=True)
    torch.testing.assert_close(out[:, pad:], ref, atol=1e-5, rtol=0)
    nxt = gpt.embed_audio(torch.tensor([[7]]), 1)
    step, _ = gpt(nxt, past_key_values=cache, attention_mask=torch.cat([mask, torch.ones(1, 1, dtype=torch.bool)], 1))
    full, _ = gpt(torch.cat([prefix, nxt], 1))
    torch.testing.assert_close(step[:, -1], full[:, -1], atol=1e-5, rtol=0)


def test_position_out_of_range_is_an_error(small_ckpt):
    gpt = small_ckpt.model.gpt
    with pytest.raises(ValueError, match="exceeds"):
        gpt.embed_audio(torch.tensor([[1]]), gpt.config.max_mel_positions)
    with pytest.raises(ValueError, match="text tokens exceed"):
        gpt.embed_prefix(torch.zeros(1, 32, gpt.config.hidden_size),
                         torch.ones(1, gpt.config.max_text_tokens + 1, dtype=torch.long))


def test_max_new_tokens(small_ckpt, reference):
    out = small_ckpt.model.generate(torch.from_numpy(reference["cond_default"]),
                                    torch.from_numpy(reference["text_tokens"]),
                                    SamplingParams(do_sample=False, repetition_penalty=1.0), max_new_tokens=5)
    assert out.codes.tolist() == reference["codes_greedy_norep"][0, :5].tolist() and not out.stopped
    assert out.hidden_states.shape[0] == 5


def test_invalid_sampling_params():
    from auralis_core.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="top_p"):
        SamplingParams(top_p=0.0)
    with pytest.raises(InvalidRequestError, match="temperature"):
        SamplingParams(temperature=0.0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_runs_close(small_dir, reference, dtype):
    from auralis_xttsv2.checkpoint import load_checkpoint

    ck = load_checkpoint(small_dir, dtype=dtype)
    assert ck.model.gpt.mel_head.weight.dtype == dtype
    assert ck.model.hifigan_decoder.speaker_encoder.fc.weight.dtype == torch.float32
    cond = torch.from_numpy(reference["cond_default"])
    _, mel = ck.model.get_logits(cond, torch.from_numpy(reference["text_tokens"]),
                                 torch.from_numpy(reference["logits_codes"]))
    err = (mel.float() - torch.from_numpy(reference["mel_logits"])).abs().max().item()
    assert err < 0.1
    out = ck.model.generate(cond, torch.from_numpy(reference["text_tokens"]), max_new_tokens=4)
    wav = ck.model.decode(out.hidden_states, torch.from_numpy(reference["spk_default"]))
    assert torch.isfinite(wav.float()).all()
