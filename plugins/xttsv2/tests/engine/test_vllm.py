"""The vLLM backend on a CUDA GPU (``pytest -m vllm``; skipped where vLLM or CUDA is missing).

Fidelity against the torch backend on the committed fixture, streaming, cancellation (the vLLM
request is aborted at once), the entry point, and the engine end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from importlib.metadata import entry_points

import pytest
import torch

from auralis_xttsv2.backend import GenerationRequest, TorchBackend
from auralis_xttsv2.backend.select import vllm_installed
from auralis_xttsv2.checkpoint import load_checkpoint
from auralis_xttsv2.model.sampling import SamplingParams

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available() or not vllm_installed(), reason="needs vLLM and a CUDA GPU"),
]

GREEDY = SamplingParams.greedy(repetition_penalty=10.0)
SAMPLED = SamplingParams(do_sample=True, temperature=0.75, top_k=50, top_p=0.85, repetition_penalty=10.0)
REPORT = os.environ.get("AURALIS_VLLM_REPORT")  # where the fidelity numbers are written (JSON lines)


def _report(**row) -> None:
    print(json.dumps(row))
    if REPORT:
        with open(REPORT, "a") as f:
            f.write(json.dumps(row) + "\n")


def _vllm(model, **settings):
    from auralis_xttsv2.backend.vllm_backend import VLLMBackend
    from auralis_xttsv2.backend.vllm_settings import VLLMSettings

    return VLLMBackend(model, max_batch_size=8, settings=VLLMSettings(memory=1 << 30, **settings))


def test_entry_point_registers_the_model():
    eps = [ep for ep in entry_points(group="vllm.general_plugins") if ep.value.startswith("auralis_xttsv2")]
    assert len(eps) == 1
    eps[0].load()()
    from vllm import ModelRegistry

    assert "XttsGPT" in ModelRegistry.get_supported_archs()


@pytest.mark.parametrize("dtype,attention", [(torch.float32, "FLEX_ATTENTION"), (torch.bfloat16, None)])
async def test_greedy_codes_latents_streaming_and_abort(small_dir, reference, dtype, attention, collect):
    """fp32 (FlexAttention: the fixture's head size 16 is below what vLLM's Triton kernel takes):
    greedy codes equal the torch backend's. bf16: agreement steps reported, latents from the same
    codes at cosine >= 0.999; then streaming, seeding and abort on the same engine."""
    ckpt = load_checkpoint(small_dir, device="cuda", dtype=dtype)
    cond = torch.from_numpy(reference["cond_default"])
    tokens = torch.from_numpy(reference["text_tokens"][0])
    requests = [GenerationRequest(cond, tokens, GREEDY)] + [
        GenerationRequest(cond, tokens[: 6 + 4 * i], GREEDY, max_new_tokens=30) for i in range(4)
    ]
    torch_backend = TorchBackend(ckpt.model, max_batch_size=8)
    try:
        expected = [await collect(torch_backend, r) for r in requests]
    finally:
        await torch_backend.shutdown()
    backend = _vllm(ckpt.model, attention_backend=attention, enforce_eager=dtype == torch.float32)
    try:
        got = await asyncio.gather(*[collect(backend, r) for r in requests])  # one continuous batch
        agree = []
        for (e_codes, e_states, e_stop), (g_codes, g_states, g_stop) in zip(expected, got):
            n = next((i for i, (a, b) in enumerate(zip(e_codes, g_codes)) if a != b), min(len(e_codes), len(g_codes)))
            agree.append((n, len(e_codes)))
        _report(test="greedy_agreement", dtype=str(dtype), attention=attention or "auto", steps=agree)
        if dtype == torch.float32:
            assert got[0][0] == reference["codes_greedy"][0].tolist()
            for (e_codes, _, e_stop), (g_codes, _, g_stop) in zip(expected, got):
                assert g_codes == e_codes and g_stop == e_stop
        # latents from the same codes: the second pass against the torch loop's hidden states
        from auralis_xttsv2.backend.latents import LatentsJob

        worst = 1.0
        for request, (e_codes, e_states, _) in zip(requests, expected):
            host = backend._prompt(request)
            with torch.inference_mode():  # the host-built prompt is the GPU's, bit for bit
                on_gpu = ckpt.model.gpt.embed_prefix(request.cond_latents.to("cuda"), request.text_tokens.to("cuda")[None])
            assert host.device.type == "cpu" and torch.equal(host, on_gpu[0].cpu())
            lat = await backend.latents.submit(LatentsJob(host, tuple(e_codes), 0))  # copied up from pinned memory
            assert lat.device.type == "cuda"  # stays there for HiFi-GAN
            cos = torch.nn.functional.cosine_similarity(lat.float().cpu(), e_states.float(), dim=-1)
            worst = min(worst, float(cos.min()))
        _report(test="latents_cosine_min", dtype=str(dtype), value=worst)
        assert worst >= (0.99999 if dtype == torch.float32 else 0.999)
        if dtype == torch.bfloat16:
            await _stream_and_abort(backend, ckpt, cond, tokens, collect)
    finally:
        await backend.shutdown()


async def _stream_and_abort(backend, ckpt, cond, tokens, collect) -> None:
    """Streamed windows, seeded reproducibility, and abort on close and on task cancellation."""
    long = GenerationRequest(cond, tokens, SAMPLED, max_new_tokens=55, stream_every=5, ignore_stop=True,
                             seed=3)
    sizes = []
    codes, states, _ = [], [], None
    async for chunk in backend.generate(long):
        sizes.append(len(chunk.codes))
        codes += chunk.codes.tolist()
        states.append(chunk.hidden_states)
    assert len(codes) == 55 and 1025 not in codes and sum(sizes) == 55 and len(sizes) >= 5
    assert torch.cat(states).shape == (55, ckpt.config.gpt.hidden_size)
    again = [c for chunk in [x async for x in backend.generate(long)] for c in chunk.codes.tolist()]
    assert again == codes  # seeded sampling is reproducible
    # cancel mid-stream: the request leaves vLLM at once, others finish
    other = asyncio.ensure_future(collect(backend, GenerationRequest(cond, tokens, GREEDY, max_new_tokens=20)))
    gen = backend.generate(GenerationRequest(cond, tokens, SAMPLED, max_new_tokens=55, stream_every=2,
                                             ignore_stop=True))
    async with contextlib.aclosing(gen):
        await gen.__anext__()
    assert backend.unfinished_requests() <= 1  # only `other` may be left
    codes_other, _, _ = await other
    assert len(codes_other) >= 1
    assert backend.unfinished_requests() == 0
    # a task cancelled while waiting for codes aborts its request too
    task = asyncio.ensure_future(collect(backend, long))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert backend.unfinished_requests() == 0


async def test_engine_end_to_end_with_vllm(small_dir):
    """The public API on two vLLM engines sharing the GPU: requests spread over both, a stream."""
    from auralis_core import TTS

    tts = TTS.from_pretrained(str(small_dir), engine="xttsv2", backend="vllm", device="cuda", dtype="bfloat16",
                              vllm_memory=1 << 30, vllm_engines=2, max_batch_size=8)
    try:
        assert tts.engine.backend_name == "vllm"
        backend = tts.engine.backend
        assert len(backend.engines) == 2
        opts = dict(language="en", seed=1, options={"max_new_tokens": 40, "ignore_stop": True})
        texts = ("Hello there.", "Good day to you.", "A third one.", "And a fourth.")
        outs = await asyncio.gather(*[tts.generate_speech_async(t, **opts) for t in texts])
        assert all(o.duration > 0.5 for o in outs)
        assert min(backend.stats.routed) >= 1, backend.stats.routed  # both engines served
        chunks = [c async for c in tts.stream_async("One more, streamed.", stream=True, **opts)]
        assert len(chunks) >= 2
        assert tts.engine.vocoder.batches >= 1
        assert backend.unfinished_requests() == 0
    finally:
        await tts.shutdown_async()
