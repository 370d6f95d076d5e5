"""Streaming HiFi-GAN decoding equals the one-shot decode, without gaps or clicks at seams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auralis_xttsv2.model.sampling import SamplingParams
from auralis_xttsv2.streaming import StreamingDecoder


@pytest.fixture(scope="module")
def latents(small_ckpt, reference):
    out = small_ckpt.model.generate(
        torch.from_numpy(reference["cond_default"]), torch.from_numpy(reference["text_tokens"]),
        SamplingParams(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0),
        max_new_tokens=150, generator=torch.Generator().manual_seed(3),
    )
    # the tiny model stops at 57 codes; HiFi-GAN takes any latent sequence, so chain three
    states = torch.cat([out.hidden_states, out.hidden_states.flip(0), out.hidden_states])
    assert states.shape[0] > 100
    return states


def _stream(model, latents, spk, piece: int, **kw) -> tuple[np.ndarray, list[int]]:
    decoder = StreamingDecoder(model, spk, **kw)
    parts, seams = [], []
    for i in range(0, len(latents), piece):
        final = i + piece >= len(latents)
        audio = decoder.push(latents[i : i + piece], final=final)
        if audio is not None and audio.numel():
            parts.append(audio.numpy())
            seams.append(sum(len(p) for p in parts))
    return np.concatenate(parts), seams[:-1]


@pytest.mark.parametrize(("piece", "chunk_codes"), [(1, 8), (7, 16), (24, 24)])
def test_streaming_matches_one_shot(small_ckpt, reference, latents, piece, chunk_codes):
    model = small_ckpt.model
    spk = torch.from_numpy(reference["spk_default"])
    full = model.decode(latents, spk)[0, 0].numpy()
    streamed, seams = _stream(model, latents, spk, piece, chunk_codes=chunk_codes)
    assert len(seams) >= 3, "expected several chunks"
    assert streamed.shape == full.shape  # no gaps, nothing dropped or duplicated
    error = np.abs(streamed - full)
    assert error.max() <= 1e-4, f"max deviation {error.max():.2e}"
    # no clicks: the sample-to-sample step at every seam is no larger than the signal's own steps
    steps = np.abs(np.diff(streamed))
    typical = np.percentile(steps, 99.9)
    for seam in seams:
        assert steps[seam - 2 : seam + 1].max() <= typical + 1e-6


def test_first_chunk_arrives_early(small_ckpt, reference, latents):
    decoder = StreamingDecoder(small_ckpt.model, torch.from_numpy(reference["spk_default"]), chunk_codes=16)
    first_at = None
    for i in range(len(latents)):
        audio = decoder.push(latents[i : i + 1])
        if audio is not None and audio.numel():
            first_at = i + 1
            break
    assert first_at is not None and first_at <= 16 + decoder.holdback_codes


def test_speed_shortens_audio(small_ckpt, reference, latents):
    spk = torch.from_numpy(reference["spk_default"])
    normal = small_ckpt.model.decode(latents, spk).shape[-1]
    fast, _ = _stream(small_ckpt.model, latents, spk, 10, chunk_codes=16, speed=1.5)
    assert len(fast) == pytest.approx(normal / 1.5, rel=0.03)
