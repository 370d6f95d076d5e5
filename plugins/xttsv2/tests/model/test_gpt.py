"""The GPT's one forward: KV-cache views, rows of different ages, dtypes, bounds."""

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
    full = gpt(torch.cat([prefix, gpt.embed_audio(codes, 1)], dim=1))
    cache = gpt.new_cache(1)
    p = prefix.shape[1]
    steps = [gpt(prefix, cache.view(0, 1, p))[:, -1]]
    for t in range(codes.shape[1]):
        steps.append(gpt(gpt.embed_audio(codes[:, t : t + 1], t + 1), cache.view(0, 1, 1))[:, -1])
    assert cache.lengths[0] == p + codes.shape[1]
    torch.testing.assert_close(torch.stack(steps, 1), full[:, p - 1 :], atol=1e-5, rtol=0)
    # a multi-token chunk over a cache (chunked prefill) agrees as well
    chunked = gpt.new_cache(1)
    gpt(prefix[:, :20], chunked.view(0, 1, 20))
    h1 = gpt(prefix[:, 20:], chunked.view(0, 1, p - 20))
    torch.testing.assert_close(h1, full[:, 20:p], atol=1e-5, rtol=0)


@torch.inference_mode()
@pytest.mark.parametrize("fused", [False, True])
def test_rows_of_different_ages_share_a_step(small_ckpt, prefix, fused):
    """Three sequences with different prompt lengths, decoded in one call, equal each alone;
    the per-row kernel (fused=False) is bit-identical, the fused masked kernel within float error."""
    gpt = small_ckpt.model.gpt
    prompts = [prefix, prefix[:, :30], prefix[:, :41]]
    codes = torch.tensor([[11], [600], [42]])
    batch = gpt.new_cache(4, capacity=8)  # small capacity: the step has to grow the cache
    alone = []
    for row, prompt in enumerate(prompts):
        gpt(prompt, batch.view(row, 1, prompt.shape[1]))
        own = gpt.new_cache(4)  # alone, padded to the same 4 rows with idle slots (see model.decoding)
        gpt(prompt, own.view(0, 1, prompt.shape[1]))
        x = gpt.embed_audio(torch.cat([codes[row:row + 1], torch.zeros(3, 1, dtype=torch.long)]), 1)
        alone.append(gpt(x, own.view(0, 4, 1, fused=fused))[0, -1])
    x = gpt.embed_audio(torch.cat([codes, torch.tensor([[0]])]), 1)  # a fourth, idle row pads the batch
    batch.reset(3)
    step = gpt(x, batch.view(0, 4, 1, fused=fused))[:3, -1]
    assert batch.lengths[:3] == [p.shape[1] + 1 for p in prompts]
    if fused:
        torch.testing.assert_close(step, torch.stack(alone), atol=1e-5, rtol=0)
    else:
        assert torch.equal(step, torch.stack(alone))


def test_cache_view_bounds(small_ckpt):
    cache = small_ckpt.model.gpt.new_cache(2)
    with pytest.raises(ValueError, match="outside"):
        cache.view(1, 2, 1)
    with pytest.raises(ValueError, match="one token at a time"):
        cache.view(0, 2, 3)


def test_position_out_of_range_is_an_error(small_ckpt):
    gpt = small_ckpt.model.gpt
    with pytest.raises(ValueError, match="exceeds"):
        gpt.embed_audio(torch.tensor([[1]]), gpt.config.max_mel_positions)
    with pytest.raises(ValueError, match="text tokens exceed"):
        gpt.embed_prefix(torch.zeros(1, 32, gpt.config.hidden_size),
                         torch.ones(1, gpt.config.max_text_tokens + 1, dtype=torch.long))


def test_position_span_equals_the_lookup(small_ckpt):
    """`embed_audio` from an int start (checked on the host: no device read-back) equals the
    lookup of the same positions as a tensor."""
    gpt = small_ckpt.model.gpt
    codes = torch.tensor([[3, 7, 1, 9], [0, 2, 2, 5]])
    by_tensor = gpt.embed_audio(codes, torch.arange(5, 9))
    assert torch.equal(gpt.embed_audio(codes, 5), by_tensor)
    last = gpt.config.max_mel_positions - codes.shape[1]
    assert torch.equal(gpt.embed_audio(codes, last), gpt.embed_audio(codes, torch.arange(last, last + 4)))
    with pytest.raises(ValueError, match="exceeds"):
        gpt.embed_audio(codes, last + 1)


def test_max_new_tokens(small_ckpt, reference):
    out = small_ckpt.model.generate(torch.from_numpy(reference["cond_default"]),
                                    torch.from_numpy(reference["text_tokens"]),
                                    SamplingParams.greedy(repetition_penalty=1.0), max_new_tokens=5)
    assert out.codes.tolist() == reference["codes_greedy_norep"][0, :5].tolist() and not out.stopped
    assert out.hidden_states.shape[0] == 5


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
